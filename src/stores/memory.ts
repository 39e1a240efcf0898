import { settle, settled, type Callback } from '../core/callback.js';
import {
  expiresOf, parseRecord, Store,
  type ConditionalWrite, type SessionRecord, type UserIndexOptions, type UserSession, type VersionedRecord,
} from './contract.js';
import { Cookie } from '../core/cookie.js';
import { SessionLimitError, UserIdOptionError } from '../errors.js';
import {
  listUserSessions, planLogin, sessionLimitOf, userKeyOf, type SessionLimit, type UserIndexBackend,
} from './user-index.js';

export interface MemoryStoreOptions extends UserIndexOptions {
  /** The most sessions kept; beyond it, the least recently used is evicted. Default: no limit. */
  max?: number;
  /** Milliseconds between sweeps of expired sessions (an unref'd timer); 0 turns them off. Default 60000. */
  checkPeriod?: number;
}

/**
 * What the store keeps of a session, the value of its ID in one Map. Most sessions are their
 * saved text alone (as in express-session's MemoryStore, whose memory this matches): their
 * expiry is read from the text when the sweep, a touch or a conditional write needs it. A
 * session filed under a user, or touched since its save, is an Entry.
 */
type Value = string | Entry;

interface Entry {
  /** The saved text, or it with the cookie of a touch since. */
  data: string | Touched;
  /** The user's key hashed (see userHash), or undefined when the session is filed under no user. */
  user: number | undefined;
}

/**
 * A session touched since its save: the saved text (still its version: a conditional write
 * compares the data, and the cookie of whoever writes last wins, as in a merge), the touch's
 * cookie and the expiry it gave (ms since the epoch, Infinity for never). A touch, on every
 * unmodified request by default, then writes no record.
 */
interface Touched {
  text: string;
  cookie: StoredCookie;
  expires: number;
}

/** A touched cookie as JSON would keep it: a copy of its fields, or (for any other shape) its JSON text. */
type StoredCookie = Record<string, string | number | boolean | null> | string;

/**
 * A sweep runs in slices of about this many milliseconds (the clock read every SWEEP_CHECK
 * sessions), with a turn of the event loop between them: requests are served during a sweep
 * however many sessions the store holds, each delayed by one slice at most. A slice no longer
 * than the p99 of a busy server's requests keeps that p99 within about twice its usual value.
 */
const SWEEP_SLICE_MS = 1;
const SWEEP_CHECK = 32;

/**
 * `MemoryStore#sessions`: the saved texts by session ID, a Map of ID to JSON text over the
 * store's entries. A text set here directly counts as saved: its expiry is read from it when
 * next needed, and it is filed under no user.
 */
class SessionTexts implements Map<string, string> {
  readonly #store: MemoryStore;
  readonly #map: Map<string, Value>;

  constructor(store: MemoryStore, map: Map<string, Value>) {
    this.#store = store;
    this.#map = map;
  }

  get size(): number {
    return this.#map.size;
  }

  get(sid: string): string | undefined {
    const value = this.#map.get(sid);
    return value === undefined ? undefined : textOf(value);
  }

  has(sid: string): boolean {
    return this.#map.has(sid);
  }

  set(sid: string, text: string): this {
    this.#store.replaceText(sid, text);
    return this;
  }

  delete(sid: string): boolean {
    const had = this.#map.has(sid);
    this.#store.drop(sid);
    return had;
  }

  clear(): void {
    this.#store.clear();
  }

  forEach(fn: (text: string, sid: string, map: Map<string, string>) => void, thisArg?: unknown): void {
    for (const [sid, text] of this.entries()) fn.call(thisArg, text, sid, this);
  }

  keys(): MapIterator<string> {
    return this.#map.keys();
  }

