import { settle, type Callback } from '../../core/callback.js';
import {
  expiresOf, parseRecord, Store,
  type ConditionalWrite, type SessionRecord, type UserIndexOptions, type UserSession, type VersionedRecord,
} from '../contract.js';
import { destroyUserSessions, listUserSessions, userKeyOf, type UserIndexBackend } from '../user-index.js';
import { DriverMissingError, StoreClosedError } from '../../errors.js';

/** The options every SQL store takes. */
export interface SqlStoreOptions extends UserIndexOptions {
  /** Creates the table (and the user index table) on first use when missing. Default true. */
  createTable?: boolean;
  /** Seconds a session whose cookie has no expiry (a browser-session cookie) is kept. Default 86400 (one day). */
  ttl?: number;
  /** Seconds between purges of expired rows (an unref'd timer); `false` or 0 turns them off. Default 900. */
  pruneInterval?: number | false;
  /** Rows deleted per statement while purging, so no purge holds locks for long. Default 1000. */
  pruneBatchSize?: number;
}

/** A stored session: its record's exact text and when the row expires (ms since the epoch). */
export interface StoredRow {
  text: string;
  expires: number;
}

/**
 * What a SQL store needs from its database, as plain statements. Every `now` and `expires` is
 * in milliseconds since the epoch; a row whose expiry is not after `now` is expired and must
 * be neither returned nor updated. `user`, when given, is filed in the user index table.
 */
export interface SqlBackend {
  /** Creates the session table (and, with a user index, its table) when missing; harmless when they exist. */
  createSchema(): Promise<void>;
  read(sid: string, now: number): Promise<StoredRow | null>;
  readAll(now: number): Promise<Array<StoredRow & { sid: string }>>;
  ids(now: number): Promise<string[]>;
  count(now: number): Promise<number>;
  /** Inserts or replaces a row. */
  write(sid: string, text: string, expires: number, user: string | undefined): Promise<void>;
  /** One conditional update: true when the live row's text was `version` and is now `text`. */
  writeIf(sid: string, version: string, text: string, expires: number, now: number, user: string | undefined): Promise<boolean>;
  /** Moves the expiry of a live row; never creates one. */
  renew(sid: string, expires: number, now: number): Promise<void>;
  remove(sid: string): Promise<void>;
  removeAll(): Promise<void>;
  /** Deletes up to `limit` expired rows (and their user index entries); returns how many. */
  pruneBatch(now: number, limit: number): Promise<number>;
  userMembers(user: string): Promise<string[]>;
  userRemove(user: string, sids: string[]): Promise<void>;
  /** Closes the connection (pool, database) if the store opened it; leaves one passed in open. */
  end(): Promise<void>;
}

const DAY = 86_400;
/** Node runs a longer interval every millisecond instead. */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** Loads a store's driver, an optional peer dependency, saying which package to install when it is missing. */
export async function loadDriver<T>(store: string, pkg: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    throw new DriverMissingError(store, pkg, err);
  }
}

/** Checks a table or schema name; it is always quoted when used, so any other character is safe. */
export function checkIdentifier(name: unknown, what: string, maxLength: number): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > maxLength || name.includes('\0')) {
    throw new TypeError(`${what} must be a non-empty string of at most ${maxLength} characters, without NUL; got ${JSON.stringify(name)}`);
  }
  return name;
}

/** Quotes an identifier with `quote` (`"` in standard SQL, a backtick in MySQL), doubling the quote inside. */
export function quoteIdentifier(name: string, quote: '"' | '`'): string {
  return quote + name.split(quote).join(quote + quote) + quote;
}

/** A session ID to write or delete; reads of anything but a string simply find no session. */
function checkId(sid: unknown): string {
  if (typeof sid !== 'string') throw new TypeError(`session id must be a string; got ${typeof sid}`);
  return sid;
}

