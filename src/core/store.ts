import type { EventEmitter } from 'node:events';
import type { Callback } from './callback.js';
import type { CookieData } from './cookie.js';

/**
 * A session record as stores keep it: the session data plus its `cookie`, the same JSON
 * express-session writes, so stores and records move between the two libraries unchanged.
 */
export interface SessionRecord {
  cookie: CookieData;
  // What the app put in its session: stores and apps written for express-session read it freely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

/** A record as loaded, with the exact text it is stored as: the token a conditional write compares. */
export interface VersionedRecord {
  record: SessionRecord;
  version: string;
}

/** The outcome of a conditional write. */
export type ConditionalWrite =
  | { written: true; version: string }
  | { written: false; current: VersionedRecord | null };

/** A session of one user, as `listUserSessions` returns it. */
export interface UserSession {
  id: string;
  /** The session's data as stored, without sessionkit's own meta key. */
  data: SessionRecord;
  expires: Date | null;
  /** When the session was created, from its meta; null for a record written without meta. */
  createdAt: Date | null;
  /** When a request last came with it, from its meta; null for a record written without meta. */
  lastSeenAt: Date | null;
  /** The device's user agent, when the middleware's `devices` option recorded it. */
  userAgent?: string;
  /** The device's IP address, when the middleware's `devices` option recorded it. */
  ip?: string;
}

/** What every store takes in its options: how to find a session's user, for the user index. */
export interface UserIndexOptions {
  /** Returns the user a session belongs to, or undefined for an anonymous session. */
  userId?: (data: SessionRecord) => string | number | undefined | null;
  /**
   * At most this many live sessions per user (needs `userId`). Enforced by the store in the same
   * atomic write that files a session under its user, so concurrent logins cannot exceed it.
   */
  maxSessionsPerUser?: number;
  /**
   * What a login over `maxSessionsPerUser` does: `'evict-oldest'` (default) destroys the user's
   * oldest sessions (by creation) to make room; `'refuse'` writes nothing and fails the save
   * with a SessionLimitError.
   */
  onLimit?: 'evict-oldest' | 'refuse';
}

/**
 * What sessionkit's own stores offer beside the contract: the user index. The middleware reads
 * `userIdOf` to name the user in its events, and `indexesUsers` to know the store wants the
 * session meta (created, last seen) written.
 */
export interface UserIndexStore {
  /** True when the store was given a `userId` option. */
  readonly indexesUsers: boolean;
  /** The user a record belongs to, as the index files it (a string), or undefined. */
  userIdOf(record: SessionRecord): string | undefined;
  listUserSessions(userId: string | number): Promise<UserSession[]>;
  destroyUserSessions(userId: string | number, options?: { except?: string | string[] }): Promise<number>;
  /** Ends one session (one device): destroys it and drops it from its user's index. */
  destroySession(sid: string): Promise<void>;
}

export function isUserIndexStore(store: unknown): store is UserIndexStore {
  const s = store as Partial<UserIndexStore> | null;
  return !!s && typeof s.userIdOf === 'function' && typeof s.listUserSessions === 'function';
}

/**
 * The contract between the middleware and a store. The middleware calls only `get`, `set`,
 * `destroy` and, when present, `touch`, in their callback form, and listens for `connect` and
 * `disconnect`; so any express-session store works unmodified.
 *
 * sessionkit's own stores also implement {@link AtomicStore}: the middleware then saves a
 * loaded session with a conditional write, so overlapping requests keep each other's changes.
 */
export interface StoreContract extends EventEmitter {
  get(sid: string, callback: Callback<SessionRecord | null | undefined>): void;
  set(sid: string, session: SessionRecord, callback?: Callback): void;
  destroy(sid: string, callback?: Callback): void;
  touch?(sid: string, session: SessionRecord, callback?: Callback): void;
  all?(callback: Callback<Record<string, SessionRecord> | SessionRecord[] | null>): void;
  length?(callback: Callback<number>): void;
  clear?(callback?: Callback): void;
}

/** The primitive behind "no lost updates": a load that returns a version and a conditional write. */
export interface AtomicStore {
  /** The record and its stored text, or null when missing or expired. */
  getVersioned(sid: string): Promise<VersionedRecord | null>;
  /**
   * Writes `record` only when the stored text still equals `version`, atomically; never
   * creates a record that is gone (destroyed or expired). On a mismatch, returns the
   * current record (null when gone) so the caller can merge and try again.
   */
  setIfVersion(sid: string, version: string, record: SessionRecord): Promise<ConditionalWrite>;
}

export function isAtomicStore(store: unknown): store is AtomicStore {
  const s = store as Partial<AtomicStore> | null;
  return !!s && typeof s.getVersioned === 'function' && typeof s.setIfVersion === 'function';
}

/** The expiry of a record: its cookie's `expires`, as a Date, or null for none. */
export function expiresOf(record: SessionRecord | null | undefined): Date | null {
  const expires = record?.cookie?.expires;
  if (!expires) return null;
  const date = expires instanceof Date ? expires : new Date(expires);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * Parses a stored record: a JSON object with a `cookie` object. Anything else (bad JSON,
 * wrong shape) is no session. `__proto__` keys stay plain data and can pollute nothing.
 */
export function parseRecord(text: unknown): SessionRecord | null {
  if (typeof text !== 'string') {
    return isRecord(text) ? text : null;
  }
  try {
    const value = JSON.parse(text);
    return isRecord(value) ? value : null;
  } catch {
    return null;
  }
}

function isRecord(value: unknown): value is SessionRecord {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) &&
    typeof (value as SessionRecord).cookie === 'object' && (value as SessionRecord).cookie !== null
  );
}
