import { SessionLimitError, UserIdOptionError } from '../errors.js';
import { META_KEY, metaOf } from '../core/meta.js';
import { expiresOf, type SessionRecord, type UserIndexOptions, type UserSession } from './contract.js';

/**
 * The user index, written once for every store: a store keeps, per user, a set of session IDs
 * (added to when a session is written, never trusted on its own), and the listing checks each
 * ID against its live record. So a session whose user changed (a logout, a login as someone
 * else), that was destroyed or that expired is never listed, and its stale entry is dropped.
 */
export interface UserIndexBackend {
  /** The session IDs filed under a user (may include stale ones). */
  members(user: string): Promise<string[]>;
  /** Drops IDs from a user's entry. */
  remove(user: string, ids: string[]): Promise<void>;
  /** Loads a live record, or null when missing or expired. */
  load(id: string): Promise<SessionRecord | null>;
  /** Destroys a session. */
  destroy(id: string): Promise<void>;
  /** Loads many live records in one go (in the order of `ids`), where the store can: else `load` each. */
  loadMany?(ids: string[]): Promise<Array<SessionRecord | null>>;
  /** Destroys many sessions in one go, where the store can: else `destroy` each. */
  destroyMany?(ids: string[]): Promise<void>;
  /**
   * True when `remove` may run beside the destroying (in the same round trip, as one server
   * runs the commands in their order): `destroyUserSessions` then drops the stale entries and
   * the ended sessions with one `remove` sent with the destroying. Default: `remove` runs
   * after the destroying, and after the listing's own for the stale entries.
   */
  removeBesideDestroy?: boolean;
}

export type UserIdOf = (data: SessionRecord) => string | number | undefined | null;

/** The user key a record is filed under, or undefined for an anonymous one. */
export function userKeyOf(userId: UserIdOf | undefined, record: SessionRecord): string | undefined {
  if (!userId) return undefined;
  let id: unknown;
  try {
    id = userId(record);
  } catch {
    return undefined;
  }
  return id === undefined || id === null || id === '' ? undefined : String(id);
}

/** The IDs filed under a user whose records are live sessions of that user (with their records), and the stale rest. */
async function readIndex(
  backend: UserIndexBackend,
  userId: UserIdOf,
  key: string,
): Promise<{ ids: string[]; records: Array<SessionRecord | null>; live: number[]; stale: string[] }> {
  const ids = await backend.members(key);
  const live: number[] = [];
  const stale: string[] = [];
  const records = backend.loadMany ? await backend.loadMany(ids) : await Promise.all(ids.map((id) => backend.load(id)));
  ids.forEach((id, i) => {
    const record = records[i];
    if (record && userKeyOf(userId, record) === key) live.push(i);
    else stale.push(id);
  });
  return { ids, records, live, stale };
}

export async function listUserSessions(
  backend: UserIndexBackend,
  userId: UserIdOf | undefined,
  user: string | number,
  method = 'listUserSessions',
): Promise<UserSession[]> {
  if (!userId) throw new UserIdOptionError(method);
  const key = String(user);
  const { ids, records, live, stale } = await readIndex(backend, userId, key);
  if (stale.length) await backend.remove(key, stale);
  return live.map((i) => userSession(ids[i]!, records[i]!));
}

export async function destroyUserSessions(
  backend: UserIndexBackend,
  userId: UserIdOf | undefined,
  user: string | number,
  options: { except?: string | string[] } = {},
): Promise<number> {
  const except = new Set(options.except === undefined ? [] : ([] as string[]).concat(options.except));
  if (backend.removeBesideDestroy && userId) {
    // One round trip for the ending and the unfiling: the stale entries go with the ended ones.
    const key = String(user);
    const { ids, live, stale } = await readIndex(backend, userId, key);
    const ending = live.map((i) => ids[i]!).filter((id) => !except.has(id));
    const drops = stale.concat(ending);
    const destroying = backend.destroyMany ? backend.destroyMany(ending) : Promise.all(ending.map((id) => backend.destroy(id)));
    await Promise.all([destroying, drops.length ? backend.remove(key, drops) : undefined]);
    return ending.length;
  }
  const sessions = await listUserSessions(backend, userId, user, 'destroyUserSessions');
  const ending = sessions.filter((s) => !except.has(s.id)).map((s) => s.id);
  if (backend.destroyMany) await backend.destroyMany(ending);
  else await Promise.all(ending.map((id) => backend.destroy(id)));
  if (ending.length) await backend.remove(String(user), ending);
  return ending.length;
}