function secondsOption(value: unknown, name: string, fallback: number, allowOff: boolean): number {
  if (value === undefined) return fallback;
  if (allowOff && (value === false || value === 0)) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${name} option must be a positive number of seconds${allowOff ? ', or false' : ''}; got ${String(value)}`);
  }
  return value;
}

/**
 * The behaviour the SQL stores share, written once: options and their defaults, the expiry of
 * a row, read-time expiry checks, the conditional write, the unref'd purge timer, the user
 * index and `close()`. Each store only turns these into its own statements (a {@link SqlBackend}).
 */
export abstract class SqlStore extends Store {
  private readonly createTable: boolean;
  private readonly ttlMs: number;
  private readonly pruneBatchSize: number;
  private readonly userId: UserIndexOptions['userId'];
  private backend: Promise<SqlBackend> | undefined;
  private schema: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pruning: Promise<number> | undefined;
  private closed = false;

  constructor(options: SqlStoreOptions, private readonly storeName: string) {
    super();
    this.createTable = options.createTable ?? true;
    this.ttlMs = secondsOption(options.ttl, 'ttl', DAY, false) * 1000;
    const pruneInterval = secondsOption(options.pruneInterval, 'pruneInterval', 900, true);
    if (pruneInterval > MAX_TIMER_SECONDS) {
      throw new TypeError(`pruneInterval option must be at most ${MAX_TIMER_SECONDS} seconds (Node's longest timer); got ${pruneInterval}`);
    }
    const batch = options.pruneBatchSize ?? 1000;
    if (!Number.isInteger(batch) || batch <= 0) {
      throw new TypeError(`pruneBatchSize option must be a positive integer; got ${String(batch)}`);
    }
    this.pruneBatchSize = batch;
    if (options.userId !== undefined && typeof options.userId !== 'function') {
      throw new TypeError('userId option must be a function of the session data');
    }
    this.userId = options.userId;
    if (pruneInterval > 0) {
      this.timer = setInterval(() => {
        this.prune().catch((err) => this.report(err));
      }, pruneInterval * 1000);
      this.timer.unref();
    }
  }

  /**
   * An error nobody awaits (the purge timer's, an idle connection's): emitted as 'error' when
   * someone listens, else dropped, since the next purge or query tries again and throwing
   * here would crash the process.
   */
  protected report(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /** Opens the connection (loading the driver); called once, on first use. */
  protected abstract connect(): Promise<SqlBackend>;

  /** Whether this store keeps a user index (the `userId` option), so the backend creates its table. */
  protected get indexesUsers(): boolean {
    return this.userId !== undefined;
  }

  /** The backend, connected and with its schema in place; a failed schema creation is retried next time. */
  private async ready(): Promise<SqlBackend> {
    if (this.closed) throw new StoreClosedError(this.storeName);
    const backend = await (this.backend ??= this.connect());
    if (this.createTable) {
      this.schema ??= backend.createSchema().catch((err) => {
        this.schema = undefined;
        throw err;
      });
      await this.schema;
    }
    return backend;
  }

  /** When a row of `record` expires: its cookie's expiry, or `ttl` from now for a browser-session cookie. */
  private expiresOf(record: SessionRecord, now: number): number {
    return expiresOf(record)?.getTime() ?? now + this.ttlMs;
  }

  /**
   * The record of a row. The row's expiry is the truth (a touch, here or by connect-pg-simple or
   * express-mysql-session, moves only the row's): a renewed row shows it in the cookie's `expires`.
   */
  private toRecord(row: StoredRow): SessionRecord | null {
    const record = parseRecord(row.text);
    const expires = expiresOf(record);
    if (record && expires && row.expires - expires.getTime() >= 1000) {
      record.cookie = { ...record.cookie, expires: new Date(row.expires).toISOString() };
    }
    return record;
  }

  private async readVersioned(sid: string): Promise<VersionedRecord | null> {
    if (typeof sid !== 'string') return null;
    const row = await (await this.ready()).read(sid, Date.now());
    if (!row) return null;
    const record = this.toRecord(row);
    return record ? { record, version: row.text } : null;
  }

  get(sid: string): Promise<SessionRecord | null>;
  get(sid: string, callback: Callback<SessionRecord | null | undefined>): void;
  get(sid: string, callback?: Callback<any>): any {
    return settle(this.readVersioned(sid).then((found) => found?.record ?? null), callback);
  }

  set(sid: string, session: SessionRecord): Promise<void>;
  set(sid: string, session: SessionRecord, callback: Callback): void;
  set(sid: string, session: SessionRecord, callback?: Callback): any {
    return settle(this.write(sid, session), callback);
  }

  private async write(sid: string, session: SessionRecord): Promise<void> {
    checkId(sid);
    const backend = await this.ready();
    const text = JSON.stringify(session);
    await backend.write(sid, text, this.expiresOf(session, Date.now()), userKeyOf(this.userId, session));
  }

  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: Callback): void;
  destroy(sid: string, callback?: Callback): any {
    return settle(this.ready().then((backend) => backend.remove(checkId(sid))), callback);
  }

  /** Renews the expiry of a live session (its row's, as connect-pg-simple does); never creates one. */
  touch(sid: string, session: SessionRecord, callback?: Callback): any {
    const renewing = this.ready().then((backend) => {
      const now = Date.now();
      return backend.renew(checkId(sid), this.expiresOf(session, now), now);
    });
    return settle(renewing, callback);
  }

  /** Every live session, as an object of ID to record (as express-session's MemoryStore returns). */
  all(callback?: Callback<Record<string, SessionRecord>>): any {
    const listing = this.ready().then(async (backend) => {
      const out: Record<string, SessionRecord> = Object.create(null);
      for (const row of await backend.readAll(Date.now())) {
        const record = this.toRecord(row);
        if (record) out[row.sid] = record;
      }
      return out;
    });
    return settle(listing, callback);
  }

  ids(callback?: Callback<string[]>): any {
    return settle(this.ready().then((backend) => backend.ids(Date.now())), callback);
  }

  length(callback?: Callback<number>): any {
    return settle(this.ready().then((backend) => backend.count(Date.now())), callback);
  }

  clear(callback?: Callback): any {
    return settle(this.ready().then((backend) => backend.removeAll()), callback);
  }

  // The atomic primitive behind delta saves: the stored text is the version, and the write is
  // one UPDATE conditioned on it, so the database decides which of two overlapping saves wins.

  getVersioned(sid: string): Promise<VersionedRecord | null> {
    return this.readVersioned(sid);
  }

  async setIfVersion(sid: string, version: string, record: SessionRecord): Promise<ConditionalWrite> {
    checkId(sid);
    const backend = await this.ready();
    const text = JSON.stringify(record);
    const now = Date.now();
    const user = userKeyOf(this.userId, record);
    if (await backend.writeIf(sid, version, text, this.expiresOf(record, now), now, user)) {
      return { written: true, version: text };
    }
    const current = await this.readVersioned(sid);
    // Someone wrote the very same text (or the driver counts only changed rows): nothing is lost.
    if (current && current.version === text) return { written: true, version: text };
    return { written: false, current };
  }

  // The user index.

  private get index(): UserIndexBackend {
    return {
      members: async (user) => (await this.ready()).userMembers(user),
      remove: async (user, ids) => (await this.ready()).userRemove(user, ids),
      load: async (id) => (await this.readVersioned(id))?.record ?? null,
      destroy: async (id) => (await this.ready()).remove(id),
    };
  }

  listUserSessions(userId: string | number): Promise<UserSession[]> {
    return listUserSessions(this.index, this.userId, userId);
  }

  destroyUserSessions(userId: string | number, options?: { except?: string | string[] }): Promise<number> {
    return destroyUserSessions(this.index, this.userId, userId, options);
  }

  // Purging and closing.

  /**
   * Deletes every expired row now, `pruneBatchSize` rows per statement and yielding between
   * statements, so requests are served throughout; returns how many rows it deleted. The timer
   * calls this every `pruneInterval`; a call while a purge runs joins it.
   */
  prune(): Promise<number> {
    this.pruning ??= this.pruneAll().finally(() => {
      this.pruning = undefined;
    });
    return this.pruning;
  }

  private async pruneAll(): Promise<number> {
    const backend = await this.ready();
    const now = Date.now();
    let total = 0;
    while (!this.closed) {
      const deleted = await backend.pruneBatch(now, this.pruneBatchSize);
      total += deleted;
      if (deleted < this.pruneBatchSize) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return total;
  }

  /**
   * Stops the purge timer and closes the connection if this store opened it (from a path, a
   * connection string or a URI); a pool or database passed in stays open. Later calls fail.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.pruning?.catch(() => undefined);
    const backend = await this.backend?.catch(() => undefined);
    await this.schema?.catch(() => undefined);
    await backend?.end();
  }
}