  values(): MapIterator<string> {
    return texts(this.#map.values()) as unknown as MapIterator<string>;
  }

  entries(): MapIterator<[string, string]> {
    return pairs(this.#map.entries()) as unknown as MapIterator<[string, string]>;
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'Map';
  }
}

function textOf(value: Value): string {
  if (typeof value === 'string') return value;
  const data = value.data;
  return typeof data === 'string' ? data : data.text;
}

function* texts(values: Iterable<Value>): Generator<string, undefined> {
  for (const value of values) yield textOf(value);
}

function* pairs(entries: Iterable<[string, Value]>): Generator<[string, string], undefined> {
  for (const [sid, value] of entries) yield [sid, textOf(value)];
}

/**
 * A user key as the index files it: a 32-bit hash (a small integer, where a string would cost
 * more than the rest of the index). Two users may share one; the listing checks every session
 * against its record, and `remove` keeps a session still filed under the hash.
 * @internal exported for the tests of shared hashes
 */
export function userHash(user: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < user.length; i++) h = Math.imul(h ^ user.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * Sessions in this process's memory. Records are kept as their JSON text, so a change to
 * `req.session` never reaches the store before a save; expired sessions are swept by an
 * unref'd timer, in slices that let requests through; with `max`, the least recently used
 * session is evicted first.
 */
export class MemoryStore extends Store {
  readonly max: number;
  /** Session ID to what is kept of it, in least- to most-recently-used order. */
  readonly #entries = new Map<string, Value>();
  /** Session ID to the text last saved (a touch since is kept beside it), in least- to most-recently-used order. */
  readonly sessions: Map<string, string> = new SessionTexts(this, this.#entries);
  /** A user's hashed key to the ID of their one session, or a Set of their IDs when they have several. */
  private readonly users = new Map<number, string | Set<string>>();
  private readonly userId: MemoryStoreOptions['userId'];
  /** `maxSessionsPerUser` and `onLimit`, when set. */
  readonly #limit: SessionLimit | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The sweep under way, which a `prune()` meanwhile joins. */
  #sweep: Promise<number> | undefined;
  /** Whether the sweep under way keeps the process alive (one asked for by `prune()` does). */
  #sweepHeld = false;

  constructor(options: MemoryStoreOptions = {}) {
    super();
    if (options.max !== undefined && !(Number.isInteger(options.max) && options.max > 0)) {
      throw new TypeError(`max option must be a positive integer; got ${String(options.max)}`);
    }
    const checkPeriod = options.checkPeriod ?? 60_000;
    if (!(typeof checkPeriod === 'number' && checkPeriod >= 0)) {
      throw new TypeError(`checkPeriod option must be a number of milliseconds, 0 or more; got ${String(checkPeriod)}`);
    }
    this.max = options.max ?? Infinity;
    this.userId = options.userId;
    this.#limit = sessionLimitOf(options, 'MemoryStore');
    if (checkPeriod > 0) {
      this.timer = setInterval(() => {
        if (!this.#sweep) void this.#startSweep(false);
      }, checkPeriod);
      this.timer.unref();
    }
  }

  /**
   * Removes every expired session: in slices of a few milliseconds with a turn of the event loop
   * between them (what the timer runs every `checkPeriod`). Resolves to the number removed.
   */
  prune(): Promise<number> {
    if (this.#sweep) {
      this.#sweepHeld = true;
      return this.#sweep;
    }
    return this.#startSweep(true);
  }

  #startSweep(held: boolean): Promise<number> {
    this.#sweepHeld = held;
    const sweep = this.#sweepAll().finally(() => {
      if (this.#sweep === sweep) this.#sweep = undefined;
    });
    this.#sweep = sweep;
    return sweep;
  }

  async #sweepAll(): Promise<number> {
    // A Map iterator stays valid while the Map changes: sessions written meanwhile are visited
    // too (and kept), deleted ones are skipped.
    const it = this.#entries.entries();
    let removed = 0;
    for (;;) {
      const now = Date.now();
      const sliceStart = performance.now();
      for (let n = 1; ; n++) {
        const step = it.next();
        if (step.done) return removed;
        const [sid, value] = step.value;
        if (!(expiryOfValue(value) > now)) {
          this.drop(sid);
          removed++;
        }
        if (n % SWEEP_CHECK === 0 && performance.now() - sliceStart >= SWEEP_SLICE_MS) break;
      }
      await new Promise<void>((resolve) => {
        const immediate = setImmediate(resolve);
        if (!this.#sweepHeld) immediate.unref();
      });
    }
  }

  /**
   * Removes a session and its entry in the user index.
   * @internal
   */
  drop(sid: string): void {
    const value = this.#entries.get(sid);
    if (value === undefined) return;
    this.#entries.delete(sid);
    if (typeof value === 'object' && value.user !== undefined) this.#unfile(value.user, sid);
  }

  /**
   * A text put in `sessions` directly: it replaces the session, whose user entry goes with it.
   * @internal
   */
  replaceText(sid: string, text: string): void {
    const value = this.#entries.get(sid);
    if (typeof value === 'object' && value.user !== undefined) this.#unfile(value.user, sid);
    this.#entries.set(sid, text);
  }

  #file(user: number, sid: string): void {
    const ids = this.users.get(user);
    if (ids === undefined) this.users.set(user, sid);
    else if (typeof ids === 'string') {
      if (ids !== sid) this.users.set(user, new Set([ids, sid]));
    } else ids.add(sid);
  }

  #unfile(user: number, sid: string): void {
    const ids = this.users.get(user);
    if (ids === undefined) return;
    if (typeof ids === 'string') {
      if (ids === sid) this.users.delete(user);
    } else if (ids.delete(sid) && ids.size <= 1) {
      if (ids.size === 0) this.users.delete(user);
      else this.users.set(user, ids.values().next().value as string);
    }
  }

  /** Stops the sweep timer. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** What is kept of a stored, unexpired session; an expired or unreadable one is dropped. */
  #live(sid: string, now = Date.now()): Value | undefined {
    const value = this.#entries.get(sid);
    if (value === undefined) return undefined;
    if (expiryOfValue(value) > now) return value;
    this.drop(sid);
    return undefined;
  }

