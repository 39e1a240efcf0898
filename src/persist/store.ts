import type { KeyObject } from 'node:crypto';
import { call, type Callback } from '../core/callback.js';
import { adoptStored, sameSnapshot, snapshot, type Snapshot } from '../core/changes.js';
import type { CookieOptions } from '../core/cookie.js';
import { debug } from '../core/debug.js';
import { generateSessionId } from '../core/ids.js';
import type { SessionOptions } from '../core/options.js';
import { shouldSave, shouldSetCookie, shouldTouch, touchIsDue, type Policy, type SessionState } from '../core/decide.js';
import { RequestLifecycle, type Hold, type SessionResponse, type Stored } from '../core/lifecycle.js';
import type { CookieSetting, RequestFunction, SessionRequest } from '../core/request.js';
import type { Session } from '../core/session.js';
import { sign } from '../core/signature.js';
import { isAtomicStore, parseRecord, type AtomicStore, type SessionRecord, type StoreContract } from '../core/store.js';
import { SessionNotFoundError } from '../errors.js';
import { commit } from './group-commit.js';
import { readSignedId } from './signed-id.js';

/** Everything about a store-backed session fixed at setup, shared by every request. */
export interface StoreSettings {
  name: string;
  store: StoreContract;
  /** The store's conditional writes for this request, when it has them and they may be used. */
  conditional: (() => AtomicStore | undefined) | undefined;
  storeCanTouch: boolean;
  cookie: CookieSetting;
  genid: RequestFunction<string | Promise<string>>;
  proxy: boolean | undefined;
  resave: boolean;
  policy: Policy;
  unsetDestroy: boolean;
  touchAfterMs: number;
  /** A change the handler made is answered only once the store took it (see `Hold`). */
  answerAfterSave: boolean;
}

/**
 * Whether the store says it is connected: while it has said 'disconnect', requests go on without
 * a session, as in express-session.
 */
export function storeConnection(store: StoreContract): () => boolean {
  let connected = true;
  store.on('disconnect', () => void (connected = false));
  store.on('connect', () => void (connected = true));
  return () => connected;
}

/** The settings of a store-backed session from `session()`'s options, as every front reads them. */
export function storeSettings(opts: SessionOptions, store: StoreContract): StoreSettings {
  return {
    name: opts.name || opts.key || 'connect.sid',
    store,
    conditional: conditionalWrites(store),
    storeCanTouch: typeof store.touch === 'function',
    cookie: opts.cookie || {},
    genid: opts.genid || generateSessionId,
    proxy: opts.proxy,
    resave: opts.resave ?? true,
    policy: { saveUninitialized: opts.saveUninitialized ?? true, rolling: Boolean(opts.rolling) },
    unsetDestroy: opts.unset === 'destroy',
    touchAfterMs: (opts.touchAfter ?? 0) * 1000,
    answerAfterSave: opts.answerAfterSave ?? true,
  };
}

/**
 * The store's conditional writes, for as long as its get and set are the ones its class pairs
 * them with (the conditional writes stand in for those two; touch and destroy are called as they
 * are either way). Apps wrap or replace get and set on the instance (a spy counting saves, a
 * caching or logging wrapper, a `get` that injects an error) and expect every call to go through
 * them as under express-session: while one is not the class's own, the store is used through its
 * public methods only, with whole-record saves. Checked on every request, since a test may wrap a
 * method long after the middleware was made.
 */
export function conditionalWrites(store: StoreContract): (() => AtomicStore | undefined) | undefined {
  if (!isAtomicStore(store)) return undefined;
  // The class that gives the conditional writes, not the instance: a wrapper put on the instance
  // (around getVersioned as well as get) is the app's, however early it was put there.
  let owner: object | null = Object.getPrototypeOf(store);
  while (owner && !Object.prototype.hasOwnProperty.call(owner, 'getVersioned')) owner = Object.getPrototypeOf(owner);
  const own = (owner ?? store) as StoreContract;
  const { get, set } = own;
  return () => (store.get === get && store.set === set ? store : undefined);
}

/** A change the handler asked for (save, regenerate, destroy), and how it went so far. */
interface Asked {
  done: Promise<void>;
  settled: boolean;
  failed: boolean;
  error: unknown;
}

/**
 * What this request knows of the record in the store: the base of its delta and the stored
 * text a conditional write compares against.
 */
class StoredVersion {
  /** The session ID the version belongs to; undefined when no version is known (a plain store, a new session). */
  id: string | undefined = undefined;
  /** The stored text of the record as loaded or last written. */
  text: string | undefined = undefined;
  /** The data the store holds as far as this request knows. */
  base: Snapshot | undefined = undefined;
  /** The record was found gone when saving: nothing more is written for it. */
  gone = false;
  /** The expiry the loaded record carried (ms), for `touchAfter`. */
  loadedExpires: number | undefined = undefined;

  loaded(id: string, text: string | undefined, base: Snapshot, expires: number | undefined): void {
    this.id = text === undefined ? undefined : id;
    this.text = text;
    this.base = base;
    this.gone = false;
    this.loadedExpires = expires;
  }

