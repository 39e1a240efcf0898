import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import { randomFillSync } from 'node:crypto';
import { parse as parseCookieHeader } from 'cookie';
import onHeaders from 'on-headers';
import { call, noop, type Callback } from '../core/callback.js';
import { adopt, diff, merge, sameSnapshot, snapshot, type Snapshot } from '../core/changes.js';
import { Cookie, cookieOptionsFor, isSecure, type CookieOptions } from '../core/cookie.js';
import { shouldSave, shouldSetCookie, shouldTouch, touchIsDue, type Policy, type SessionState } from '../core/decide.js';
import { MemoryStore, warnIfUnboundedInProduction } from '../stores/memory.js';
import { validateOptions, type SessionOptions } from '../core/options.js';
import { createSession, kLifecycle, Session, type SessionLifecycle } from '../core/session.js';
import { sign, toKeys, verify } from '../core/signature.js';
import { isAtomicStore, parseRecord, type AtomicStore, type SessionRecord, type StoreContract } from '../stores/contract.js';
import { SecretRequiredError, SessionConflictError, SessionNotFoundError } from '../errors.js';

type Req = IncomingMessage & {
  session?: Session | null;
  sessionID?: string;
  sessionStore?: StoreContract;
  secret?: string;
  secure?: boolean;
  originalUrl?: string;
  signedCookies?: Record<string, unknown>;
  cookies?: Record<string, unknown>;
  [kLifecycle]?: SessionLifecycle;
};
type Res = ServerResponse & { _implicitHeader?: () => void };
type Next = (err?: unknown) => void;

/**
 * How many times a conditional save merges and retries before it reports a conflict error.
 * Saves of one session in this process take turns (see `inTurn`), so only writers in other
 * processes compete here, and a short random pause after each lost round spreads them out.
 */
const MAX_MERGE_ATTEMPTS = 64;

/** Saves of each session in flight in this process, chained so they take turns. */
const savesInFlight = new WeakMap<object, Map<string, Promise<void>>>();

/**
 * Runs `save` after the previous save of the same session (same store, same ID) in this
 * process has finished. Thirty overlapping requests then make thirty short turns, each with
 * at most one conflict to merge, instead of thirty writers racing round after round.
 */
function inTurn(store: object, id: string, save: () => Promise<void>): Promise<void> {
  let queue = savesInFlight.get(store);
  if (!queue) savesInFlight.set(store, (queue = new Map()));
  const previous = queue.get(id);
  const run = previous ? previous.then(save, save) : save();
  const settled = run.then(noop, noop);
  queue.set(id, settled);
  settled.then(() => {
    if (queue.get(id) === settled) queue.delete(id);
  });
  return run;
}

/** Everything fixed at setup, shared by every request. */
interface Settings {
  name: string;
  store: StoreContract;
  atomic: AtomicStore | undefined;
  storeCanTouch: boolean;
  keys: KeyObject[] | undefined;
  cookie: CookieOptions | ((req: any) => CookieOptions);
  genid: (req: any) => string | Promise<string>;
  proxy: boolean | undefined;
  resave: boolean;
  policy: Policy;
  unsetDestroy: boolean;
  touchAfterMs: number;
}

/**
 * express-session's session IDs: 24 random bytes, base64url. The bytes come from a pool
 * filled 256 IDs at a time, so a new session costs no call into the system's random source.
 */
