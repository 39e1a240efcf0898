import type { Callback } from '../core/callback.js';
import type { SessionRecord } from '../core/store.js';

/** The least a store must do for revocation: express-session's `get` and `set`, in callback form. */
export interface RevocationStore {
  get(sid: string, callback: Callback<SessionRecord | null | undefined>): void;
  set(sid: string, session: SessionRecord, callback?: Callback): void;
}

/** The `revocation` option of `cookieSession()`. */
export interface RevocationOptions {
  /** Where each user's revocation time is kept: any sessionkit store or express-session store. */
  store: RevocationStore;
  /**
   * The user a session belongs to, read from its data (with its `cookie`, as a store's `userId`
   * option reads a record: the same function serves both); undefined or null for a session of
   * nobody, never revoked.
   */
  userId: (data: SessionRecord) => string | number | undefined | null;
  /**
   * Milliseconds a user's revocation time, once read, is trusted before it is read again. Default 0:
   * read on every request that brings a user's cookie. A revocation then takes up to this long on
   * other processes (this process knows at once).
   */
  cacheMs?: number;
}

/** The key of a user's revocation record in the store. */
export function revocationKey(userId: string): string {
  return `sessionkit:revoked:${userId}`;
}

/** Users whose revocation time is kept in memory at once (with cacheMs): the oldest entries go first. */
const MAX_CACHED_USERS = 10_000;

/** A user's revocation time as read: `epoch` undefined when the user's cookies were never revoked. */
interface Cached {
  epoch: number | undefined;
  until: number;
}

/**
 * Revocation of a user's sealed cookies. A seal cannot be recalled, so `revoke` stores the time
 * (the user's epoch) and every request that brings a cookie of that user compares the time
 * its session was created with it: created before, and the cookie is no session.
 */
export class Revocation {
  private readonly store: RevocationStore;
  private readonly userIdOf: RevocationOptions['userId'];
  private readonly cacheMs: number;
  private readonly cache = new Map<string, Cached>();
  /** The longest seal written by this middleware since it started, beyond what the options tell. */
  private longestSealed = 0;

  constructor(options: RevocationOptions, private readonly longestSeal: () => number) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('revocation option must be an object: { store, userId, cacheMs? }');
    }
    const { store, userId, cacheMs } = options;
    if (!store || typeof store.get !== 'function' || typeof store.set !== 'function') {
      throw new TypeError('revocation.store must be a session store (with get and set)');
    }
    if (typeof userId !== 'function') {
      throw new TypeError('revocation.userId must be a function of the session data that returns the user ID');
    }
    if (cacheMs !== undefined && !(typeof cacheMs === 'number' && Number.isFinite(cacheMs) && cacheMs >= 0)) {
      throw new TypeError(`revocation.cacheMs must be a number of milliseconds, 0 or more; got ${String(cacheMs)}`);
    }
    this.store = store;
    this.userIdOf = userId;
    this.cacheMs = cacheMs ?? 0;
  }

  /** The user of a session's data, as a string; undefined for none. Throws what the app's function throws. */
  userOf(data: SessionRecord): string | undefined {
    const id = this.userIdOf(data);
    if (id === undefined || id === null || id === '') return undefined;
    if (typeof id !== 'string' && typeof id !== 'number') {
      throw new TypeError(`revocation.userId must return a string, a number, undefined or null; got ${typeof id}`);
    }
    return String(id);
  }

  /** Notes how long a seal just written stays valid, so that a revocation outlives it. */
  sealed(lifetime: number): void {
    if (lifetime > this.longestSealed) this.longestSealed = lifetime;
  }

  /** The user's epoch: cookies of theirs created before it are revoked; undefined when never revoked. */
  epochOf(userId: string, done: (err: unknown, epoch?: number) => void): void {
    const now = Date.now();
    if (this.cacheMs > 0) {
      const cached = this.cache.get(userId);
      if (cached && cached.until > now) {
        done(null, cached.epoch);
        return;
      }
    }
    const key = revocationKey(userId);
    const answer = (err: unknown, record?: SessionRecord | null) => {
      if (err) {
        done(err);
        return;
      }
      const epoch: unknown = record ? record.epoch : undefined;
      if (record && !(typeof epoch === 'number' && Number.isFinite(epoch))) {
        // Fails closed: a record under this key that is not a revocation cannot vouch for the cookie.
        done(new Error(`sessionkit/cookie: the revocation record ${key} has no epoch`));
        return;
      }
      this.remember(userId, epoch as number | undefined, now);
      done(null, epoch as number | undefined);
    };
    let answered = false;
    try {
      this.store.get(key, (err, record) => {
        if (answered) return;
        answered = true;
        answer(err, record);
      });
    } catch (err) {
      if (!answered) {
        answered = true;
        done(err);
      }
    }
  }

  /** Stores the user's epoch (now): every cookie of theirs created until now is no session any more. */
  async revoke(userId: string | number): Promise<void> {
    if (!((typeof userId === 'string' && userId !== '') || (typeof userId === 'number' && Number.isFinite(userId)))) {
      throw new TypeError(`revokeUserCookies needs a user ID (a string or a number); got ${String(userId)}`);
    }
    const user = String(userId);
    const epoch = Date.now();
    // The record must outlive every seal that was valid when it was written (a later cookie
    // carries a later `created`), plus the time other processes may trust a cached answer.
    const lifetime = Math.max(this.longestSeal(), this.longestSealed) + this.cacheMs;
    const record: SessionRecord = {
      cookie: { originalMaxAge: lifetime, expires: new Date(epoch + lifetime), path: '/', httpOnly: true },
      epoch,
    };
    await new Promise<void>((resolve, reject) => {
      try {
        this.store.set(revocationKey(user), record, (err) => (err ? reject(err) : resolve()));
      } catch (err) {
        reject(err);
      }
    });
    this.remember(user, epoch, Date.now());
  }

  private remember(userId: string, epoch: number | undefined, now: number): void {
    if (this.cacheMs === 0) return;
    this.cache.delete(userId);
    if (this.cache.size >= MAX_CACHED_USERS) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(userId, { epoch, until: now + this.cacheMs });
  }
}
