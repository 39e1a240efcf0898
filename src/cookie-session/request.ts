import { parse as parseCookieHeader } from 'cookie';
import { sameSnapshot, snapshot, type Snapshot } from '../core/changes.js';
import type { CookieOptions } from '../core/cookie.js';
import { debug } from '../core/debug.js';
import { shouldSave, shouldSetCookie, type Policy, type SessionState } from '../core/decide.js';
import type { SessionEventName, SessionEvents } from '../core/events.js';
import { generateSessionId } from '../core/ids.js';
import { RequestLifecycle, type Hold, type SessionResponse, type Stored } from '../core/lifecycle.js';
import { deviceOf, seenIsStale, timedOut, type SessionMeta } from '../core/meta.js';
import type { SessionRequest } from '../core/request.js';
import type { Session } from '../core/session.js';
import type { SessionRecord } from '../core/store.js';
import { HeadersSentError, SessionNotFoundError, SessionTooLargeError } from '../errors.js';
import { CHUNK_INDEX, chunkName, clearingCookie, FIRST_CHUNK, splitIntoCookies } from './chunks.js';
import type { Settings } from './options.js';
import { dayStart, parseSealed, seal, unseal, type Sealed } from './seal.js';

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

/** The app's data of a session: its own enumerable properties but the cookie. */
function dataOf(sess: object): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const key of Object.keys(sess)) {
    if (key !== 'cookie') data[key] = (sess as Record<string, unknown>)[key];
  }
  return data;
}

/**
 * The meta of a seal written before seals carried one: created when it was sealed, as far as
 * the seal tells (its expiry less its lifetime, within its key's day), and seen now, so only
 * the absolute timeout (and revocation) can apply to it.
 */
function metaOfOlderSeal(payload: Sealed, day: number, ttl: number, now: number): SessionMeta {
  const maxAge = (payload.s.cookie as { originalMaxAge?: unknown }).originalMaxAge;
  const sealedAt = payload.e - (typeof maxAge === 'number' && Number.isFinite(maxAge) ? maxAge : ttl);
  const first = dayStart(day);
  const created = Math.min(Math.max(sealedAt, first), first + 24 * 60 * 60 * 1000 - 1, now);
  return { created, seen: now };
}