const ID_BYTES = 24;
const idPool = Buffer.allocUnsafe(ID_BYTES * 256);
let idOffset = idPool.length;
function generateSessionId(): string {
  if (idOffset === idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  const id = idPool.toString('base64url', idOffset, idOffset + ID_BYTES);
  idOffset += ID_BYTES;
  return id;
}

/**
 * The session middleware: `app.use(session({ secret, resave, saveUninitialized }))`.
 * Same options, defaults, cookie and stored records as express-session.
 */
export function session(options?: SessionOptions | null): (req: any, res: any, next: Next) => void {
  const opts = validateOptions(options ?? {});
  const store = (opts.store || new MemoryStore()) as StoreContract;
  warnIfUnboundedInProduction(store);

  const settings: Settings = {
    name: opts.name || opts.key || 'connect.sid',
    store,
    atomic: isAtomicStore(store) ? store : undefined,
    storeCanTouch: typeof store.touch === 'function',
    keys: toKeys(opts.secret),
    cookie: opts.cookie || {},
    genid: opts.genid || generateSessionId,
    proxy: opts.proxy,
    resave: opts.resave ?? true,
    policy: { saveUninitialized: opts.saveUninitialized ?? true, rolling: Boolean(opts.rolling) },
    unsetDestroy: opts.unset === 'destroy',
    touchAfterMs: (opts.touchAfter ?? 0) * 1000,
  };

  let storeReady = true;
  store.on('disconnect', () => {
    storeReady = false;
  });
  store.on('connect', () => {
    storeReady = true;
  });

  // cookie-parser's secret (req.secret) is the same on every request: its key is prepared once.
  let parserSecret: string | undefined;
  let parserKeyList: KeyObject[] | undefined;
  const parserKeys = (secret: string | undefined): KeyObject[] | undefined => {
    if (!secret) return undefined;
    if (secret !== parserSecret) {
      parserKeyList = toKeys(secret);
      parserSecret = secret;
    }
    return parserKeyList;
  };

  return function sessionMiddleware(req: Req, res: Res, next: Next): void {
    // A session set by an earlier middleware (or a second sessionkit) is left alone.
    if (req.session) {
      next();
      return;
    }
    if (!storeReady) {
      next();
      return;
    }
    const cookieOptions = cookieOptionsFor(req, settings.cookie);
    if (!cookieOptions) {
      next();
      return;
    }
    const keys = settings.keys ?? parserKeys(req.secret);
    if (!keys) {
      next(new SecretRequiredError());
      return;
    }
    new RequestSession(settings, req, res, next, keys, cookieOptions).start();
  };
}

/**
 * One request's session, from the cookie to the store and back:
 * read the cookie, load (or generate), run the handler, decide, write.
 */
class RequestSession implements SessionLifecycle {
  /** The ID the request's cookie carried, if its signature verified. */
  private cookieId: string | undefined;
  /** The cookie's signed value: a Set-Cookie of the same ID sends it again instead of signing anew. */
  private cookieSigned: string | undefined;
  /** The ID and data when the session was loaded or generated. */
  private originalId: string | undefined;
  private original: Snapshot | undefined;
  /** The data at the last save (or at load when `resave` is off). */
  private saved: Snapshot | undefined;
  /** What the store holds, as far as this request knows: the base of its delta. */
  private base: Snapshot | undefined;
  /** The stored text of the record loaded, for a conditional write; undefined when unknown. */
  private version: string | undefined;
  private versionId: string | undefined;
  /** The record was found gone when saving: nothing more is written for it. */
  private gone = false;
  private loadedExpires: number | undefined;
  private touched = false;
  /** The cookie of the session loaded or generated last. */
  private cookie: Cookie | undefined;
  /** The session and its state as measured by res.end, for the Set-Cookie decision that follows. */
  private ending: { session: Session; state: SessionState } | undefined;
  /** The response's own end and write, and the end() held while the store answers. */
  private _end!: (...args: any[]) => any;
  private _write!: (...args: any[]) => any;
  private ended = false;
  private chunk: any;
  private encoding: any;
  /** Nothing of the held end is written yet; `endRet` is what end() returns. */
  private endSync = true;
  private endRet: any;

  constructor(
    private readonly settings: Settings,
    private readonly req: Req,
    private readonly res: Res,
    private readonly next: Next,
    private readonly keys: KeyObject[],
    private readonly cookieOptions: CookieOptions,
  ) {}

  start(): void {
    const { req, res, settings } = this;
    req.sessionStore = settings.store;
    req[kLifecycle] = this;
    const cookie = readCookie(req, settings.name, this.keys);
    this.cookieId = req.sessionID = cookie?.id;
    this.cookieSigned = cookie?.signed;
    onHeaders(res, () => this.writeCookie());
    this.wrapEnd();

    if (!req.sessionID) {
      this.generate(false, this.next);
      return;
    }
    this.load(req.sessionID, false, (err, found) => {
      if (err) this.next(err);
      else if (found) this.next();
      else this.generate(false, this.next);
    });
  }

  /**
   * Loads the session of `id` into req.session; `found` is false when there is none (or it is
   * unreadable). Callback-driven, so a store that calls back synchronously is followed
   * synchronously, as express-session does.
   */
  private load(id: string, reloading: boolean, done: (err: unknown, found?: boolean) => void): void {
    const { atomic, store } = this.settings;
    const loaded = (record: SessionRecord | null, version: string | undefined) => {
      let found = false;
      try {
        found = record !== null && this.inflate(id, record, version, reloading);
      } catch {
        // A record that cannot be revived (say, a cookie with a bad maxAge) is no session.
      }
      done(null, found);
    };
    if (atomic) {
      atomic.getVersioned(id).then((got) => loaded(got ? got.record : null, got?.version), done);
      return;
    }
    let called = false;
    const got = (err: unknown, value?: unknown) => {
      if (called) return;
      called = true;
      // A missing file is no session for file stores; a reload reports it as express-session does.
      if (err && (reloading || (err as NodeJS.ErrnoException).code !== 'ENOENT')) done(err);
      else loaded(err ? null : parseRecord(value), undefined);
    };
    try {
      store.get(id, got);
    } catch (err) {
      // Only a store that throws instead of calling back; an error thrown further down the
      // request (after the callback ran) is not ours to swallow.
      if (called) throw err;
      got(err);
    }
  }

  /** On a reload, what counts as modified or saved stays measured from the first load, as in express-session. */
  private inflate(id: string, record: SessionRecord, version: string | undefined, reloading: boolean): true {
    const sess = createSession(this.req, record);
    this.cookie = sess.cookie;
    this.base = snapshot(sess);
    if (!reloading) {
      this.originalId = id;
      this.original = this.base;
      if (!this.settings.resave) this.saved = this.original;
    }
    this.gone = false;
    this.version = version;
    this.versionId = version === undefined ? undefined : id;
    const expires = sess.cookie.expires;
    this.loadedExpires = expires instanceof Date ? expires.getTime() : undefined;
    return true;
  }

  /**
   * A new session with a new ID, then `done`; a regenerated session keeps the original ID, so
   * it counts as modified. Synchronous unless genid returns a Promise.
   */
  private generate(keepOriginal: boolean, done: (err?: unknown) => void): void {
    let id: string | Promise<string>;
    try {
      id = this.settings.genid(this.req);
    } catch (err) {
      done(err);
      return;
    }
    if (id && typeof (id as Promise<string>).then === 'function') {
      (id as Promise<string>).then((value) => {
        this.install(value, keepOriginal);
        done();
      }, done);
      return;
    }
    this.install(id as string, keepOriginal);
    done();
  }

  private install(id: string, keepOriginal: boolean): void {
    const { req, settings, cookieOptions } = this;
    req.sessionID = id;
    const sess = new Session(req);
    const cookie = new Cookie(cookieOptions);
    sess.cookie = cookie;
    if (cookieOptions.secure === 'auto' || cookieOptions.sameSite === 'auto') {
      const secure = isSecure(req, settings.proxy);
      if (cookieOptions.secure === 'auto') cookie.secure = secure;
      if (cookieOptions.sameSite === 'auto') cookie.sameSite = secure ? 'none' : 'lax';
    }
    req.session = sess;
    this.cookie = cookie;
    this.base = undefined;
    this.version = undefined;
    this.versionId = undefined;
    this.gone = false;
    if (!keepOriginal) {
      this.originalId = id;
      this.original = snapshot(sess);
    }
  }

  private state(sess: Session, current: Snapshot): SessionState {
    const sameId = this.originalId === sess.id;
    const unchanged = sameId && sameSnapshot(this.original, current);
    return {
      idIsString: typeof this.req.sessionID === 'string',
      isNew: this.cookieId !== this.req.sessionID,
      modified: !unchanged,
      // With resave off, a loaded session counts as saved as loaded: one comparison serves both.
      saved: sameId && (this.saved !== undefined && this.saved === this.original ? unchanged : sameSnapshot(this.saved, current)),
      everSaved: this.saved !== undefined,
    };
  }

  /**
   * req.session as the end of the request sees it. A plain object assigned to req.session
   * becomes the session's data (with the session's cookie), where express-session would throw
   * inside res.end and leave the response hanging.
   */
  private session(): Session | null | undefined {
    const sess = this.req.session as unknown;
    if (sess == null || sess instanceof Session || typeof sess !== 'object') return sess as Session | null | undefined;
    const replaced = new Session(this.req, sess);
    const cookie = (sess as { cookie?: unknown }).cookie;
    replaced.cookie = cookie instanceof Cookie ? cookie : this.cookie ?? new Cookie(this.cookieOptions);
    this.req.session = replaced;
    return replaced;
  }

  /** Runs as the response headers are written: Set-Cookie when the session calls for one. */
  private writeCookie(): void {
    const { req, res, settings } = this;
    const sess = this.session();
    if (!sess) return;
    if (typeof req.sessionID !== 'string') return;
    // During res.end the state was just measured; reuse it rather than serialize the session again.
    const state = this.ending?.session === sess ? this.ending.state : this.state(sess, snapshot(sess));
    if (!shouldSetCookie(state, settings.policy, sess.cookie.expires != null)) return;
    if (sess.cookie.secure && !isSecure(req, settings.proxy)) return;
    if (!this.touched) {
      sess.touch();
      this.touched = true;
    }
    try {
      const signed = req.sessionID === this.cookieId && this.cookieSigned !== undefined
        ? this.cookieSigned
        : sign(req.sessionID, this.keys[0]!);
      const header = sess.cookie.serialize(settings.name, signed);
      const prev = res.getHeader('Set-Cookie') ?? [];
      res.setHeader('Set-Cookie', Array.isArray(prev) ? prev.concat(header) : [String(prev), header]);
    } catch (err) {
      setImmediate(this.next, err);
    }
  }

  /**
   * Holds back the end of the response until the session is saved, touched or destroyed,
   * while the body (all but its last byte, when a Content-Length is set) is written at once.
   */
  private wrapEnd(): void {
    const self = this;
    const res = this.res;
    this._end = res.end as (...args: any[]) => any;
    this._write = res.write as (...args: any[]) => any;
    res.end = function end(this: Res, chunk?: any, encoding?: any): any {
      return self.end(chunk, encoding);
    } as Res['end'];
  }

  /** The response's end(): decide, then save, touch or destroy with the end held, or end now. */
  private end(chunk: any, encoding: any): any {
    const { req, res, settings } = this;
    if (this.ended) return false;
    this.ended = true;
    this.chunk = chunk;
    this.encoding = encoding;
    if (req.sessionID && settings.unsetDestroy && req.session == null) {
      settings.store.destroy(req.sessionID, this.stored);
      return this.writeTop();
    }
    const sess = this.session();
    if (!sess) return this._end.call(res, chunk, encoding);
    if (!this.touched) {
      sess.touch();
      this.touched = true;
    }
    const current = snapshot(sess);
    const state = this.state(sess, current);
    this.ending = { session: sess, state };
    if (shouldSave(state, settings.policy)) {
      this.saveWith(sess, current, this.stored);
      return this.writeTop();
    }
    if (settings.storeCanTouch && shouldTouch(state, settings.policy) && this.touchIsDue(sess)) {
      settings.store.touch!(req.sessionID!, sess as unknown as SessionRecord, this.stored);
      return this.writeTop();
    }
    return this._end.call(res, chunk, encoding);
  }

  /** The store answered (a save, touch or destroy at the end): the held end is written. */
  private readonly stored: Callback = (err) => {
    if (err) setImmediate(this.next, err);
    this.writeEnd();
  };

  /** Writes the head and all of the body but what `writeEnd` writes; returns what end() returns. */
  private writeTop(): any {
    const res = this.res;
    if (!this.endSync) return this.endRet;
    // Held until the final end(), which uncorks: one write to the socket per response
    // even when the store answers on a later turn.
    res.cork();
    if (!res.headersSent) res._implicitHeader?.();
    let chunk = this.chunk;
    if (chunk == null) {
      this.endRet = true;
      return true;
    }
    const contentLength = Number(res.getHeader('Content-Length'));
    if (!isNaN(contentLength) && contentLength > 0) {
      chunk = !Buffer.isBuffer(chunk) ? Buffer.from(chunk, this.encoding) : chunk;
      this.encoding = undefined;
      if (chunk.length !== 0) {
        this.endRet = this._write.call(res, chunk.slice(0, chunk.length - 1));
        this.chunk = chunk.slice(chunk.length - 1, chunk.length);
        return this.endRet;
      }
    }
    this.endRet = this._write.call(res, chunk, this.encoding);
    this.endSync = false;
    return this.endRet;
  }

  private writeEnd(): void {
    if (this.endSync) {
      // The store answered before writeTop ran: the whole response is written by the real end().
      this.endRet = this._end.call(this.res, this.chunk, this.encoding);
      this.endSync = false;
      return;
    }
    this._end.call(this.res);
  }

  private touchIsDue(sess: Session): boolean {
    const { touchAfterMs } = this.settings;
    return touchIsDue(this.loadedExpires, sess.cookie.originalMaxAge, touchAfterMs, Date.now());
  }

  // SessionLifecycle: what req.session's methods do during this request.

  save(sess: Session): Promise<void> {
    return call<void>((cb) => this.saveWith(sess, snapshot(sess), cb));
  }

  /** Saves the session whole, as express-session does, or as a delta when the store is atomic. */
  private saveWith(sess: Session, current: Snapshot, done: Callback): void {
    this.saved = current;
    if (this.gone && sess.id === this.versionId) {
      done();
      return;
    }
    const { atomic, store } = this.settings;
    if (atomic && this.version !== undefined && sess.id === this.versionId) {
      inTurn(atomic, sess.id, () => this.saveMerged(atomic, sess, current)).then(() => done(), done);
      return;
    }
    store.set(sess.id, sess as unknown as SessionRecord, done);
  }

  /**
   * Saves only what this request changed, onto the record as it is in the store now: a
   * conditional write of the whole session first (one round trip when nobody else wrote),
   * then, on a conflict, this request's changed keys merged onto the stored record.
   * A record that is gone stays gone.
   */
  private async saveMerged(atomic: AtomicStore, sess: Session, current: Snapshot): Promise<void> {
    const delta = diff(this.base ?? new Map(), current);
    let record = sess as unknown as SessionRecord;
    let version = this.version!;
    for (let attempt = 0; attempt < MAX_MERGE_ATTEMPTS; attempt++) {
      const result = await atomic.setIfVersion(sess.id, version, record);
      if (result.written) {
        this.version = result.version;
        if (record !== (sess as unknown)) {
          adopt(sess, record);
          this.saved = snapshot(sess);
        }
        this.base = this.saved;
        return;
      }
      if (!result.current) {
        this.gone = true;
        return;
      }
      version = result.current.version;
      record = merge(result.current.record, sess, delta);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50)));
    }
    throw new SessionConflictError(sess.id, MAX_MERGE_ATTEMPTS);
  }

  reload(sess: Session): Promise<void> {
    return call<void>((cb) =>
      this.load(sess.id, true, (err, found) => cb(err ?? (found ? null : new SessionNotFoundError()))),
    );
  }

  /** Destroys the stored session, then makes a new one; a failed destroy is reported after. */
  regenerate(_sess: Session): Promise<void> {
    const { req, settings } = this;
    return call<void>((cb) =>
      settings.store.destroy(req.sessionID!, (destroyErr) => {
        this.generate(true, (err) => cb(destroyErr ?? err));
      }),
    );
  }

  destroy(sess: Session): Promise<void> {
    delete this.req.session;
    return call<void>((cb) => this.settings.store.destroy(sess.id, cb));
  }
}

/** A verified session ID cookie: the ID, and its signed value when the signing key signed it. */
interface CookieId {
  id: string;
  /** Exactly what signing `id` again would produce, so a Set-Cookie of the same ID reuses it. */
  signed: string | undefined;
}

/** The session ID in the request's cookie when its signature verifies, as express-session reads it. */
function readCookie(req: Req, name: string, keys: KeyObject[]): CookieId | undefined {
  const header = req.headers.cookie;
  if (header) {
    const found = verified(parseCookieHeader(header)[name], keys);
    if (found) return found;
  }
  // Values that cookie-parser put on the request, as express-session still reads them.
  if (req.signedCookies) {
    const signed = req.signedCookies[name];
    if (signed && String(signed)) return { id: String(signed), signed: undefined };
  }
  if (req.cookies) {
    const raw = req.cookies[name];
    if (typeof raw === 'string') return verified(raw, keys);
  }
  return undefined;
}

function verified(raw: string | undefined, keys: KeyObject[]): CookieId | undefined {
  if (!raw || raw.substr(0, 2) !== 's:') return undefined;
  const found = verify(raw.slice(2), keys);
  if (!found || !found.value) return undefined;
  return { id: found.value, signed: found.key === 0 ? raw : undefined };
}
