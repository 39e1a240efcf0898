import { parse as parseCookieHeader } from 'cookie';
import { sameSnapshot, snapshot, type Snapshot } from '../core/changes.js';
import type { CookieOptions } from '../core/cookie.js';
import { debug } from '../core/debug.js';
import { shouldSave, shouldSetCookie, type Policy, type SessionState } from '../core/decide.js';
import { generateSessionId } from '../core/ids.js';
import { RequestLifecycle, type Hold, type SessionResponse, type Stored } from '../core/lifecycle.js';
import type { SessionRequest } from '../core/request.js';
import type { Session } from '../core/session.js';
import { HeadersSentError, SessionNotFoundError, SessionTooLargeError } from '../errors.js';
import { CHUNK_INDEX, chunkName, clearingCookie, FIRST_CHUNK, splitIntoCookies } from './chunks.js';
import type { Settings } from './options.js';
import { parseSealed, seal, unseal } from './seal.js';

/** What decides whether a sealed session changed: its data, and its cookie's options except the expiry. */
interface Fingerprint {
  data: Snapshot;
  cookie: string;
}

function fingerprint(sess: Session): Fingerprint {
  const c = sess.cookie;
  // maxAge in whole seconds: Cookie's arithmetic can lose a millisecond of it on each touch.
  const maxAge = typeof c?.originalMaxAge === 'number' ? Math.round(c.originalMaxAge / 1000) : c?.originalMaxAge;
  const cookie = c
    ? JSON.stringify([maxAge, c.path, c.domain, c.secure, c.httpOnly, c.sameSite, c.partitioned, c.priority])
    : '';
  return { data: snapshot(sess), cookie };
}

function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.cookie === b.cookie && sameSnapshot(a.data, b.data);
}

/** A sealed session's save and its Set-Cookie are one act: written when changed, or on every response with `rolling`. */
function shouldWrite(state: SessionState, policy: Policy): boolean {
  return shouldSave(state, policy) || (policy.rolling && shouldSetCookie(state, policy, false));
}

/**
 * A session kept in the cookie itself, sealed: open the cookie, run the handler, decide, seal
 * into Set-Cookie. Nothing waits for a store, so the decision runs once, at the end of the
 * handler or when the head goes out first (a streamed response), the last moment a cookie can be set.
 */
export class SealedLifecycle extends RequestLifecycle<Fingerprint> {
  /** The chunk indexes of the session's cookies the request carried, to clear the ones a write leaves over. */
  private present: number[] = [];
  /** The sealed plaintext of the last write (or load): what reload() returns to. */
  private stored: string | undefined = undefined;
  private wroteInResponse = false;
  /** The request's cookie was present but did not open: cleared unless a write replaces it. */
  private unreadable = false;
  /** The end-of-request decision ran. */
  private decided = false;

  constructor(
    private readonly settings: Settings,
    req: SessionRequest,
    res: SessionResponse,
    cookieOptions: CookieOptions,
    private readonly report: (err: unknown) => void,
  ) {
    super(req, res, cookieOptions, settings.proxy, sameFingerprint);
  }

  protected fingerprint(sess: Session): Fingerprint {
    return fingerprint(sess);
  }

  open(done: (err?: unknown) => void): void {
    if (!this.read()) this.generate(false);
    done();
  }

  /** Reads and opens the session's cookies; false (and no session) for anything but a valid, unexpired seal. */
  private read(): boolean {
    const { name, keys, aad, maxSize } = this.settings;
    const header = this.req.headers.cookie;
    if (!header) return false;
    let cookies: Record<string, string | undefined>;
    try {
      cookies = parseCookieHeader(header);
    } catch {
      debug('cookie set aside: the Cookie header does not parse');
      return false;
    }
    for (const key of Object.keys(cookies)) {
      if (key === name) this.present.push(0);
      else if (key.startsWith(name + '.') && CHUNK_INDEX.test(key.slice(name.length + 1))) {
        this.present.push(Number(key.slice(name.length + 1)));
      }
    }
    if (this.present.length === 0) return false;
    this.unreadable = true;
    const first = FIRST_CHUNK.exec(cookies[name] ?? '');
    if (!first) return setAside('its first cookie has no chunk count');
    const count = Number(first[1]);
    let sealed = first[2]!;
    for (let index = 1; index < count; index++) {
      const part = cookies[chunkName(name, index)];
      if (!part) return setAside(`chunk ${index} of ${count} is missing`);
      if (sealed.length + part.length > maxSize) return setAside('larger than maxSize');
      sealed += part;
    }
    if (sealed.length > maxSize) return setAside('larger than maxSize');
    const opened = unseal(sealed, keys, aad);
    if (!opened) return setAside('the seal does not open with any secret (tampered, another cookie, or an old secret)');
    const payload = parseSealed(opened.text);
    if (!payload) return setAside('the sealed text is not a session');
    if (!(payload.e > Date.now())) return setAside('expired');

    this.req.sessionID = payload.i;
    let sess: Session;
    try {
      sess = this.revive(payload.s as never);
    } catch (err) {
      return setAside(`its cookie cannot be revived (${(err as Error).message})`);
    }
    this.unreadable = false;
    this.changes.cookieId = payload.i;
    this.changes.began(payload.i, fingerprint(sess), true);
    this.stored = opened.text;
    return true;
  }

