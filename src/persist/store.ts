import type { KeyObject } from 'node:crypto';
import { call, type Callback } from '../core/callback.js';
import { adoptStored, sameSnapshot, snapshot, type Snapshot } from '../core/changes.js';
import type { CookieOptions } from '../core/cookie.js';
import { debug } from '../core/debug.js';
import { SessionEventHub, type SessionEvents } from '../core/events.js';
import { generateSessionId } from '../core/ids.js';
import type { SessionOptions } from '../core/options.js';
import { shouldSave, shouldSetCookie, shouldTouch, touchIsDue, type Policy, type SessionState } from '../core/decide.js';
import { RequestLifecycle, type Hold, type SessionResponse, type Stored } from '../core/lifecycle.js';
import type { CookieSetting, RequestFunction, SessionRequest } from '../core/request.js';
import { META_KEY, deviceOf, metaOf, seenIsStale, timedOut, type DevicesOption, type LifecycleOptions, type SessionMeta } from '../core/meta.js';
import type { RegenerateOptions, Session } from '../core/session.js';
import { sign } from '../core/signature.js';
import type { Cookie } from '../core/cookie.js';
import {
  expiresOf, isAtomicStore, isUserIndexStore, parseRecord, type AtomicStore, type SessionRecord, type StoreContract, type VersionedRecord,
} from '../core/store.js';
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
  /**
   * The lifecycle options, when new sessions carry meta (a timeout, rotation, devices, or a store
   * that indexes users asked for one); undefined otherwise, and records stay express-session's.
   */
  life: Lifecycle | undefined;
  /** The middleware's events. */
  hub: SessionEventHub;
  /** The user a record belongs to, as the store's user index files it; undefined for a store without one. */
  userOf: ((record: SessionRecord) => string | undefined) | undefined;
}

/** What the lifecycle options ask of a store-backed session, all in milliseconds (but `touchAfter`). */
export interface Lifecycle extends LifecycleOptions {
  rotateEvery: number | undefined;
  rotateGrace: number;
  devices: DevicesOption | undefined;
}

/** How long a rotated session's old ID still serves, when `rotateGrace` is not set. */
const ROTATE_GRACE = 10_000;

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
export function storeSettings(opts: SessionOptions, store: StoreContract, hub = new SessionEventHub()): StoreSettings {
  const indexed = isUserIndexStore(store) ? store : undefined;
  const wantsMeta = opts.absoluteTimeout !== undefined || opts.idleTimeout !== undefined ||
    opts.rotateEvery !== undefined || Boolean(opts.devices) || indexed?.indexesUsers === true;
  const life: Lifecycle | undefined = wantsMeta
    ? {
      absoluteTimeout: opts.absoluteTimeout,
      idleTimeout: opts.idleTimeout,
      touchAfter: opts.touchAfter,
      rotateEvery: opts.rotateEvery,
      rotateGrace: opts.rotateGrace ?? ROTATE_GRACE,
      devices: opts.devices,
    }
    : undefined;
  const conditional = conditionalWrites(store);
  return {
    name: opts.name || opts.key || 'connect.sid',
    store,
    conditional: conditional && life?.rotateEvery !== undefined ? followingMoves(conditional) : conditional,
    storeCanTouch: typeof store.touch === 'function',
    cookie: opts.cookie || {},
    genid: opts.genid || generateSessionId,
    proxy: opts.proxy,
    resave: opts.resave ?? true,
    policy: { saveUninitialized: opts.saveUninitialized ?? true, rolling: Boolean(opts.rolling) },
    unsetDestroy: opts.unset === 'destroy',
    touchAfterMs: (opts.touchAfter ?? 0) * 1000,
    answerAfterSave: opts.answerAfterSave ?? true,
    life,
    hub,
    userOf: indexed
      ? (record) => {
        try {
          return indexed.userIdOf(record);
        } catch {
          return undefined;
        }
      }
      : undefined,
  };
}

/**
 * The conditional writes of a store whose sessions rotate: a save that finds the record it
 * loaded replaced by a rotation's forwarder (a request that overlapped the rotation) is merged
 * into the session under its new ID and lands there. One per middleware, so that saves of one
 * session still go out together (see `commit`).
 */
function followingMoves(conditional: () => AtomicStore | undefined): () => AtomicStore | undefined {
  let wrapped: { store: AtomicStore; following: AtomicStore } | undefined;
  return () => {
    const atomic = conditional();
    if (!atomic) return undefined;
    if (wrapped?.store !== atomic) wrapped = { store: atomic, following: following(atomic) };
    return wrapped.following;
  };
}