  reset(): void {
    this.id = this.text = this.base = undefined;
    this.gone = false;
  }
}

/**
 * A session kept in a store, as express-session keeps it: the cookie carries the signed ID,
 * the store the record. One request's session, from the cookie to the store and back.
 */
export class StoreLifecycle extends RequestLifecycle<Snapshot> {
  /** The cookie's signed value: a Set-Cookie of the same ID sends it again instead of signing anew. */
  private cookieSigned: string | undefined = undefined;
  private readonly version = new StoredVersion();
  /** The store's conditional writes, when this request may use them (see `conditionalWrites`). */
  private readonly atomic: AtomicStore | undefined;
  /** The session's expiry was renewed for this response (once, at the end or at the head). */
  private touched = false;
  /** Changes the handler asked for during the request (save, regenerate, destroy): the response waits for them. */
  private asked: Asked[] | undefined = undefined;
  /** A change the response waited for failed: the error response that follows carries no session cookie. */
  private unsaved = false;
  /** The session and its state as measured by finish(), for the Set-Cookie decision that follows. */
  private ending: { session: Session; state: SessionState } | undefined = undefined;

  constructor(
    private readonly settings: StoreSettings,
    req: SessionRequest,
    res: SessionResponse,
    private readonly keys: KeyObject[],
    cookieOptions: CookieOptions,
    /** Reports an error after the response is on its way (the front's `next`). */
    private readonly report: (err: unknown) => void,
  ) {
    super(req, res, cookieOptions, settings.proxy, sameSnapshot);
    (req as { sessionStore?: StoreContract }).sessionStore = settings.store;
    this.atomic = settings.conditional?.();
  }

  protected fingerprint(sess: Session): Snapshot {
    return snapshot(sess);
  }

  open(done: (err?: unknown) => void): void {
    const { req } = this;
    const cookie = readSignedId(req, this.settings.name, this.keys);
    this.changes.cookieId = req.sessionID = cookie?.id;
    this.cookieSigned = cookie?.signed;
    if (!req.sessionID) {
      this.generate(false, done);
      return;
    }
    this.load(req.sessionID, false, (err, found) => {
      if (err) done(err);
      else if (found) done();
      else this.generate(false, done);
    });
  }

  /**
   * Loads the session of `id` into req.session; `found` is false when there is none (or it is
   * unreadable). Callback-driven, so a store that calls back synchronously is followed
   * synchronously, as express-session does.
   */
  private load(id: string, reloading: boolean, done: (err: unknown, found?: boolean) => void): void {
    const { atomic } = this;
    const { store } = this.settings;
    const loaded = (record: SessionRecord | null, text: string | undefined) => {
      let found = false;
      if (record === null) {
        debug('session %s: no record in the store (missing, expired or unreadable)', id);
      } else {
        try {
          found = this.inflate(id, record, text, reloading);
        } catch (err) {
          debug('session %s: record set aside, its cookie cannot be revived (%s)', id, (err as Error).message);
        }
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
  private inflate(id: string, record: SessionRecord, text: string | undefined, reloading: boolean): true {
    const sess = this.revive(record);
    const now = snapshot(sess);
    if (!reloading) this.changes.began(id, now, !this.settings.resave);
    const expires = sess.cookie.expires;
    this.version.loaded(id, text, now, expires instanceof Date ? expires.getTime() : undefined);
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
        this.fresh(value, keepOriginal);
        done();
      }, done);
      return;
    }
    this.fresh(id as string, keepOriginal);
    done();
  }

  private fresh(id: string, keepOriginal: boolean): void {
    this.install(id, keepOriginal);
    this.version.reset();
  }

  finish(done: Stored): Hold {
    const asked = this.asked;
    this.asked = undefined;
    if (asked) {
      // What the handler asked for may have failed without the handler looking, or still be
      // under way: the response is answered only once it was stored.
      const failed = asked.find((change) => change.failed);
      if (failed) {
        this.fail(failed.error, done);
        return 'all';
      }
      if (asked.some((change) => !change.settled)) {
        Promise.all(asked.map((change) => change.done)).then(() => this.persistAfter(done), (err) => this.fail(err, done));
        return 'all';
      }
    }
    return this.persist(done);
  }

  /** persist(), once what the handler asked for is stored: the response was held whole meanwhile. */
  private persistAfter(done: Stored): void {
    let waiting = false;
    let atOnce: [unknown] | undefined;
    const hold = this.persist((err) => (waiting ? done(err) : (atOnce = [err])));
    waiting = true;
    if (hold === false) done(null, true);
    else if (atOnce) done(atOnce[0], true);
  }

