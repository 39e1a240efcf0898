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
 * What the store knows of a session's saved text: when it expires (ms since the epoch,
 * Infinity for never) and, when it was touched since it was saved, the cookie of the touch as
 * JSON. A touch, on every unmodified request by default, then writes no record and `get`
 * checks the expiry without parsing.
 */
interface Life {
  /** The text this is about: a text put in `sessions` directly gets a new Life when next read. */
  text: string;
  expires: number;
  cookie: StoredCookie | undefined;
}

/** A touched cookie as JSON would keep it: a copy of its fields, or (for any other shape) its JSON text. */
type StoredCookie = Record<string, string | number | boolean | null> | string;

/**
 * Sessions in this process's memory. Records are kept as their JSON text, so a change to
 * `req.session` never reaches the store before a save; expired sessions are swept by an
 * unref'd timer; with `max`, the least recently used session is evicted first.
 */
export class MemoryStore extends Store {
  readonly max: number;
  /** Session ID to the text last saved (a touch since is in `lives`), in least- to most-recently-used order. */
  sessions = new Map<string, string>();
  private readonly lives = new Map<string, Life>();
  private readonly users = new Map<string, Set<string>>();
  /** The user each session is filed under, so a session leaving the store leaves the index too. */
  private readonly userOf = new Map<string, string>();
  private readonly userId: MemoryStoreOptions['userId'];
  private timer: NodeJS.Timeout | undefined;

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
      this.timer = setInterval(() => this.prune(), checkPeriod);
      this.timer.unref();
    }
  }

  /** Removes every expired session now (the timer does this every `checkPeriod`). */
  prune(): void {
    const now = Date.now();
    for (const sid of this.sessions.keys()) this.life(sid, now);
  }

  /** Removes a session and its entry in the user index. */
  private drop(sid: string): void {
    this.sessions.delete(sid);
    this.lives.delete(sid);
    this.unfile(sid);
  }

  private unfile(sid: string): void {
    const user = this.userOf.get(sid);
    if (user === undefined) return;
    this.userOf.delete(sid);
    const ids = this.users.get(user);
    ids?.delete(sid);
    if (ids?.size === 0) this.users.delete(user);
  }

  /** Stops the sweep timer. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * The life of a stored, unexpired session; an expired or unreadable one is dropped. A text
   * put in `sessions` directly is parsed once here to learn its expiry.
   */
  private life(sid: string, now = Date.now()): Life | undefined {
    const text = this.sessions.get(sid);
    if (text === undefined) return undefined;
    let life = this.lives.get(sid);
    if (life?.text !== text) {
      const record = parseRecord(text);
      if (!record) {
        this.drop(sid);
        return undefined;
      }
      life = { text, expires: expiryOf(record), cookie: undefined };
      this.lives.set(sid, life);
    }
    if (life.expires <= now) {
      this.drop(sid);
      return undefined;
    }
    return life;
  }

  /** The stored record, with the cookie of a touch since its save; its version is the text saved. */
  private read(sid: string, now?: number): VersionedRecord | null {
    const life = this.life(sid, now);
    if (!life) return null;
    const text = life.text;
    const record = parseRecord(text);
    if (!record) {
      this.drop(sid);
      return null;
    }
    if (life.cookie !== undefined) {
      record.cookie = typeof life.cookie === 'string' ? JSON.parse(life.cookie) : { ...life.cookie };
    }
    return { record, version: text };
  }

  /** Most recently used goes last (only `max` needs the order). */
  private used(sid: string, text: string): void {
    if (this.max !== Infinity) {
      this.sessions.delete(sid);
      this.sessions.set(sid, text);
    }
  }

  private write(sid: string, record: SessionRecord): string {
    const text = JSON.stringify(record);
    if (this.max !== Infinity) this.sessions.delete(sid);
    this.sessions.set(sid, text);
    this.lives.set(sid, { text, expires: expiryOf(record), cookie: undefined });
    while (this.sessions.size > this.max) {
      this.drop(this.sessions.keys().next().value as string);
    }
    const user = userKeyOf(this.userId, record);
    if (user !== this.userOf.get(sid)) {
      this.unfile(sid);
      if (user !== undefined) {
        let ids = this.users.get(user);
        if (!ids) this.users.set(user, (ids = new Set()));
        ids.add(sid);
        this.userOf.set(sid, user);
      }
    }
    return text;
  }

  get(sid: string): Promise<SessionRecord | null>;
  get(sid: string, callback: Callback<SessionRecord | null | undefined>): void;
  get(sid: string, callback?: Callback<any>): any {
    const current = this.read(sid);
    if (current) this.used(sid, current.version);
    return settled(current?.record ?? null, callback);
  }

  set(sid: string, session: SessionRecord): Promise<void>;
  set(sid: string, session: SessionRecord, callback: Callback): void;
  set(sid: string, session: SessionRecord, callback?: Callback): any {
    this.write(sid, session);
    return settled(undefined, callback);
  }

  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: Callback): void;
  destroy(sid: string, callback?: Callback): any {
    this.drop(sid);
    return settled(undefined, callback);
  }

  /**
   * Renews the stored cookie (and so the expiry) of an existing session; never creates one.
   * The saved text and so the version stay as they are: a conditional write compares the data,
   * and the cookie of whoever writes last wins, as in a merge.
   */
  touch(sid: string, session: SessionRecord, callback?: Callback): any {
    const life = this.life(sid);
    if (life) {
      const cookie = storedCookie(session.cookie);
      if (cookie !== undefined) {
        life.cookie = cookie;
        life.expires = expiryOf(session);
      } else {
        // A record without a cookie object is no session, as it would be once stored and read.
        this.drop(sid);
      }
      this.used(sid, life.text);
    }
    return settled(undefined, callback);
  }

  /** Every live session, as an object of ID to record (as express-session's MemoryStore returns). */
  all(callback?: Callback<Record<string, SessionRecord>>): any {
    const out: Record<string, SessionRecord> = Object.create(null);
    const now = Date.now();
    for (const sid of this.sessions.keys()) {
      const current = this.read(sid, now);
      if (current) out[sid] = current.record;
    }
    return settled(out, callback);
  }

  ids(callback?: Callback<string[]>): any {
    return settle(this.all().then((all: Record<string, SessionRecord>) => Object.keys(all)), callback);
  }

  length(callback?: Callback<number>): any {
    return settle(this.all().then((all: Record<string, SessionRecord>) => Object.keys(all).length), callback);
  }

  clear(callback?: Callback): any {
    this.sessions.clear();
    this.lives.clear();
    this.users.clear();
    this.userOf.clear();
    return settled(undefined, callback);
  }

  // The atomic primitive behind delta saves: this store is one process, so a check and a write
  // with no await between them are atomic.

  async getVersioned(sid: string): Promise<VersionedRecord | null> {
    const current = this.read(sid);
    if (current) this.used(sid, current.version);
    return current;
  }

  async setIfVersion(sid: string, version: string, record: SessionRecord): Promise<ConditionalWrite> {
    // Compared as text first: the record is parsed only to hand it back on a conflict.
    if (this.sessions.get(sid) === version && this.life(sid)) return { written: true, version: this.write(sid, record) };
    return { written: false, current: this.read(sid) };
  }

  // The user index.

  private get index(): UserIndexBackend {
    return {
      members: async (user) => [...(this.users.get(user) ?? [])],
      remove: async (user, ids) => {
        const set = this.users.get(user);
        if (!set) return;
        for (const id of ids) {
          set.delete(id);
          if (this.userOf.get(id) === user) this.userOf.delete(id);
        }
        if (set.size === 0) this.users.delete(user);
      },
      load: async (id) => this.read(id)?.record ?? null,
      destroy: async (id) => this.drop(id),
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

