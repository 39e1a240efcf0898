import { settle, settled, type Callback } from '../core/callback.js';
import {
  expiresOf, parseRecord, Store,
  type ConditionalWrite, type SessionRecord, type UserIndexOptions, type UserSession, type VersionedRecord,
} from './contract.js';
import { Cookie } from '../core/cookie.js';
import { destroyUserSessions, listUserSessions, userKeyOf, type UserIndexBackend } from './user-index.js';

export interface MemoryStoreOptions extends UserIndexOptions {
  /** The most sessions kept; beyond it, the least recently used is evicted. Default: no limit. */
  max?: number;
  /** Milliseconds between sweeps of expired sessions (an unref'd timer); 0 turns them off. Default 60000. */
  checkPeriod?: number;
}

/**
 * A stored session: the text last saved (its version), when it expires (ms since the epoch,
 * Infinity for never), the cookie of a touch since that save (a touch, on every unmodified
 * request by default, then writes no record, and `get` checks the expiry without parsing) and
 * the user it is filed under. One object per session, the value of its ID in one Map, so a
 * session costs little more than its text, as in express-session's MemoryStore.
 */
interface Entry {
  text: string;
  expires: number;
  cookie: StoredCookie | undefined;
  user: string | undefined;
}

/** A touched cookie as JSON would keep it: a copy of its fields, or (for any other shape) its JSON text. */
type StoredCookie = Record<string, string | number | boolean | null> | string;

/**
 * A sweep runs in slices of about this many milliseconds (the clock read every SWEEP_CHECK
 * sessions), with a turn of the event loop between them: requests are served during a sweep
 * however many sessions the store holds.
 */
const SWEEP_SLICE_MS = 4;
const SWEEP_CHECK = 256;

/**
 * `MemoryStore#sessions`: the saved texts by session ID, a Map of ID to JSON text over the
 * store's entries. A text set here directly counts as saved: its expiry is read from it when
 * next needed, and it is filed under no user.
 */
class SessionTexts implements Map<string, string> {
  readonly #store: MemoryStore;
  readonly #map: Map<string, string | Entry>;

  constructor(store: MemoryStore, map: Map<string, string | Entry>) {
    this.#store = store;
    this.#map = map;
  }

  get size(): number {
    return this.#map.size;
  }

  get(sid: string): string | undefined {
    const value = this.#map.get(sid);
    return typeof value === 'object' ? value.text : value;
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

const textOf = (value: string | Entry): string => (typeof value === 'object' ? value.text : value);

function* texts(values: Iterable<string | Entry>): Generator<string, undefined> {
  for (const value of values) yield textOf(value);
}

function* pairs(entries: Iterable<[string, string | Entry]>): Generator<[string, string], undefined> {
  for (const [sid, value] of entries) yield [sid, textOf(value)];
}

/**
 * Sessions in this process's memory. Records are kept as their JSON text, so a change to
 * `req.session` never reaches the store before a save; expired sessions are swept by an
 * unref'd timer, in slices that let requests through; with `max`, the least recently used
 * session is evicted first.
 */
export class MemoryStore extends Store {
  readonly max: number;
  /** Session ID to its entry (or a text put in `sessions` directly), in least- to most-recently-used order. */
  readonly #entries = new Map<string, string | Entry>();
  /** Session ID to the text last saved (a touch since is kept beside it), in least- to most-recently-used order. */
  readonly sessions: Map<string, string> = new SessionTexts(this, this.#entries);
  /** User to the ID of their one session, or a Set of their IDs when they have several. */
  private readonly users = new Map<string, string | Set<string>>();
  private readonly userId: MemoryStoreOptions['userId'];
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
        if (typeof value === 'object' ? value.expires <= now : !this.#entryOf(sid, value, now)) {
          if (typeof value === 'object') this.drop(sid);
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

  #file(user: string, sid: string): void {
    const ids = this.users.get(user);
    if (ids === undefined) this.users.set(user, sid);
    else if (typeof ids === 'string') {
      if (ids !== sid) this.users.set(user, new Set([ids, sid]));
    } else ids.add(sid);
  }

  #unfile(user: string, sid: string): void {
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

  /**
   * The entry of a stored, unexpired session; an expired or unreadable one is dropped. A text
   * put in `sessions` directly is parsed once here to learn its expiry.
   */
  #entryOf(sid: string, value: string | Entry | undefined, now: number): Entry | undefined {
    if (value === undefined) return undefined;
    let entry: Entry;
    if (typeof value === 'object') entry = value;
    else {
      const record = parseRecord(value);
      if (!record) {
        this.#entries.delete(sid);
        return undefined;
      }
      entry = { text: value, expires: expiryOf(record), cookie: undefined, user: undefined };
      this.#entries.set(sid, entry);
    }
    if (entry.expires <= now) {
      this.drop(sid);
      return undefined;
    }
    return entry;
  }

  #live(sid: string, now = Date.now()): Entry | undefined {
    return this.#entryOf(sid, this.#entries.get(sid), now);
  }

  /** The stored record, with the cookie of a touch since its save; its version is the text saved. */
  #read(sid: string, now?: number): VersionedRecord | null {
    const entry = this.#live(sid, now);
    if (!entry) return null;
    const text = entry.text;
    const record = parseRecord(text);
    if (!record) {
      this.drop(sid);
      return null;
    }
    const cookie = entry.cookie;
    if (cookie !== undefined) record.cookie = typeof cookie === 'string' ? JSON.parse(cookie) : { ...cookie };
    return { record, version: text };
  }