  /** Saves, touches or destroys what the end of the request calls for; see `Hold` for what it holds. */
  private persist(done: Stored): Hold {
    const { req, settings } = this;
    if (req.sessionID && settings.unsetDestroy && req.session == null) {
      settings.store.destroy(req.sessionID, this.confirmed(done));
      return this.holdForChange();
    }
    const sess = this.current();
    if (!sess) return false;
    this.touch(sess);
    const now = snapshot(sess);
    const state = this.state(sess, now);
    this.ending = { session: sess, state };
    if (shouldSave(state, settings.policy)) {
      // A save of what the handler changed is confirmed; a resave, or a new session nobody
      // wrote to (saveUninitialized), is kept as express-session keeps it: answered regardless.
      if (state.modified) {
        this.saveWith(sess, now, this.confirmed(done));
        return this.holdForChange();
      }
      this.saveWith(sess, now, this.reported(done));
      return 'end';
    }
    if (settings.storeCanTouch && shouldTouch(state, settings.policy) && this.touchIsDue(sess)) {
      settings.store.touch!(req.sessionID!, sess as unknown as SessionRecord, this.reported(done));
      return 'end';
    }
    return false;
  }

  private holdForChange(): Hold {
    return this.settings.answerAfterSave ? 'all' : 'end';
  }

  /** The store's answer to a change the response waits for: a failure becomes the response. */
  private confirmed(done: Stored): Callback {
    if (!this.settings.answerAfterSave) return this.reported(done);
    return (err) => (err ? this.fail(err, done) : done());
  }

  /** The store's answer to what the response need not wait for: a failure is reported after it. */
  private reported(done: Stored): Callback {
    return (err) => {
      if (err) this.report(err);
      done();
    };
  }

  /**
   * A change was not stored. Unless the handler already answered with an error of its own, the
   * front makes this the response (through the app's error handler), without the session cookie.
   */
  private fail(err: unknown, done: Stored): void {
    debug('session %s: a change was not stored (%s)', this.req.sessionID, (err as Error)?.message);
    if (this.res.statusCode >= 400) {
      this.report(err);
      done();
      return;
    }
    this.unsaved = true;
    done(err);
  }

  /** Records a change the handler asked for, so that the response waits for it. */
  private track(change: Promise<void>): Promise<void> {
    if (this.settings.answerAfterSave) {
      const asked: Asked = { done: change, settled: false, failed: false, error: undefined };
      change.then(
        () => void (asked.settled = true),
        (err) => Object.assign(asked, { settled: true, failed: true, error: err }),
      );
      (this.asked ??= []).push(asked);
    }
    return change;
  }

  sendCookies(): void {
    const { req, settings } = this;
    if (this.unsaved) return;
    const sess = this.current();
    if (!sess) return;
    if (typeof req.sessionID !== 'string') return;
    // During finish() the state was just measured; reuse it rather than serialize the session again.
    const state = this.ending?.session === sess ? this.ending.state : this.state(sess, snapshot(sess));
    if (!shouldSetCookie(state, settings.policy, sess.cookie.expires != null)) return;
    if (sess.cookie.secure && !this.secure()) return;
    this.touch(sess);
    try {
      const signed = req.sessionID === this.changes.cookieId && this.cookieSigned !== undefined
        ? this.cookieSigned
        : sign(req.sessionID, this.keys[0]!);
      this.res.setCookies([sess.cookie.serialize(settings.name, signed)]);
    } catch (err) {
      this.report(err);
    }
  }

  /** Renews the cookie's expiry, once per response. */
  private touch(sess: Session): void {
    if (this.touched) return;
    sess.touch();
    this.touched = true;
  }

  private touchIsDue(sess: Session): boolean {
    return touchIsDue(this.version.loadedExpires, sess.cookie.originalMaxAge, this.settings.touchAfterMs, Date.now());
  }

  // What req.session's methods do during this request.

  save(sess: Session): Promise<void> {
    return this.track(call<void>((cb) => this.saveWith(sess, snapshot(sess), cb)));
  }

  /** Saves the session whole, as express-session does, or as a delta when the store is atomic. */
  private saveWith(sess: Session, now: Snapshot, done: Callback): void {
    this.changes.savedAs(now);
    const { version } = this;
    if (version.gone && sess.id === version.id) {
      done();
      return;
    }
    const { atomic } = this;
    const { store } = this.settings;
    if (atomic && version.text !== undefined && sess.id === version.id) {
      commit(atomic, sess.id, {
        session: sess,
        now,
        text: () => version.text!,
        base: () => version.base,
        landed: (written, data) => {
          version.text = written;
          if (data === now || sameSnapshot(data, now)) {
            version.base = now;
            return;
          }
          adoptStored(sess, now, data);
          version.base = data;
          this.changes.savedAs(data);
        },
        gone: () => void (version.gone = true),
      }).then(() => done(), done);
      return;
    }
    store.set(sess.id, sess as unknown as SessionRecord, done);
  }

  reload(sess: Session): Promise<void> {
    return call<void>((cb) =>
      this.load(sess.id, true, (err, found) => cb(err ?? (found ? null : new SessionNotFoundError()))),
    );
  }

  /** Destroys the stored session, then makes a new one; a failed destroy is reported after. */
  regenerate(_sess: Session): Promise<void> {
    const { req, settings } = this;
    return this.track(call<void>((cb) =>
      settings.store.destroy(req.sessionID!, (destroyErr) => {
        this.generate(true, (err) => cb(destroyErr ?? err));
      }),
    ));
  }

  destroy(sess: Session): Promise<void> {
    delete this.req.session;
    return this.track(call<void>((cb) => this.settings.store.destroy(sess.id, cb)));
  }
}