/** A regeneration not yet sealed: its event goes out with the new seal. */
interface PendingRegeneration {
  previousId: string;
  keepData: boolean;
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
  /** The meta of the session (sealed with it): of the cookie, kept by regenerate({ keepData }), or undefined until its first seal. */
  private meta: SessionMeta | undefined = undefined;
  /** The session the cookie brought must be resealed even unchanged: its `seen` is stale, or it has no meta yet. */
  private refresh = false;
  /** The session is new, not the successor of a sealed one: its first seal is `created`. */
  private fresh = false;
  private pending: PendingRegeneration | undefined = undefined;
  /** The ID of the seal the browser holds (the cookie's, or the one this response sets), which clearing ends. */
  private sealedId: string | undefined = undefined;
  /** The revocation check failed: the request went to the error handlers, and no cookie is touched. */
  private failed = false;

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
    const payload = this.read();
    if (!payload) {
      this.generate(false);
      this.fresh = true;
      done();
      return;
    }
    const revocation = this.settings.revocation;
    if (!revocation) {
      done();
      return;
    }
    let userId: string | undefined;
    try {
      userId = revocation.userOf(payload.s as SessionRecord);
    } catch (err) {
      this.fail();
      done(err);
      return;
    }
    if (userId === undefined) {
      done();
      return;
    }
    const user = userId;
    revocation.epochOf(user, (err, epoch) => {
      if (err) {
        // Not knowing is not letting through: the request fails, and the cookie stays as it is.
        this.fail();
        done(err);
        return;
      }
      if (epoch !== undefined && this.meta!.created < epoch) {
        debug('sealed cookie set aside: its user\'s cookies were revoked after it was created');
        const sessionId = payload.i;
        this.setAsideOpened();
        this.settings.hub.emit('revoked', { sessionId, userId: user });
      }
      done();
    });
  }

  private fail(): void {
    this.failed = true;
    delete this.req.session;
  }

  /** A cookie that opened is no session after all (revoked): a new, empty one instead, and the cookie cleared. */
  private setAsideOpened(): void {
    this.changes.cookieId = undefined;
    this.changes.forgetSaved();
    this.sealedId = undefined;
    this.generate(false);
    this.fresh = true;
    this.unreadable = true;
  }

  /** Reads and opens the session's cookies; undefined (and no session) for anything but a valid, unexpired seal. */
  private read(): Sealed | undefined {
    const { name, keys, aad, maxSize } = this.settings;
    const header = this.req.headers.cookie;
    if (!header) return undefined;
    let cookies: Record<string, string | undefined>;
    try {
      cookies = parseCookieHeader(header);
    } catch {
      debug('cookie set aside: the Cookie header does not parse');
      return undefined;
    }
    for (const key of Object.keys(cookies)) {
      if (key === name) this.present.push(0);
      else if (key.startsWith(name + '.') && CHUNK_INDEX.test(key.slice(name.length + 1))) {
        this.present.push(Number(key.slice(name.length + 1)));
      }
    }
    if (this.present.length === 0) return undefined;
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
    const now = Date.now();
    const { withMeta, idleTimeout, ttl } = this.settings;
    const meta = payload.m ?? (withMeta ? metaOfOlderSeal(payload, opened.day, ttl, now) : undefined);
    // Before the expiry: a seal capped at its absolute timeout ends by that timeout, and says so.
    const ended = timedOut(meta, now, this.settings);
    if (ended) {
      this.emit('expired', () => ({ sessionId: payload.i, userId: this.userOf(payload.s), reason: ended }));
      return setAside(`its ${ended} timeout has passed`);
    }
    if (!(payload.e > now)) return setAside('expired');

    this.req.sessionID = payload.i;
    let sess: Session;
    try {
      sess = this.revive(payload.s as never);
    } catch (err) {
      return setAside(`its cookie cannot be revived (${(err as Error).message})`);
    }
    this.unreadable = false;
    this.changes.cookieId = payload.i;
    this.sealedId = payload.i;
    this.changes.began(payload.i, fingerprint(sess), true);
    this.stored = opened.text;
    this.meta = meta;
    this.refresh = withMeta && (payload.m === undefined || (idleTimeout !== undefined && seenIsStale(meta!, now, { idleTimeout })));
    return payload;
  }

  /** A new, empty session with a new ID; a regenerated one keeps the original ID, so it counts as modified. */
  private generate(keepOriginal: boolean): Session {
    const sess = this.install(generateSessionId(), keepOriginal);
    this.stored = undefined;
    this.meta = undefined;
    this.refresh = false;
    return sess;
  }

  /** Emits an event when someone listens; the payload is built only then. */
  private emit<E extends SessionEventName>(event: E, payload: () => SessionEvents[E]): void {
    const hub = this.settings.hub;
    if (hub.has(event)) hub.emit(event, payload());
  }

  /** The user of a session (or its sealed record) for its events: revocation's `userId`, when given (and it does not throw). */
  private userOf(data: object): string | undefined {
    const revocation = this.settings.revocation;
    if (!revocation) return undefined;
    try {
      return revocation.userOf(data as SessionRecord);
    } catch {
      return undefined;
    }
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
    if (this.failed) return;
    const sess = this.current();
    if (!sess) {
      this.end();
      return;
    }
    const state = this.state(sess, fingerprint(sess));
    if ((shouldWrite(state, this.settings.policy) || this.refresh) && !(this.wroteInResponse && state.saved)) {
      this.write(sess);
    } else if (this.unreadable && !this.wroteInResponse) {
      this.clear();
    }
  }

  /** Seals the session into the response's Set-Cookie headers, clearing chunks the browser no longer needs. */
  private write(sess: Session): void {
    const { name, keys, aad, maxSize, ttl, withMeta, absoluteTimeout, devices, proxy, revocation } = this.settings;
    if (this.res.headersSent) throw new HeadersSentError('save');
    sess.touch();
    const cookie = sess.cookie;
    const now = Date.now();
    let expires = cookie.expires instanceof Date ? cookie.expires.getTime() : now + ttl;
    // A seal that has meta keeps it, even with the options that asked for it turned off since.
    let meta = this.meta;
    if (meta || withMeta) {
      meta = { ...(meta ?? { created: now }), seen: now };
      if (devices) {
        const device = deviceOf(this.req, devices, proxy);
        if (device.ua !== undefined && meta.ua === undefined) meta.ua = device.ua;
        if (device.ip !== undefined) meta.ip = device.ip;
      }
      // The seal outlives no absolute timeout, whatever the cookie's maxAge or rolling say.
      if (absoluteTimeout !== undefined) expires = Math.min(expires, meta.created + absoluteTimeout);
    }
    const text = JSON.stringify(meta ? { i: sess.id, e: expires, s: sess, m: meta } : { i: sess.id, e: expires, s: sess });
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
    this.meta = meta;
    this.refresh = false;
    this.sealedId = sess.id;
    revocation?.sealed(expires - now);
    this.announce(sess);
  }

  /** The events of a first seal: a new session's `created`, a regeneration's `regenerated`. */
  private announce(sess: Session): void {
    if (this.fresh) {
      this.fresh = false;
      this.emit('created', () => ({ sessionId: sess.id, userId: this.userOf(sess) }));
    }
    const pending = this.pending;
    if (pending) {
      this.pending = undefined;
      this.emit('regenerated', () => ({
        sessionId: sess.id,
        previousId: pending.previousId,
        userId: this.userOf(sess),
        keepData: pending.keepData,
        rotated: false,
      }));
    }
  }

  /** The session ends here (destroy(), or req.session set to null): its cookies are cleared. */
  private end(sess?: Session): void {
    const sessionId = this.sealedId;
    this.pending = undefined;
    this.fresh = false;
    this.clear();
    if (sessionId !== undefined) {
      this.emit('destroyed', () => ({ sessionId, userId: sess ? this.userOf(sess) : undefined }));
    }
  }

  /** Clears every cookie of the session the browser has, and drops any this response was going to set. */
  private clear(): void {
    const { name } = this.settings;
    this.res.setCookies(this.present.map((index) => clearingCookie(name, index, this.cookie)));
    this.stored = undefined;
    this.sealedId = undefined;
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

  /**
   * A new ID; with `keepData`, the same data, cookie and meta (so `created`, and the absolute
   * timeout with it, carry over), otherwise a new, empty session.
   */
  async regenerate(sess: Session, options?: { keepData?: boolean }): Promise<void> {
    this.assertHeadersNotSent('regenerate');
    const keepData = options?.keepData === true;
    const previousId = this.req.sessionID;
    const sealedOnce = this.sealedId !== undefined;
    const meta = this.meta;
    const pending = this.pending;
    const next = this.generate(true);
    if (keepData) {
      Object.assign(next, dataOf(sess));
      next.cookie = sess.cookie;
      this.cookie = sess.cookie;
      this.meta = meta;
    }
    if (sealedOnce && typeof previousId === 'string') {
      this.pending = { previousId: pending?.previousId ?? previousId, keepData: (pending?.keepData ?? true) && keepData };
    }
    this.fresh = !sealedOnce;
  }

  async destroy(sess: Session): Promise<void> {
    this.assertHeadersNotSent('destroy');
    delete this.req.session;
    this.end(sess);
  }
}

function setAside(why: string): undefined {
  debug('sealed cookie set aside: %s', why);
  return undefined;
}