function following(atomic: AtomicStore): AtomicStore {
  /** Old ID to new ID, for the saves under way that found a forwarder; dropped once one landed. */
  const moves = new Map<string, string>();
  return {
    getVersioned: (sid) => atomic.getVersioned(moves.get(sid) ?? sid),
    async setIfVersion(sid, version, record) {
      const target = moves.get(sid) ?? sid;
      const result = await atomic.setIfVersion(target, version, record);
      if (result.written) {
        if (target !== sid) moves.delete(sid);
        return result;
      }
      const movedTo = result.current ? metaOf(result.current.record)?.movedTo : undefined;
      if (typeof movedTo !== 'string' || target !== sid) return result;
      debug('session %s: rotated to a new ID while this request ran; its save goes there', sid);
      moves.set(sid, movedTo);
      return { written: false, current: await atomic.getVersioned(movedTo) };
    },
  };
}

/** How `load` was asked: opening the request's session, reloading it, or following it to its new ID. */
type LoadMode = 'open' | 'reload' | 'moved';

/** Takes the meta off a loaded record: the app never sees it on req.session. */
function takeMeta(record: SessionRecord): SessionMeta | undefined {
  const meta = metaOf(record);
  delete record[META_KEY];
  return meta;
}

/** The record of a session with its meta beside the data. */
function withMeta(sess: Session, meta: SessionMeta): SessionRecord {
  return Object.assign({}, sess, { [META_KEY]: meta }) as unknown as SessionRecord;
}

/** A snapshot with the meta as one more key: a concurrent save merges it as it merges data. */
function snapshotWithMeta(now: Snapshot, meta: SessionMeta | undefined): Snapshot {
  if (!meta) return now;
  return new Map(now).set(META_KEY, JSON.stringify(meta));
}

/** An event's payload, with `userId` only when the store names one. */
function withUser<T extends object>(payload: T, userId: string | undefined): T & { userId?: string } {
  return userId === undefined ? payload : { ...payload, userId };
}

/** The session's data, for a regenerate that keeps it. */
function dataOf(sess: Session): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const key of Object.keys(sess)) {
    if (key !== 'cookie') data[key] = (sess as unknown as Record<string, unknown>)[key];
  }
  return data;
}

