import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { parse as parseCookieHeader } from 'cookie';
import onHeaders from 'on-headers';
import { sameSnapshot, snapshot, type Snapshot } from '../core/changes.js';
import { Cookie, cookieOptionsFor, isSecure, type CookieOptions } from '../core/cookie.js';
import { shouldSave, shouldSetCookie, type Policy, type SessionState } from '../core/decide.js';
import { createSession, kLifecycle, Session, type SessionData, type SessionLifecycle } from '../core/session.js';
import { HeadersSentError, SessionNotFoundError, SessionTooLargeError } from '../errors.js';
import '../fronts/express-request.js';
import { CHUNK_INDEX, chunkName, clearingCookie, FIRST_CHUNK, splitIntoCookies } from './chunks.js';
import { resolveOptions, type CookieSessionOptions, type Settings } from './options.js';
import { parseSealed, seal, unseal } from './seal.js';

export type { CookieOptions, CookieSessionOptions, SessionData };
export { Session };
export { HeadersSentError, SessionNotFoundError, SessionTooLargeError } from '../errors.js';

type Req = IncomingMessage & {
  session?: Session | null;
  sessionID?: string;
  secure?: boolean;
  originalUrl?: string;
  [kLifecycle]?: SessionLifecycle;
};
type Res = ServerResponse;
type Next = (err?: unknown) => void;

/** The snapshot that decides whether a session changed: its data, and its cookie's options except the expiry. */
interface Fingerprint {
  data: Snapshot;
  cookie: string;
}

/**
 * Cookie-only sessions: `app.use(cookieSession({ secret }))`. The whole session travels in
 * the cookie, encrypted and authenticated, with the same `req.session` as `session()`.
 */
export function cookieSession(options: CookieSessionOptions): (req: any, res: any, next: Next) => void {
  const settings = resolveOptions(options);

  return function cookieSessionMiddleware(req: Req, res: Res, next: Next): void {
    if (req.session) {
      next();
      return;
    }
    const cookieOptions = cookieOptionsFor(req, settings.cookie);
    if (!cookieOptions) {
      next();
      return;
    }
    new CookieRequestSession(settings, req, res, next, cookieOptions).start();
  };
}