  /** Most recently used goes last (only `max` needs the order). */
  #used(sid: string, entry: Entry): void {
    if (this.max !== Infinity) {
      this.#entries.delete(sid);
      this.#entries.set(sid, entry);
    }
  }

  #write(sid: string, record: SessionRecord): string {
    const text = JSON.stringify(record);
    const user = userKeyOf(this.userId, record);
    const previous = this.#entries.get(sid);
    const before = typeof previous === 'object' ? previous.user : undefined;
    if (previous !== undefined && this.max !== Infinity) this.#entries.delete(sid);
    this.#entries.set(sid, { text, expires: expiryOf(record), cookie: undefined, user });
    if (user !== before) {
      if (before !== undefined) this.#unfile(before, sid);
      if (user !== undefined) this.#file(user, sid);
    }
    while (this.#entries.size > this.max) this.drop(this.#entries.keys().next().value as string);
    return text;
  }

  get(sid: string): Promise<SessionRecord | null>;
  get(sid: string, callback: Callback<SessionRecord | null | undefined>): void;
  get(sid: string, callback?: Callback<SessionRecord | null>): Promise<SessionRecord | null> | undefined {
    const current = this.#read(sid);
    if (current) this.#used(sid, this.#entries.get(sid) as Entry);
    return settled(current ? current.record : null, callback);
  }

  set(sid: string, session: SessionRecord): Promise<void>;
  set(sid: string, session: SessionRecord, callback: Callback): void;
  set(sid: string, session: SessionRecord, callback?: Callback): Promise<void> | undefined {
    this.#write(sid, session);
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
    const entry = this.#live(sid);
    if (entry) {
      const cookie = storedCookie(session.cookie);
      if (cookie !== undefined) {
        entry.cookie = cookie;
        entry.expires = expiryOf(session);
        this.#used(sid, entry);
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
    const current = this.#read(sid);
    if (current) this.#used(sid, this.#entries.get(sid) as Entry);
    return current;
  }

  async setIfVersion(sid: string, version: string, record: SessionRecord): Promise<ConditionalWrite> {
    // Compared as text first: the record is parsed only to hand it back on a conflict.
    const value = this.#entries.get(sid);
    if (value !== undefined && textOf(value) === version && this.#entryOf(sid, value, Date.now())) {
      return { written: true, version: this.#write(sid, record) };
    }
    return { written: false, current: this.#read(sid) };
  }

  // The user index.

  private get index(): UserIndexBackend {
    return {
      members: async (user) => {
        const ids = this.users.get(user);
        return ids === undefined ? [] : typeof ids === 'string' ? [ids] : [...ids];
      },
      remove: async (user, ids) => {
        for (const id of ids) {
          const value = this.#entries.get(id);
          if (typeof value === 'object' && value.user === user) value.user = undefined;
          this.#unfile(user, id);
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

  destroyUserSessions(userId: string | number, options?: { except?: string | string[] }): Promise<number> {
    return destroyUserSessions(this.index, this.userId, userId, options);
  }
}

/** A record's expiry in ms since the epoch; Infinity when it has none (or none readable). */
function expiryOf(record: SessionRecord): number {
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
      if (value instanceof Date) copy[key] = value.toJSON();
      else if (typeof value === 'number') copy[key] = Number.isFinite(value) ? value : null;
      else if (typeof value === 'string' || typeof value === 'boolean' || value === null) copy[key] = value;
      else return jsonObject(cookie);
    }
    return copy;
  }
  return jsonObject(cookie);
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

