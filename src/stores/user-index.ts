import { UserIdOptionError } from '../errors.js';
import { META_KEY, metaOf } from '../core/meta.js';
import { expiresOf, type SessionRecord, type UserSession } from './contract.js';

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

export async function listUserSessions(
  backend: UserIndexBackend,
  userId: UserIdOf | undefined,
  user: string | number,
  method = 'listUserSessions',
): Promise<UserSession[]> {
  if (!userId) throw new UserIdOptionError(method);
  const key = String(user);
  const ids = await backend.members(key);
  const live: UserSession[] = [];
  const stale: string[] = [];
  const records = backend.loadMany ? await backend.loadMany(ids) : await Promise.all(ids.map((id) => backend.load(id)));
  ids.forEach((id, i) => {
    const record = records[i];
    if (record && userKeyOf(userId, record) === key) {
      live.push(userSession(id, record));
    } else {
      stale.push(id);
    }
  });
  if (stale.length) await backend.remove(key, stale);
  return live;
}

export async function destroyUserSessions(
  backend: UserIndexBackend,
  userId: UserIdOf | undefined,
  user: string | number,
  options: { except?: string | string[] } = {},
): Promise<number> {
  const except = new Set(options.except === undefined ? [] : ([] as string[]).concat(options.except));
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