  /**
   * The stored record, with the cookie of a touch since its save; its version is the text saved.
   * `used` makes it the most recently used (for `max`).
   */
  #read(sid: string, now = Date.now(), used = false): VersionedRecord | null {
    const value = this.#entries.get(sid);
    if (value === undefined) return null;
    const data = typeof value === 'string' ? value : value.data;
    const text = typeof data === 'string' ? data : data.text;
    const record = parseRecord(text);
    // The expiry of the record just parsed, or the touch's.
    if (!record || !((typeof data === 'string' ? expiryOf(record) : data.expires) > now)) {
      this.drop(sid);
      return null;
    }
    if (used && this.max !== Infinity) {
      this.#entries.delete(sid);
      this.#entries.set(sid, value);
    }
    if (typeof data !== 'string') {
      const cookie = data.cookie;
      record.cookie = typeof cookie === 'string' ? JSON.parse(cookie) : { ...cookie };
    }
    return { record, version: text };
  }

  /** Most recently used goes last (only `max` needs the order). */
  #used(sid: string): void {
    if (this.max !== Infinity) {
      const value = this.#entries.get(sid);
      if (value === undefined) return;
      this.#entries.delete(sid);
      this.#entries.set(sid, value);
    }
  }

  #write(sid: string, record: SessionRecord): string {
    const text = JSON.stringify(record);
    const key = userKeyOf(this.userId, record);
    const user = key === undefined ? undefined : userHash(key);
    const previous = this.#entries.get(sid);
    const before = typeof previous === 'object' ? previous.user : undefined;
    // A login (a session filed under a user it was not filed under) within the limit: checked
    // and made room for before anything is written, with no await in between.
    if (user !== before && key !== undefined && this.#limit) this.#makeRoom(sid, key, userHash(key), this.#limit);
    if (previous !== undefined && this.max !== Infinity) this.#entries.delete(sid);
    this.#entries.set(sid, user === undefined ? text : { data: text, user });
    if (user !== before) {
      if (before !== undefined) this.#unfile(before, sid);
      if (user !== undefined) this.#file(user, sid);
    }
    while (this.#entries.size > this.max) this.drop(this.#entries.keys().next().value as string);
    return text;
  }

  /**
   * Makes room for session `sid` under `user` (its key, and `hash`, the key hashed): drops the
   * stale entries of the index and ends the user's oldest sessions, or throws a SessionLimitError
   * (refuse) when the user is at the limit.
   */
  #makeRoom(sid: string, user: string, hash: number, limit: SessionLimit): void {
    const filed = this.users.get(hash);
    if (filed === undefined) return;
    const ids = typeof filed === 'string' ? [filed] : [...filed];
    if (ids.length < limit.max) return;
    const now = Date.now();
    const plan = planLogin(sid, user, ids, ids.map((id) => this.#read(id, now)?.record ?? null), this.userId, limit);
    for (const id of plan.stale) {
      // Another user's session under the same hash stays filed.
      const value = this.#entries.get(id);
      if (!(typeof value === 'object' && value.user === hash)) this.#unfile(hash, id);
    }
    for (const id of plan.evict) this.drop(id);
  }

  get(sid: string): Promise<SessionRecord | null>;
  get(sid: string, callback: Callback<SessionRecord | null | undefined>): void;
  get(sid: string, callback?: Callback<SessionRecord | null>): Promise<SessionRecord | null> | undefined {
    const current = this.#read(sid, Date.now(), true);
    return settled(current ? current.record : null, callback);
  }

  set(sid: string, session: SessionRecord): Promise<void>;
  set(sid: string, session: SessionRecord, callback: Callback): void;
  set(sid: string, session: SessionRecord, callback?: Callback): Promise<void> | undefined {
    try {
      this.#write(sid, session);
    } catch (err) {
      // A login refused by the limit fails the save; anything else throws, as express-session's MemoryStore does.
      if (!(err instanceof SessionLimitError)) throw err;
      return settle(Promise.reject(err), callback);
    }
    return settled(undefined, callback);
  }

  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: Callback): void;
  destroy(sid: string, callback?: Callback): Promise<void> | undefined {
    this.drop(sid);
    return settled(undefined, callback);
  }

  /**
   * Renews the stored cookie (and so the expiry) of an existing session; never creates one.
   * The saved text and so the version stay as they are: a conditional write compares the data,
   * and the cookie of whoever writes last wins, as in a merge.
   */
  touch(sid: string, session: SessionRecord): Promise<void>;
  touch(sid: string, session: SessionRecord, callback: Callback): void;
  touch(sid: string, session: SessionRecord, callback?: Callback): Promise<void> | undefined {
    const value = this.#live(sid);
    if (value !== undefined) {
      const cookie = storedCookie(session.cookie);
      if (cookie !== undefined) {
        const touched: Touched = { text: textOf(value), cookie, expires: expiryOf(session) };
        if (typeof value === 'string') this.#entries.set(sid, { data: touched, user: undefined });
        else value.data = touched;
        this.#used(sid);
      } else {
        // A record without a cookie object is no session, as it would be once stored and read.
        this.drop(sid);
      }
    }
    return settled(undefined, callback);
  }

  /** Every live session, as an object of ID to record (as express-session's MemoryStore returns). */
  all(): Promise<Record<string, SessionRecord>>;
  all(callback: Callback<Record<string, SessionRecord>>): void;
  all(callback?: Callback<Record<string, SessionRecord>>): Promise<Record<string, SessionRecord>> | undefined {
    const out: Record<string, SessionRecord> = Object.create(null);
    const now = Date.now();
    for (const sid of [...this.#entries.keys()]) {
      const current = this.#read(sid, now);
      if (current) out[sid] = current.record;
    }
    return settled(out, callback);
  }

  ids(): Promise<string[]>;
  ids(callback: Callback<string[]>): void;
  ids(callback?: Callback<string[]>): Promise<string[]> | undefined {
    return settle(this.all().then((all) => Object.keys(all)), callback);
  }

  length(): Promise<number>;
  length(callback: Callback<number>): void;
  length(callback?: Callback<number>): Promise<number> | undefined {
    return settle(this.all().then((all) => Object.keys(all).length), callback);
  }

  clear(): Promise<void>;
  clear(callback: Callback): void;
  clear(callback?: Callback): Promise<void> | undefined {
    this.#entries.clear();
    this.users.clear();
    return settled(undefined, callback);
  }

  // The atomic primitive behind delta saves: this store is one process, so a check and a write
  // with no await between them are atomic.

  async getVersioned(sid: string): Promise<VersionedRecord | null> {
    return this.#read(sid, Date.now(), true);
  }

  async setIfVersion(sid: string, version: string, record: SessionRecord): Promise<ConditionalWrite> {
    // Compared as text first: the record is parsed only to hand it back on a conflict.
    const value = this.#entries.get(sid);
    if (value !== undefined && textOf(value) === version && this.#live(sid)) {
      return { written: true, version: this.#write(sid, record) };
    }
    return { written: false, current: this.#read(sid) };
  }

  // The user index.

  /** True when the store was given a `userId` option. */
  get indexesUsers(): boolean {
    return typeof this.userId === 'function';
  }

  /** The user a record is filed under (as a string), or undefined. */
  userIdOf(record: SessionRecord): string | undefined {
    return userKeyOf(this.userId, record);
  }

  /** Ends one session (one device): destroys it and drops it from its user's index. */
  async destroySession(sid: string): Promise<void> {
    this.drop(sid);
  }

  private get index(): UserIndexBackend {
    return {
      members: async (user) => {
        const ids = this.users.get(userHash(user));
        return ids === undefined ? [] : typeof ids === 'string' ? [ids] : [...ids];
      },
      remove: async (user, ids) => {
        const hash = userHash(user);
        for (const id of ids) {
          // Another user's session under the same hash stays filed.
          const value = this.#entries.get(id);
          if (typeof value === 'object' && value.user === hash) continue;
          this.#unfile(hash, id);
        }
      },
      load: async (id) => this.#read(id)?.record ?? null,
      loadMany: async (ids) => {
        const now = Date.now();
        return ids.map((id) => this.#read(id, now)?.record ?? null);
      },
      destroy: async (id) => this.drop(id),
      destroyMany: async (ids) => {
        for (const id of ids) this.drop(id);
      },
    };
  }

  listUserSessions(userId: string | number): Promise<UserSession[]> {
    return listUserSessions(this.index, this.userId, userId);
  }

  /**
   * Ends every live session of a user (but `except`), as the user index of every store does,
   * reading each filed session once and building no listing of them.
   */
  async destroyUserSessions(userId: string | number, options: { except?: string | string[] } = {}): Promise<number> {
    if (!this.userId) throw new UserIdOptionError('destroyUserSessions');
    const except = options.except === undefined ? undefined : new Set(([] as string[]).concat(options.except));
    const key = String(userId);
    const hash = userHash(key);
    const filed = this.users.get(hash);
    if (filed === undefined) return 0;
    const now = Date.now();
    let ended = 0;
    for (const id of typeof filed === 'string' ? [filed] : [...filed]) {
      // An expired or unreadable session is dropped by the read.
      const current = this.#read(id, now);
      if (current && userKeyOf(this.userId, current.record) === key) {
        if (except?.has(id)) continue;
        this.drop(id);
        ended++;
      } else {
        // A stale entry; another user's session under the same hash stays filed.
        const value = this.#entries.get(id);
        if (!(typeof value === 'object' && value.user === hash)) this.#unfile(hash, id);
      }
    }
    return ended;
  }
}

/**
 * When a stored session expires (ms since the epoch, Infinity for never); NaN when its text is
 * no session. A text is read as far as its cookie's `expires` where it starts as sessionkit and
 * express-session write it, and parsed whole otherwise.
 */
function expiryOfValue(value: Value): number {
  const data = typeof value === 'string' ? value : value.data;
  if (typeof data !== 'string') return data.expires;
  const quick = expiryInText(data);
  if (quick !== undefined) return quick;
  const record = parseRecord(data);
  return record ? expiryOf(record) : NaN;
}

const COOKIE_START = '{"cookie":{';

/**
 * The expiry in a stored text that starts with a cookie of flat fields (strings, numbers,
 * booleans, null) and no escapes, holding at most one `expires`, a string or null; undefined
 * for any other text (then it is parsed whole). It walks the cookie's keys and values: with no
 * `\\` in it, every quote opens or closes a string. The text is still parsed whole when it is
 * read: this is for the sweep, touches and conditional writes.
 */
function expiryInText(text: string): number | undefined {
  if (!text.startsWith(COOKIE_START)) return undefined;
  let at = COOKIE_START.length;
  let expires = -1;
  for (;;) {
    // A key.
    if (text.charCodeAt(at) !== 34) return undefined; // '"'
    const keyEnd = text.indexOf('"', at + 1);
    if (keyEnd < 0 || text.charCodeAt(keyEnd + 1) !== 58) return undefined; // ':'
    const isExpires = keyEnd - at === 8 && text.startsWith('expires', at + 1);
    at = keyEnd + 2;
    // Its value.
    if (isExpires) {
      if (expires !== -1) return undefined; // JSON.parse keeps the last of repeated keys
      expires = at;
    }
    const first = text.charCodeAt(at);
    if (first === 34) {
      at = text.indexOf('"', at + 1) + 1;
      if (at === 0) return undefined;
    } else if (!(first === 45 || (first >= 48 && first <= 57) || first === 116 || first === 102 || first === 110)) {
      return undefined; // an object, an array, white space: not a flat field as JSON.stringify writes it
    } else {
      while (at < text.length) {
        const c = text.charCodeAt(at);
        if (c === 44 || c === 125) break; // ',' '}'
        at++;
      }
    }
    const next = text.charCodeAt(at);
    if (next === 125) break; // '}'
    if (next !== 44) return undefined;
    at++;
  }
  const backslash = text.indexOf('\\', COOKIE_START.length);
  if (backslash !== -1 && backslash < at) return undefined;
  // JSON.parse keeps the last of repeated keys: a second cookie is left to it.
  if (text.includes('"cookie":', at)) return undefined;
  if (expires === -1) return Infinity;
  // As expiresOf reads it: null is no expiry; a number or a boolean is left to it.
  if (text.charCodeAt(expires) !== 34) return text.startsWith('null', expires) ? Infinity : undefined;
  return isoTime(text, expires + 1) ?? (Date.parse(text.slice(expires + 1, text.indexOf('"', expires + 1))) || undefined);
}

/**
 * The time of an ISO date as `toISOString` writes it (`2026-01-31T12:00:00.000Z`) at `at` in
 * `text` (ending there or at a quote), read digit by digit (Date.parse costs more than the rest
 * of a sweep, and much of a get); undefined for any other form, and for the days and hours
 * Date.parse would judge differently.
 */
function isoTime(text: string, at: number): number | undefined {
  if (
    text.charCodeAt(at + 4) !== 45 || text.charCodeAt(at + 7) !== 45 || text.charCodeAt(at + 10) !== 84 ||
    text.charCodeAt(at + 13) !== 58 || text.charCodeAt(at + 16) !== 58 || text.charCodeAt(at + 19) !== 46 ||
    text.charCodeAt(at + 23) !== 90 || !(at + 24 === text.length || text.charCodeAt(at + 24) === 34)
  ) {
    return undefined;
  }
  const year = digits(text, at, 4);
  const month = digits(text, at + 5, 2);
  const day = digits(text, at + 8, 2);
  const hour = digits(text, at + 11, 2);
  const minute = digits(text, at + 14, 2);
  const second = digits(text, at + 17, 2);
  const ms = digits(text, at + 20, 3);
  // Date.UTC reads years below 100 as 19xx; days past the 28th may not be in the month.
  if (!(year >= 100 && month >= 1 && month <= 12 && day >= 1 && day <= 28 && hour <= 23 && minute <= 59 && second <= 59 && ms >= 0)) {
    return undefined;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/** The number written by `count` decimal digits at `at`; NaN when one is not a digit. */
function digits(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return n;
}

/** A record's expiry in ms since the epoch; Infinity when it has none (or none readable). */
function expiryOf(record: SessionRecord): number {
  const expires = record.cookie?.expires;
  if (typeof expires === 'string' && expires.length === 24) {
    const time = isoTime(expires, 0);
    if (time !== undefined) return time;
  }
  return expiresOf(record)?.getTime() ?? Infinity;
}

/**
 * What a touch keeps of a cookie, as JSON would keep it; undefined when it is not an object
 * (then the record is no session). A Cookie's fields are primitives and a Date, copied directly:
 * JSON.stringify through a Cookie's toJSON costs more than all the rest of a touch.
 */
function storedCookie(cookie: unknown): StoredCookie | undefined {
  if (cookie instanceof Cookie) {
    const copy: Record<string, string | number | boolean | null> = {};
    const data = cookie.toJSON() as unknown as Record<string, unknown>;
    for (const key in data) {
      const value = data[key];
      if (value === undefined) continue;
      if (value instanceof Date) copy[key] = dateJSON(value);
      else if (typeof value === 'number') copy[key] = Number.isFinite(value) ? value : null;
      else if (typeof value === 'string' || typeof value === 'boolean' || value === null) copy[key] = value;
      else return jsonObject(cookie);
    }
    return copy;
  }
  return jsonObject(cookie);
}

const DATE_TO_JSON = Date.prototype.toJSON;
const DATE_TO_ISO = Date.prototype.toISOString;
const DATE_VALUE_OF = Date.prototype.valueOf;
const LAST_ISO_TIME = 253402300800000; // 10000-01-01T00:00:00.000Z

/**
 * `date.toJSON()`, as JSON.stringify would write it: the ISO text of a Date whose methods are
 * the built-in ones is written digit by digit (the built-in toJSON costs most of a touch), any
 * other Date is asked.
 */
function dateJSON(date: Date): string | null {
  if (date.toJSON !== DATE_TO_JSON || date.toISOString !== DATE_TO_ISO || date.valueOf !== DATE_VALUE_OF) return date.toJSON();
  const time = date.getTime();
  if (!Number.isFinite(time)) return null;
  return time >= 0 && time < LAST_ISO_TIME ? isoText(time) : date.toISOString();
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/**
 * `new Date(time).toISOString()` for a time from 1970 to 9999 (days to a date as in Howard Hinnant's civil_from_days).
 * @internal exported for its tests
 */
export function isoText(time: number): string {
  const days = Math.floor(time / 86_400_000);
  let rest = time - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  const ms = rest - second * 1000;
  const text =
    `${year < 1000 ? `000${year}`.slice(-4) : year}-${pad2(month)}-${pad2(day)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}.` +
    `${ms < 10 ? `00${ms}` : ms < 100 ? `0${ms}` : ms}Z`;
  // Reading a character makes V8 keep the text as one flat string rather than the tree of
  // its pieces (several times its size, for as long as the touch is kept).
  text.charCodeAt(0);
  return text;
}

function jsonObject(value: unknown): string | undefined {
  const text = JSON.stringify(value);
  return text !== undefined && text.charCodeAt(0) === 123 ? text : undefined; // '{'
}

let warned = false;

/** The one-time warning for an unbounded MemoryStore in production. */
export function warnIfUnboundedInProduction(store: unknown): void {
  if (warned || process.env.NODE_ENV !== 'production') return;
  if (store instanceof MemoryStore && store.max === Infinity) {
    warned = true;
    console.warn(
      'Warning: sessionkit MemoryStore without a `max` is running with NODE_ENV=production. ' +
        'It keeps every session in this process with no bound and loses them on restart; ' +
        'pass `new MemoryStore({ max })` or use a persistent store (SQLite, Redis, PostgreSQL, MySQL).',
    );
  }
}