/** A cookie session's save and its Set-Cookie are one act: written when changed, or on every response with `rolling`. */
function shouldWrite(state: SessionState, policy: Policy): boolean {
  return shouldSave(state, policy) || (policy.rolling && shouldSetCookie(state, policy, false));
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

function sameFingerprint(a: Fingerprint | undefined, b: Fingerprint): boolean {
  return a !== undefined && a.cookie === b.cookie && sameSnapshot(a.data, b.data);
}

/** One request's session: open the cookie, run the handler, decide, seal into Set-Cookie. */
class CookieRequestSession implements SessionLifecycle {
  /** The chunk indexes of the session's cookies the request carried, to clear the ones a write leaves over. */
  private present: number[] = [];
  /** The ID the request's cookie opened to, if it opened. */
  private loadedId: string | undefined;
  private originalId: string | undefined;
  private original: Fingerprint | undefined;
  /** The session at its last write in this response (or at load). */
  private saved: Fingerprint | undefined;
  /** The sealed plaintext of the last write (or load): what reload() returns to. */
  private stored: string | undefined;
  /** The Set-Cookie values this middleware added to the response, replaced as a whole on each write. */
  private written: string[] = [];
  private wroteInResponse = false;
  /** The request's cookie was present but did not open: cleared unless a write replaces it. */
  private unreadable = false;
  /** The end-of-request decision ran (at res.end, or when the headers went out first). */
  private finished = false;
  /** The cookie of the latest session, for attributes when clearing after req.session is gone. */
  private lastCookie: Cookie | undefined;

  constructor(
    private readonly settings: Settings,
    private readonly req: Req,
    private readonly res: Res,
    private readonly next: Next,
    private readonly cookieOptions: CookieOptions,
  ) {}

  start(): void {
    const { req } = this;
    req[kLifecycle] = this;
    if (!this.open()) this.generate();
    this.hookResponse();
    this.next();
  }

  /** Reads and opens the session's cookies; false (and no session) for anything but a valid, unexpired seal. */
  private open(): boolean {
    const { name, keys, aad, maxSize } = this.settings;
    const header = this.req.headers.cookie;
    if (!header) return false;
    let cookies: Record<string, string | undefined>;
    try {
      cookies = parseCookieHeader(header);
    } catch {
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
    if (!first) return false;
    const count = Number(first[1]);
    let sealed = first[2]!;
    for (let index = 1; index < count; index++) {
      const part = cookies[chunkName(name, index)];
      if (!part || sealed.length + part.length > maxSize) return false;
      sealed += part;
    }
    if (sealed.length > maxSize) return false;
    const opened = unseal(sealed, keys, aad);
    if (!opened) return false;
    const payload = parseSealed(opened.text);
    if (!payload || !(payload.e > Date.now())) return false;

    this.unreadable = false;
    this.req.sessionID = payload.i;
    const sess = createSession(this.req, payload.s as never);
    this.loadedId = this.originalId = payload.i;
    this.original = this.saved = fingerprint(sess);
    this.stored = opened.text;
    this.lastCookie = sess.cookie;
    return true;
  }

  /** A new, empty session with a new ID; a regenerated one keeps the original ID, so it counts as modified. */
  private generate(keepOriginal = false): void {
    const { req } = this;
    req.sessionID = randomBytes(24).toString('base64url');
    const sess = new Session(req);
    const cookie = new Cookie(this.cookieOptions);
    sess.cookie = cookie;
    if (this.cookieOptions.secure === 'auto' || this.cookieOptions.sameSite === 'auto') {
      const secure = isSecure(req, this.settings.proxy);
      if (this.cookieOptions.secure === 'auto') cookie.secure = secure;
      if (this.cookieOptions.sameSite === 'auto') cookie.sameSite = secure ? 'none' : 'lax';
    }
    req.session = sess;
    this.lastCookie = cookie;
    this.stored = undefined;
    if (!keepOriginal) {
      this.originalId = req.sessionID;
      this.original = fingerprint(sess);
    }
  }

  /**
   * Decides at `res.end`, while the status can still become an error, or when the headers
   * go out first (a streamed response), which is the last moment a cookie can be set.
   */
  private hookResponse(): void {
    const self = this;
    const { res } = this;
    const end = res.end as (...args: any[]) => any;
    res.end = function sessionEnd(this: Res, ...args: any[]): any {
      if (!self.finished && !res.headersSent) {
        self.finished = true;
        try {
          self.finish();
        } catch (err) {
          // The response is not sent: the app's error handler sends one instead, and no cookie changes.
          setImmediate(self.next, err);
          return res;
        }
      }
      return end.apply(this, args);
    } as Res['end'];
    onHeaders(res, () => {
      if (self.finished) return;
      self.finished = true;
      try {
        self.finish();
      } catch (err) {
        setImmediate(self.next, err);
      }
    });
  }

  private finish(): void {
    let sess = this.req.session;
    if (!sess) {
      this.clear();
      return;
    }
    if (!(sess instanceof Session)) sess = this.replaceWith(sess);
    const state = this.state(sess);
    if (shouldWrite(state, this.settings.policy) && !(this.wroteInResponse && state.saved)) {
      this.write(sess);
    } else if (this.unreadable && !this.wroteInResponse) {
      this.clear();
    }
  }

  /** `req.session = { ... }`, as apps written for cookie-session do: the object becomes the session's data. */
  private replaceWith(data: object): Session {
    const sess = new Session(this.req, data);
    const cookie = (data as { cookie?: unknown }).cookie;
    sess.cookie = cookie instanceof Cookie ? cookie : this.lastCookie ?? new Cookie(this.cookieOptions);
    this.req.session = sess;
    return sess;
  }

  private state(sess: Session): SessionState {
    const current = fingerprint(sess);
    const sameId = this.originalId === sess.id;
    return {
      idIsString: true,
      isNew: this.loadedId !== sess.id,
      modified: !sameId || !sameFingerprint(this.original, current),
      saved: sameId && sameFingerprint(this.saved, current),
      everSaved: this.saved !== undefined,
    };
  }

  /** Seals the session into the response's Set-Cookie headers, clearing chunks the browser no longer needs. */
  private write(sess: Session): void {
    const { name, keys, aad, maxSize, ttl, proxy } = this.settings;
    if (this.res.headersSent) {
      throw new HeadersSentError('save');
    }
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
    if (!cookie.secure || isSecure(this.req, proxy)) this.setCookies(headers);
    this.lastCookie = cookie;
    this.stored = text;
    this.saved = fingerprint(sess);
    this.wroteInResponse = true;
  }

  /** Clears every cookie of the session the browser has, and drops any this response was going to set. */
  private clear(): void {
    const { name } = this.settings;
    this.setCookies(this.present.map((index) => clearingCookie(name, index, this.lastCookie)));
    this.stored = undefined;
    this.saved = undefined;
    this.unreadable = false;
  }

  private setCookies(headers: string[]): void {
    const { res } = this;
    if (headers.length === 0 && this.written.length === 0) return;
    const prev = res.getHeader('Set-Cookie');
    const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
    const others = list.filter((header) => !this.written.includes(header));
    this.written = headers;
    res.setHeader('Set-Cookie', others.concat(headers));
  }

  private assertHeadersNotSent(action: string): void {
    if (this.res.headersSent) {
      throw new HeadersSentError(action);
    }
  }

  // SessionLifecycle: what req.session's methods do during this request.

  async save(sess: Session): Promise<void> {
    this.write(sess);
  }

  async reload(_sess: Session): Promise<void> {
    const payload = this.stored === undefined ? undefined : parseSealed(this.stored);
    if (!payload) throw new SessionNotFoundError();
    this.req.sessionID = payload.i;
    this.lastCookie = createSession(this.req, payload.s as never).cookie;
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