/** A listing entry: the record's data without the meta, and the device the meta describes. */
export function userSession(id: string, record: SessionRecord): UserSession {
  const meta = metaOf(record);
  let data = record;
  if (META_KEY in record) {
    data = { ...record };
    delete data[META_KEY];
  }
  const entry: UserSession = {
    id, data, expires: expiresOf(record),
    createdAt: meta ? new Date(meta.created) : null,
    lastSeenAt: meta ? new Date(meta.seen) : null,
  };
  if (typeof meta?.ua === 'string') entry.userAgent = meta.ua;
  if (typeof meta?.ip === 'string') entry.ip = meta.ip;
  return entry;
}

/** A store's `maxSessionsPerUser` and `onLimit`, checked. */
export interface SessionLimit {
  max: number;
  onLimit: 'evict-oldest' | 'refuse';
}

/**
 * The limit a store's options ask for, or undefined for none. A TypeError names the option
 * that is wrong: `maxSessionsPerUser` must be a positive integer and needs `userId`, `onLimit`
 * is `'evict-oldest'` or `'refuse'`.
 */
export function sessionLimitOf(options: UserIndexOptions, store: string): SessionLimit | undefined {
  const { maxSessionsPerUser: max, onLimit } = options;
  if (onLimit !== undefined && onLimit !== 'evict-oldest' && onLimit !== 'refuse') {
    throw new TypeError(`${store}: onLimit option must be 'evict-oldest' or 'refuse'; got ${String(onLimit)}`);
  }
  if (max === undefined) {
    if (onLimit !== undefined) throw new TypeError(`${store}: onLimit option needs maxSessionsPerUser`);
    return undefined;
  }
  if (!(Number.isInteger(max) && max > 0)) {
    throw new TypeError(`${store}: maxSessionsPerUser option must be a positive integer; got ${String(max)}`);
  }
  if (typeof options.userId !== 'function') {
    throw new TypeError(`${store}: maxSessionsPerUser option needs the userId option (a function that returns the user of a session)`);
  }
  return { max, onLimit: onLimit ?? 'evict-oldest' };
}

/** What a login under a limit does to the user's index: the entries to drop, and the sessions to end. */
export interface LoginPlan {
  /** Entries of the index that are no live session of the user (destroyed, expired, another user's): dropped. */
  stale: string[];
  /** The user's oldest live sessions, ended so that the user has `max` once the login is written. */
  evict: string[];
}

/**
 * The plan of a login of session `sid` as `user`, from the IDs filed under the user (in index
 * order) and their records (null when missing or expired): only live sessions of the user count.
 * Evict-oldest ends the oldest by `meta.created` (a record without meta is older than any with
 * one), then by index order; refuse throws a SessionLimitError when the user is at the limit.
 * `sid` itself, if filed, is neither counted nor dropped.
 */
export function planLogin(
  sid: string,
  user: string,
  ids: string[],
  records: Array<SessionRecord | null>,
  userId: UserIdOf | undefined,
  limit: SessionLimit,
): LoginPlan {
  const stale: string[] = [];
  const live: Array<{ id: string; created: number; at: number }> = [];
  ids.forEach((id, at) => {
    if (id === sid) return;
    const record = records[at];
    if (record && userKeyOf(userId, record) === user) {
      live.push({ id, created: metaOf(record)?.created ?? -Infinity, at });
    } else {
      stale.push(id);
    }
  });
  const over = live.length - limit.max + 1;
  if (over <= 0) return { stale, evict: [] };
  if (limit.onLimit === 'refuse') throw new SessionLimitError(user, limit.max);
  live.sort((a, b) => a.created - b.created || a.at - b.at);
  return { stale, evict: live.slice(0, over).map((s) => s.id) };
}