/** Brings a cookie's expiry no later than `end` (ms): the session ends then anyway. */
function capExpiry(cookie: Cookie, end: number): void {
  const expires = cookie.expires;
  if (expires instanceof Date && expires.getTime() > end) cookie.expires = new Date(end);
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
  /**
   * The session's meta (created, seen, device), kept beside req.session and written back with
   * every save; undefined for a record without one while no lifecycle option asks for it.
   */
  private meta: SessionMeta | undefined = undefined;
  /** The meta is newer than the stored one (a record loaded without meta): worth a save of its own. */
  private metaDue = false;
  /** The session moved to a new ID (a rotation, a forwarder followed): the response carries its cookie. */
  private moved = false;
  /** The ID of a session made in this request and not stored yet: its first save fires `created` or `regenerated`. */
  private unstoredId: string | undefined = undefined;
  /** The ID a regenerate() replaced, and whether it kept the data, for the `regenerated` event. */
  private previousId: string | undefined = undefined;
  private keptData = false;

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
    this.load(req.sessionID, 'open', (err, found) => {
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
  private load(id: string, mode: LoadMode, done: (err: unknown, found?: boolean) => void): void {
    const { atomic } = this;
    const { store } = this.settings;
    const reloading = mode === 'reload';
    const loaded = (record: SessionRecord | null, text: string | undefined) => {
      if (record === null) {
        debug('session %s: no record in the store (missing, expired or unreadable)', id);
        done(null, false);
        return;
      }
      const meta = record[META_KEY] === undefined ? undefined : takeMeta(record);
      if (!reloading && (meta || this.settings.life)) this.arrive(id, record, text, meta, mode, done);
      else done(null, this.settle(id, record, text, reloading, meta));
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

  /** Makes req.session of a loaded record; false when its cookie cannot be revived (no session). */
  private settle(id: string, record: SessionRecord, text: string | undefined, reloading: boolean, meta: SessionMeta | undefined): boolean {
    try {
      return this.inflate(id, record, text, reloading, meta);
    } catch (err) {
      debug('session %s: record set aside, its cookie cannot be revived (%s)', id, (err as Error).message);
      return false;
    }
  }

  /** On a reload, what counts as modified or saved stays measured from the first load, as in express-session. */
  private inflate(id: string, record: SessionRecord, text: string | undefined, reloading: boolean, meta: SessionMeta | undefined): true {
    this.req.sessionID = id;
    const sess = this.revive(record);
    const now = snapshot(sess);
    if (!reloading) this.changes.began(id, now, !this.settings.resave);
    const expires = sess.cookie.expires;
    this.meta = meta;
    this.metaDue = false;
    const { life } = this.settings;
    if (!meta && life) {
      // A record from before the lifecycle options: its meta starts now, and is saved soon.
      const at = Date.now();
      this.meta = { created: at, seen: at, ...deviceOf(this.req, life.devices, this.proxy === true) };
      this.metaDue = true;
    }
    this.version.loaded(id, text, snapshotWithMeta(now, meta), expires instanceof Date ? expires.getTime() : undefined);
    return true;
  }

  /**
   * A loaded record with meta, or any record while a lifecycle option is set: a rotation's
   * forwarder is followed to the session's new ID, a timed-out session ends, a session due for
   * rotation gets its new ID; anything else is the request's session.
   */
  private arrive(
    id: string, record: SessionRecord, text: string | undefined, meta: SessionMeta | undefined, mode: LoadMode,
    done: (err: unknown, found?: boolean) => void,
  ): void {
    if (meta?.movedTo !== undefined) {
      // Its grace is read from the record too (its expiry, the time of the rotation), not only from the store's TTL.
      const expires = expiresOf(record);
      const now = Date.now();
      const rotateGrace = this.settings.life?.rotateGrace;
      const over = (expires !== null && expires.getTime() <= now) ||
        (rotateGrace !== undefined && meta.rotated !== undefined && now - meta.rotated >= rotateGrace);
      if (mode === 'moved' || typeof meta.movedTo !== 'string' || over) {
        debug('session %s: a rotated ID past its grace (or a forwarder to a forwarder); no session', id);
        done(null, false);
      } else {
        this.follow(meta.movedTo, done);
      }
      return;
    }
    const { life } = this.settings;
    if (life && meta) {
      const now = Date.now();
      const reason = timedOut(meta, now, life);
      if (reason) {
        this.expire(id, record, reason, done);
        return;
      }
      if (mode === 'open' && life.rotateEvery !== undefined && now - (meta.rotated ?? meta.created) >= life.rotateEvery) {
        this.rotate(id, record, text, meta, now, life, done);
        return;
      }
    }
    done(null, this.settle(id, record, text, false, meta));
  }

  /** Serves the session under its new ID: its record, and its cookie on the response. */
  private follow(newId: string, done: (err: unknown, found?: boolean) => void): void {
    this.load(newId, 'moved', (err, found) => {
      if (!err && found) {
        this.changes.cookieId = newId;
        this.cookieSigned = undefined;
        this.moved = true;
      }
      done(err, found);
    });
  }

  /** A session its timeout ended: destroyed in the store, then the request goes on as without one. */
  private expire(id: string, record: SessionRecord, reason: 'absolute' | 'idle', done: (err: unknown, found?: boolean) => void): void {
    debug('session %s: ended by its %s timeout', id, reason);
    const { hub, store, userOf } = this.settings;
    const userId = hub.has('expired') ? userOf?.(record) : undefined;
    store.destroy(id, (err) => {
      if (err) {
        done(err);
        return;
      }
      hub.emit('expired', withUser({ sessionId: id, reason }, userId));
      done(null, false);
    });
  }

  /**
   * Gives a session due for rotation a new ID, its data and creation kept: the old ID's record
   * becomes a forwarder to the new one for `rotateGrace` (requests already under way with it
   * are served the new session), written first, so the old ID never counts beside the new one
   * in its user's sessions. With conditional writes, a request that changed or rotated the
   * session meanwhile wins, and this one is served what it left.
   */
  private rotate(
    oldId: string, record: SessionRecord, text: string | undefined, meta: SessionMeta, now: number, life: Lifecycle,
    done: (err: unknown, found?: boolean) => void,
  ): void {
    const { store, hub, userOf } = this.settings;
    const { atomic } = this;
    this.newId((idErr, newId) => {
      if (idErr || typeof newId !== 'string') {
        if (idErr) done(idErr);
        else done(null, this.settle(oldId, record, text, false, meta));
        return;
      }
      const forwarder: SessionRecord = {
        cookie: { ...record.cookie, originalMaxAge: life.rotateGrace, expires: new Date(now + life.rotateGrace) },
        [META_KEY]: { ...meta, rotated: now, movedTo: newId },
      };
      const moved: SessionRecord = { ...record, [META_KEY]: { ...meta, seen: now, rotated: now } };
      const written = () =>
        store.set(newId, moved, (err) => {
          if (err) {
            done(err);
            return;
          }
          if (hub.has('regenerated')) {
            hub.emit('regenerated', withUser({ sessionId: newId, previousId: oldId, keepData: true, rotated: true }, userOf?.(record)));
          }
          this.follow(newId, done);
        });
      if (!atomic || text === undefined) {
        store.set(oldId, forwarder, (err) => (err ? done(err) : written()));
        return;
      }
      atomic.setIfVersion(oldId, text, forwarder).then((result) => {
        if (result.written) {
          written();
          return;
        }
        debug('session %s: changed in the store while rotating; served as it is now', oldId);
        const current: VersionedRecord | null = result.current;
        if (!current) {
          done(null, false);
          return;
        }
        const now2 = current.record[META_KEY] === undefined ? undefined : takeMeta(current.record);
        if (typeof now2?.movedTo === 'string') this.follow(now2.movedTo, done);
        else done(null, this.settle(oldId, current.record, current.version, false, now2));
      }, done);
    });
  }

  /**
   * A new session with a new ID, then `done`; a regenerated session keeps the original ID, so
   * it counts as modified. Synchronous unless genid returns a Promise.
   */
  private generate(keepOriginal: boolean, done: (err?: unknown) => void): void {
    this.newId((err, id) => {
      if (err) {
        done(err);
        return;
      }
      this.fresh(id as string, keepOriginal);
      done();
    });
  }

  /** A new session ID from genid: synchronous unless genid returns a Promise. */
  private newId(done: (err: unknown, id?: string) => void): void {
    let id: string | Promise<string>;
    try {
      id = this.settings.genid(this.req);
    } catch (err) {
      done(err);
      return;
    }
    if (id && typeof (id as Promise<string>).then === 'function') {
      (id as Promise<string>).then((value) => done(null, value), done);
      return;
    }
    done(null, id as string);
  }

  private fresh(id: string, keepOriginal: boolean): void {
    this.install(id, keepOriginal);
    this.version.reset();
    this.unstoredId = id;
    this.previousId = undefined;
    this.meta = undefined;
    this.metaDue = false;
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
      settings.store.destroy(req.sessionID, this.destroyed(req.sessionID, undefined, this.confirmed(done)));
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
    if (shouldTouch(state, settings.policy)) {
      // A `seen` old enough to refresh: the touch becomes a (conditional) save of the record.
      if (settings.life && this.meta && (this.metaDue || seenIsStale(this.meta, Date.now(), settings.life))) {
        this.saveWith(sess, now, this.reported(done));
        return 'end';
      }
      if (settings.storeCanTouch && this.touchIsDue(sess)) {
        const record = this.meta ? withMeta(sess, this.meta) : sess as unknown as SessionRecord;
        settings.store.touch!(req.sessionID!, record, this.reported(done));
        return 'end';
      }
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
    if (!shouldSetCookie(state, settings.policy, sess.cookie.expires != null) && !this.moved) return;
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
    const absolute = this.settings.life?.absoluteTimeout;
    if (absolute !== undefined) capExpiry(sess.cookie, (this.meta?.created ?? Date.now()) + absolute);
  }

  /**
   * The meta to write with a save: made for a new session, `seen` refreshed when stale (and the
   * IP with it, for `devices`); undefined for a session without meta while no option asks for one.
   */
  private stamp(): SessionMeta | undefined {
    const { life } = this.settings;
    let meta = this.meta;
    if (!life) return meta;
    const now = Date.now();
    if (!meta) {
      meta = { created: now, seen: now, ...deviceOf(this.req, life.devices, this.proxy === true) };
    } else if (this.metaDue || seenIsStale(meta, now, life)) {
      meta = { ...meta, seen: now };
      if (life.devices) {
        const { ip } = deviceOf(this.req, life.devices, this.proxy === true);
        if (ip !== undefined) meta.ip = ip;
      }
    }
    this.meta = meta;
    this.metaDue = false;
    return meta;
  }

  /** A save of the session `id` was stored: the first of a new session fires `created` (or `regenerated`). */
  private stored(id: string, record: SessionRecord): void {
    if (this.unstoredId !== id) return;
    this.unstoredId = undefined;
    const { hub, userOf } = this.settings;
    if (this.previousId !== undefined) {
      if (!hub.has('regenerated')) return;
      const payload: SessionEvents['regenerated'] = { sessionId: id, previousId: this.previousId, keepData: this.keptData, rotated: false };
      hub.emit('regenerated', withUser(payload, userOf?.(record)));
    } else if (hub.has('created')) {
      hub.emit('created', withUser({ sessionId: id }, userOf?.(record)));
    }
  }

  /** The store's answer to a destroy of `id`: once it is confirmed, `destroyed` fires (for a session that was stored). */
  private destroyed(id: string, record: SessionRecord | undefined, done: Callback): Callback {
    const { hub, userOf } = this.settings;
    if (!hub.has('destroyed') || this.unstoredId === id) return done;
    const userId = record ? userOf?.(record) : undefined;
    return (err) => {
      if (!err) hub.emit('destroyed', withUser({ sessionId: id }, userId));
      done(err);
    };
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
    const meta = this.stamp();
    const record = meta ? withMeta(sess, meta) : sess as unknown as SessionRecord;
    if (atomic && version.text !== undefined && sess.id === version.id) {
      const sent = snapshotWithMeta(now, meta);
      commit(atomic, sess.id, {
        session: record,
        now: sent,
        text: () => version.text!,
        base: () => version.base,
        landed: (written, data) => {
          version.text = written;
          if (data === sent || sameSnapshot(data, sent)) {
            version.base = sent;
            return;
          }
          this.merged(sess, now, data);
        },
        gone: () => void (version.gone = true),
      }).then(() => done(), done);
      return;
    }
    const id = sess.id;
    store.set(id, record, this.unstoredId === id ? (err) => {
      if (!err) this.stored(id, record);
      done(err);
    } : done);
  }

  /**
   * A conditional save landed merged with what another request wrote: the session takes the
   * stored data (and meta), so later changes in this request are measured from it.
   */
  private merged(sess: Session, own: Snapshot, data: Snapshot): void {
    let stored = data;
    const metaText = data.get(META_KEY);
    if (metaText !== undefined) {
      stored = new Map(data);
      stored.delete(META_KEY);
      this.meta = metaOf({ [META_KEY]: JSON.parse(metaText) as unknown } as unknown as SessionRecord) ?? this.meta;
    }
    adoptStored(sess, own, stored);
    this.version.base = data;
    this.changes.savedAs(stored);
    const { hub, userOf } = this.settings;
    if (hub.has('conflict')) hub.emit('conflict', withUser({ sessionId: sess.id }, userOf?.(sess as unknown as SessionRecord)));
  }

  reload(sess: Session): Promise<void> {
    return call<void>((cb) =>
      this.load(sess.id, 'reload', (err, found) => cb(err ?? (found ? null : new SessionNotFoundError()))),
    );
  }

  /**
   * Destroys the stored session, then makes a new one; a failed destroy is reported after. With
   * `keepData`, the new session has the data and the creation time of the old one, and is made
   * only once the old ID is gone from the store (so a stolen old ID is dead at once).
   */
  regenerate(sess: Session, options?: RegenerateOptions): Promise<void> {
    const { req, settings } = this;
    const keepData = options?.keepData === true;
    const previousId = req.sessionID!;
    // A session regenerated twice before it was stored still replaces the first ID.
    const replaced = this.unstoredId === previousId && this.previousId !== undefined ? this.previousId : previousId;
    const data = keepData ? dataOf(sess) : undefined;
    const meta = this.meta;
    return this.track(call<void>((cb) =>
      settings.store.destroy(previousId, (destroyErr) => {
        if (keepData && destroyErr) {
          cb(destroyErr);
          return;
        }
        this.generate(true, (err) => {
          if (!err) {
            this.previousId = replaced;
            this.keptData = keepData;
            if (data) {
              Object.assign(req.session!, data);
              this.meta = meta;
            }
          }
          cb(destroyErr ?? err);
        });
      }),
    ));
  }

  destroy(sess: Session): Promise<void> {
    delete this.req.session;
    const done = (cb: Callback) => this.destroyed(sess.id, sess as unknown as SessionRecord, cb);
    return this.track(call<void>((cb) => this.settings.store.destroy(sess.id, done(cb))));
  }
}