  /** A new, empty session with a new ID; a regenerated one keeps the original ID, so it counts as modified. */
  private generate(keepOriginal: boolean): void {
    this.install(generateSessionId(), keepOriginal);
    this.stored = undefined;
  }

  finish(_done: Stored): Hold {
    if (this.decided || this.res.headersSent) return false;
    this.decided = true;
    this.decide();
    return false;
  }

  sendCookies(): void {
    if (this.decided) return;
    this.decided = true;
    try {
      this.decide();
    } catch (err) {
      this.report(err);
    }
  }

  private decide(): void {
    const sess = this.current();
    if (!sess) {
      this.clear();
      return;
    }
    const state = this.state(sess, fingerprint(sess));
    if (shouldWrite(state, this.settings.policy) && !(this.wroteInResponse && state.saved)) {
      this.write(sess);
    } else if (this.unreadable && !this.wroteInResponse) {
      this.clear();
    }
  }

  /** Seals the session into the response's Set-Cookie headers, clearing chunks the browser no longer needs. */
  private write(sess: Session): void {
    const { name, keys, aad, maxSize, ttl } = this.settings;
    if (this.res.headersSent) throw new HeadersSentError('save');
    sess.touch();
    const cookie = sess.cookie;
    const expires = cookie.expires instanceof Date ? cookie.expires.getTime() : Date.now() + ttl;
    const text = JSON.stringify({ i: sess.id, e: expires, s: sess });
    const sealed = seal(text, keys, aad);
    const { headers, size } = splitIntoCookies(name, sealed, cookie);
    if (size > maxSize) throw new SessionTooLargeError(Number.isFinite(size) ? size : sealed.length, maxSize);
    for (const index of this.present) {
      if (index >= headers.length) headers.push(clearingCookie(name, index, cookie));
    }
    // As in session(): a Secure cookie is not sent over plain HTTP (the browser would refuse it).
    if (!cookie.secure || this.secure()) this.res.setCookies(headers);
    this.cookie = cookie;
    this.stored = text;
    this.changes.savedAs(fingerprint(sess));
    this.wroteInResponse = true;
  }

  /** Clears every cookie of the session the browser has, and drops any this response was going to set. */
  private clear(): void {
    const { name } = this.settings;
    this.res.setCookies(this.present.map((index) => clearingCookie(name, index, this.cookie)));
    this.stored = undefined;
    this.changes.forgetSaved();
    this.unreadable = false;
  }

  private assertHeadersNotSent(action: string): void {
    if (this.res.headersSent) throw new HeadersSentError(action);
  }

  // What req.session's methods do during this request.

  async save(sess: Session): Promise<void> {
    this.write(sess);
  }

  async reload(_sess: Session): Promise<void> {
    const payload = this.stored === undefined ? undefined : parseSealed(this.stored);
    if (!payload) throw new SessionNotFoundError();
    this.req.sessionID = payload.i;
    this.revive(payload.s as never);
  }

  async regenerate(_sess: Session): Promise<void> {
    this.assertHeadersNotSent('regenerate');
    this.generate(true);
  }

  async destroy(_sess: Session): Promise<void> {
    this.assertHeadersNotSent('destroy');
    delete this.req.session;
    this.clear();
  }
}

function setAside(why: string): false {
  debug('sealed cookie set aside: %s', why);
  return false;
}
