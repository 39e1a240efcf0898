import { performance } from 'node:perf_hooks';
import { settle, type Callback } from '../../core/callback.js';
import {
  expiresOf, metaOf, parseRecord, Store,
  type ConditionalWrite, type SessionRecord, type UserIndexOptions, type UserIndexStore, type UserSession, type VersionedRecord,
} from '../contract.js';
import { userKeyOf, userSession } from '../user-index.js';
import { DriverMissingError, SessionLimitError, StoreClosedError, UserIdOptionError } from '../../errors.js';
import { withinDeadline, type Deadline } from './deadline.js';

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
  /**
   * Milliseconds an operation may take, waiting for a connection included; past it the
   * operation fails with a StoreTimeoutError (code `ETIMEDOUT`). 0: no limit. Default 2000.
   */
  commandTimeout?: number;
}

/** A session filed under a user, as a login over the user's limit sees it. */
export interface FiledSession {
  sid: string;
  /** The text of its live row; null when the row is gone or expired. */
  text: string | null;
  /** When its live row expires (ms since the epoch); null when the row is gone or expired. */
  expires: number | null;
  /** When it was filed (a login's order; 0 for an entry filed without a limit in force). */
  filed: number;
}

/** A write that files a session under its user within `maxSessionsPerUser`. */
export interface LimitedWrite {
  sid: string;
  text: string;
  expires: number;
  now: number;
  user: string;
  /** The filing order given to a new entry. */
  filed: number;
  /** For a conditional write: the text the live row must still have. */
  version?: string;
}

/**
 * What a login may do, decided from the user's filed sessions: the sessions to destroy to make
 * room and the stale entries to drop; `login` false for a re-save of a session already filed
 * (which writes its row and nothing else). Throws a SessionLimitError to write nothing.
 */
export type Admit = (filed: FiledSession[]) => { login: boolean; evict: string[]; drop: string[] };

/** A stored session: its record's exact text and when the row expires (ms since the epoch). */
export interface StoredRow {
  text: string;
  expires: number;
}

/**
 * What a SQL store needs from its database, as plain statements. Every `now` and `expires` is
 * in milliseconds since the epoch; a row whose expiry is not after `now` is expired and must
 * be neither returned nor updated. `user`, when given, is filed in the user index table.
 * Each call runs under the caller's deadline `d`: it takes its connections through
 * `d.checkout` and waits on the server through `d.guard`, so a call past its time withdraws.
 */
export interface SqlBackend {
  /** Creates the session table (and, with a user index, its table) when missing; harmless when they exist. */
  createSchema(d: Deadline): Promise<void>;
  read(d: Deadline, sid: string, now: number): Promise<StoredRow | null>;
  readAll(d: Deadline, now: number): Promise<Array<StoredRow & { sid: string }>>;
  ids(d: Deadline, now: number): Promise<string[]>;
  count(d: Deadline, now: number): Promise<number>;
  /** Inserts or replaces a row, and files its user; the row is never written without its user filed. */
  write(d: Deadline, sid: string, text: string, expires: number, user: string | undefined): Promise<void>;
  /** One conditional update: true when the live row's text was `version` and is now `text`. */
  writeIf(d: Deadline, sid: string, version: string, text: string, expires: number, now: number, user: string | undefined): Promise<boolean>;
  /**
   * A write (conditional when `w.version` is given) that files its session under `w.user`, in
   * one transaction holding a lock on that user, so two logins of one user never decide at
   * once, even when the user has no row yet: the conditional update first (false, and nothing
   * changed, when it does not apply); then the user's filed sessions, given to `admit`; then
   * its evictions and drops, the row and the entry. `admit` throwing rolls everything back.
   */
  writeLimited(d: Deadline, w: LimitedWrite, admit: Admit): Promise<boolean>;
  /**
   * The conditional update of a session already filed under `user`, in one statement: true
   * when the live row's text was `version`, the entry (user, sid) is there, and the row is now
   * `text`. A re-save under a limit, which needs no lock.
   */
  writeIfFiled(d: Deadline, sid: string, version: string, text: string, expires: number, now: number, user: string): Promise<boolean>;
  /** Moves the expiry of a live row; never creates one. */
  renew(d: Deadline, sid: string, expires: number, now: number): Promise<void>;
  remove(d: Deadline, sid: string): Promise<void>;
  /** Deletes the rows of `sids` and their user index entries, in one statement or transaction. */
  removeMany(d: Deadline, sids: string[]): Promise<void>;
  removeAll(d: Deadline): Promise<void>;
  /** Deletes up to `limit` expired rows (and their user index entries); returns how many. */
  pruneBatch(d: Deadline, now: number, limit: number): Promise<number>;
  /** The sessions filed under a user, each with its live row (if any), in one statement. */
  userFiled(d: Deadline, user: string, now: number): Promise<FiledSession[]>;
  userRemove(d: Deadline, user: string, sids: string[]): Promise<void>;
  /** Closes the connection (pool, database) if the store opened it; leaves one passed in open. */
  end(d: Deadline): Promise<void>;
}

const DAY = 86_400;

/** The filing order of logins: milliseconds, with room for a thousand logins a millisecond. */
let lastFiled = 0;
function nextFiled(now: number): number {
  lastFiled = Math.max(lastFiled + 1, now * 1000);
  return lastFiled;
}
/** Session IDs per statement when loading or ending many at once, so no statement grows without bound. */
const MANY = 1000;

function slices<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
/** Node runs a longer interval every millisecond instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

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

/**
 * Takes an option of the store a user migrates from under its name here: `from` and `to` name
 * the same setting, `convert` turns its value into this store's units. Giving both is refused.
 */
export function renameOption(options: Record<string, unknown>, from: string, to: string, store: string, convert: (value: unknown) => unknown = (v) => v): void {
  if (options[from] === undefined) return;
  if (options[to] !== undefined) {
    throw new TypeError(`${store}: the ${from} and ${to} options mean the same; give only ${to}`);
  }
  options[to] = convert(options[from]);
  delete options[from];
}

/** Refuses an option of the store a user migrates from that has no equivalent here, saying what to do instead. */
export function refuseOption(options: Record<string, unknown>, name: string, store: string, instead: string): void {
  if (options[name] !== undefined) throw new TypeError(`${store}: the ${name} option is not supported; ${instead}`);
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
export abstract class SqlStore extends Store implements UserIndexStore {
  private readonly createTable: boolean;
  private readonly ttlMs: number;
  private readonly pruneBatchSize: number;
  private readonly userId: UserIndexOptions['userId'];
  private readonly maxSessionsPerUser: number | undefined;
  private readonly onLimit: 'evict-oldest' | 'refuse';
  /** Milliseconds each operation may take (0: no limit). */
  readonly commandTimeout: number;
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
    const max = options.maxSessionsPerUser;
    if (max !== undefined) {
      if (typeof max !== 'number' || !Number.isInteger(max) || max <= 0) {
        throw new TypeError(`maxSessionsPerUser option must be a positive integer; got ${String(max)}`);
      }
      if (this.userId === undefined) {
        throw new TypeError('maxSessionsPerUser option needs the userId option (a function that returns the user of a session)');
      }
    }
    this.maxSessionsPerUser = max;
    const onLimit = options.onLimit ?? 'evict-oldest';
    if (onLimit !== 'evict-oldest' && onLimit !== 'refuse') {
      throw new TypeError(`onLimit option must be 'evict-oldest' or 'refuse'; got ${JSON.stringify(onLimit)}`);
    }
    if (options.onLimit !== undefined && max === undefined) {
      throw new TypeError('onLimit option needs the maxSessionsPerUser option');
    }
    this.onLimit = onLimit;
    this.commandTimeout = options.commandTimeout ?? 2000;
    if (!(typeof this.commandTimeout === 'number' && Number.isFinite(this.commandTimeout) && this.commandTimeout >= 0 && this.commandTimeout <= MAX_TIMER_MS)) {
      throw new TypeError(`commandTimeout option must be milliseconds, from 0 (no limit) to ${MAX_TIMER_MS}; got ${String(options.commandTimeout)}`);
    }
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

  /**
   * For a driver that blocks the process while a statement runs: the milliseconds one purge
   * batch should take, its size adapted from batch to batch (at most `pruneBatchSize`).
   * Undefined: every batch is `pruneBatchSize` rows, the server doing the work while the
   * process serves requests.
   */
  protected get pruneSliceMs(): number | undefined {
    return undefined;
  }

  /** Whether this store keeps a user index (the `userId` option): the middleware then writes the session meta. */
  get indexesUsers(): boolean {
    return this.userId !== undefined;
  }

  /** The user a record is filed under (the `userId` option's answer, as a string), or undefined. */
  userIdOf(record: SessionRecord): string | undefined {
    return userKeyOf(this.userId, record);
  }

  /**
   * Runs one operation under `commandTimeout`. A store whose driver blocks the process until the
   * database answers (SQLite) bounds the wait in the driver instead.
   */
  protected bounded<T>(run: (d: Deadline) => Promise<T>): Promise<T> {
    return withinDeadline(this.commandTimeout, this.storeName, run);
  }

  /**
   * The backend, connected and with its schema in place. The schema is created once, under a
   * deadline of its own (it is shared by every operation waiting for it); if that fails, the
   * next operation tries again.
   */
  private async ready(): Promise<SqlBackend> {
    if (this.closed) throw new StoreClosedError(this.storeName);
    // A failed connect (a connection passed in as a promise that rejected) is tried again next time.
    const backend = await (this.backend ??= this.connect().catch((err) => {
      this.backend = undefined;
      throw err;
    }));
    if (this.createTable) {
      this.schema ??= this.bounded((d) => backend.createSchema(d)).catch((err) => {
        this.schema = undefined;
        throw err;
      });
      await this.schema;
    }
    return backend;
  }

  /** One operation on the ready backend, under `commandTimeout` (the wait for `ready` included). */
  private op<T>(run: (backend: SqlBackend, d: Deadline) => Promise<T>): Promise<T> {
    return this.bounded(async (d) => run(await this.ready(), d));
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

  private async readVersioned(backend: SqlBackend, d: Deadline, sid: string): Promise<VersionedRecord | null> {
    const row = await backend.read(d, sid, Date.now());
    if (!row) return null;
    const record = this.toRecord(row);
    return record ? { record, version: row.text } : null;
  }

  private loadVersioned(sid: string): Promise<VersionedRecord | null> {
    if (typeof sid !== 'string') return Promise.resolve(null);
    return this.op((backend, d) => this.readVersioned(backend, d, sid));
  }

  get(sid: string): Promise<SessionRecord | null>;
  get(sid: string, callback: Callback<SessionRecord | null | undefined>): void;
  get(sid: string, callback?: Callback<SessionRecord | null>): Promise<SessionRecord | null> {
    return settle(this.loadVersioned(sid).then((found) => found?.record ?? null), callback);
  }

  set(sid: string, session: SessionRecord): Promise<void>;
  set(sid: string, session: SessionRecord, callback: Callback): void;
  set(sid: string, session: SessionRecord, callback?: Callback): Promise<void> {
    return settle(this.write(sid, session), callback);
  }

  private async write(sid: string, session: SessionRecord): Promise<void> {
    checkId(sid);
    const text = JSON.stringify(session);
    const user = userKeyOf(this.userId, session);
    if (user !== undefined && this.maxSessionsPerUser !== undefined) {
      await this.op((backend, d) => this.writeLimited(backend, d, sid, text, session, user, undefined));
      return;
    }
    await this.op((backend, d) => backend.write(d, sid, text, this.expiresOf(session, Date.now()), user));
  }

  /** A write that files `sid` under `user` within the user's limit; false when a conditional one did not apply. */
  private writeLimited(
    backend: SqlBackend, d: Deadline, sid: string, text: string, record: SessionRecord, user: string, version: string | undefined,
  ): Promise<boolean> {
    const now = Date.now();
    const write: LimitedWrite = { sid, text, expires: this.expiresOf(record, now), now, user, filed: nextFiled(now) };
    if (version !== undefined) write.version = version;
    return backend.writeLimited(d, write, (filed) => this.admit(sid, user, version, filed));
  }

  /**
   * The limit, decided on the user's filed sessions. A session already filed under the user
   * (its entry is there and its record, before this write, was the user's) is a re-save and
   * never counts. Otherwise it is a login: the user's other live sessions count, the rest are
   * stale entries to drop; over the limit, the oldest (by meta.created, a record without meta
   * first, then by filing order) are evicted, or the login is refused.
   */
  private admit(sid: string, user: string, version: string | undefined, filed: FiledSession[]): ReturnType<Admit> {
    const max = this.maxSessionsPerUser!;
    const own = filed.find((f) => f.sid === sid);
    const before = version ?? own?.text;
    const previous = typeof before === 'string' ? parseRecord(before) : null;
    if (own && previous && this.userIdOf(previous) === user) {
      return { login: false, evict: [], drop: [] };
    }
    const live: Array<{ sid: string; created: number; filed: number }> = [];
    const drop: string[] = [];
    for (const f of filed) {
      if (f.sid === sid) continue;
      const record = f.text === null ? null : parseRecord(f.text);
      if (record && this.userIdOf(record) === user) {
        live.push({ sid: f.sid, created: metaOf(record)?.created ?? -Infinity, filed: f.filed });
      } else {
        drop.push(f.sid);
      }
    }
    const excess = live.length + 1 - max;
    if (excess <= 0) return { login: true, evict: [], drop };
    if (this.onLimit === 'refuse') throw new SessionLimitError(user, max);
    live.sort((a, b) => a.created - b.created || a.filed - b.filed || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
    return { login: true, evict: live.slice(0, excess).map((s) => s.sid), drop };
  }

  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: Callback): void;
  destroy(sid: string, callback?: Callback): Promise<void> {
    return settle(this.op((backend, d) => backend.remove(d, checkId(sid))), callback);
  }

  /** Renews the expiry of a live session (its row's, as connect-pg-simple does); never creates one. */
  touch(sid: string, session: SessionRecord, callback?: Callback): Promise<void> {
    const renewing = this.op((backend, d) => {
      const now = Date.now();
      return backend.renew(d, checkId(sid), this.expiresOf(session, now), now);
    });
    return settle(renewing, callback);
  }

  /** Every live session, as an object of ID to record (as express-session's MemoryStore returns). */
  all(callback?: Callback<Record<string, SessionRecord>>): Promise<Record<string, SessionRecord>> {
    const listing = this.op(async (backend, d) => {
      const out: Record<string, SessionRecord> = Object.create(null);
      for (const row of await backend.readAll(d, Date.now())) {
        const record = this.toRecord(row);
        if (record) out[row.sid] = record;
      }
      return out;
    });
    return settle(listing, callback);
  }

  ids(callback?: Callback<string[]>): Promise<string[]> {
    return settle(this.op((backend, d) => backend.ids(d, Date.now())), callback);
  }

  length(callback?: Callback<number>): Promise<number> {
    return settle(this.op((backend, d) => backend.count(d, Date.now())), callback);
  }

  clear(callback?: Callback): Promise<void> {
    return settle(this.op((backend, d) => backend.removeAll(d)), callback);
  }

  // The atomic primitive behind delta saves: the stored text is the version, and the write is
  // one UPDATE conditioned on it, so the database decides which of two overlapping saves wins.

  getVersioned(sid: string): Promise<VersionedRecord | null> {
    return this.loadVersioned(sid);
  }

  /**
   * The write and, when it did not apply, the read of what is there now, under one deadline.
   * A timeout fails the call whether or not the UPDATE (one statement) got through.
   */
  async setIfVersion(sid: string, version: string, record: SessionRecord): Promise<ConditionalWrite> {
    checkId(sid);
    const text = JSON.stringify(record);
    const user = userKeyOf(this.userId, record);
    const limited = user !== undefined && this.maxSessionsPerUser !== undefined;
    return this.op(async (backend, d): Promise<ConditionalWrite> => {
      const now = Date.now();
      let written: boolean;
      if (limited) {
        // A re-save of the user's session (it was the user's before) is one statement; anything
        // else, and a re-save that did not apply, goes through the user's lock.
        const previous = parseRecord(version);
        written = (previous !== null && this.userIdOf(previous) === user &&
          await backend.writeIfFiled(d, sid, version, text, this.expiresOf(record, now), now, user)) ||
          await this.writeLimited(backend, d, sid, text, record, user, version);
      } else {
        written = await backend.writeIf(d, sid, version, text, this.expiresOf(record, now), now, user);
      }
      if (written) {
        return { written: true, version: text };
      }
      const current = await this.readVersioned(backend, d, sid);
      // Someone wrote the very same text (or the driver counts only changed rows): nothing is lost.
      if (current && current.version === text) return { written: true, version: text };
      return { written: false, current };
    });
  }

  // The user index.

  /**
   * A user's live sessions as listed, and the stale entries (row gone or expired, or the
   * session now another user's), from one statement that reads the entries and their rows.
   */
  private async filedSessions(user: string | number, method: string): Promise<{ key: string; live: UserSession[]; stale: string[] }> {
    if (!this.userId) throw new UserIdOptionError(method);
    const key = String(user);
    const filed = await this.op((backend, d) => backend.userFiled(d, key, Date.now()));
    const live: UserSession[] = [];
    const stale: string[] = [];
    for (const f of filed) {
      const record = f.text === null || f.expires === null ? null : this.toRecord({ text: f.text, expires: f.expires });
      if (record && this.userIdOf(record) === key) live.push(userSession(f.sid, record));
      else stale.push(f.sid);
    }
    return { key, live, stale };
  }

  private async unfile(key: string, stale: string[]): Promise<void> {
    for (const slice of slices(stale, MANY)) await this.op((backend, d) => backend.userRemove(d, key, slice));
  }

  /** The user's live sessions; stale entries met on the way are dropped. */
  async listUserSessions(userId: string | number): Promise<UserSession[]> {
    const { key, live, stale } = await this.filedSessions(userId, 'listUserSessions');
    await this.unfile(key, stale);
    return live;
  }

  /**
   * Ends the user's sessions (but those in `except`): the entries and rows read in one
   * statement, then the rows and their entries deleted a thousand per statement.
   */
  async destroyUserSessions(userId: string | number, options: { except?: string | string[] } = {}): Promise<number> {
    const except = new Set(options.except === undefined ? [] : ([] as string[]).concat(options.except));
    const { key, live, stale } = await this.filedSessions(userId, 'destroyUserSessions');
    const ending = live.filter((s) => !except.has(s.id)).map((s) => s.id);
    for (const slice of slices(ending, MANY)) await this.op((backend, d) => backend.removeMany(d, slice));
    await this.unfile(key, stale);
    return ending.length;
  }

  /** Ends one session (one device): its row and its user index entries go in one statement or transaction. */
  destroySession(sid: string): Promise<void> {
    return this.destroy(sid);
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
    const now = Date.now();
    const slice = this.pruneSliceMs;
    // A blocking driver starts small and grows towards the slice's time.
    let limit = slice === undefined ? this.pruneBatchSize : Math.min(16, this.pruneBatchSize);
    let total = 0;
    while (!this.closed) {
      const started = performance.now();
      // A deadline per batch: the purge as a whole may take as long as it needs.
      const deleted = await this.op((backend, d) => backend.pruneBatch(d, now, limit));
      total += deleted;
      if (deleted < limit) break;
      if (slice !== undefined) {
        const took = Math.max(performance.now() - started, 0.05);
        // At most doubling, so one slow batch (a checkpoint) does not make the next one huge.
        limit = Math.max(1, Math.min(this.pruneBatchSize, limit * 2, Math.floor((limit * slice) / took)));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    return total;
  }

  /**
   * Stops the purge timer and closes the connection if this store opened it (from a path, a
   * connection string or a URI); a pool or database passed in stays open. Later calls fail.
   * Closing waits at most `commandTimeout` for the server to say goodbye.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.pruning?.catch(() => undefined);
    const backend = await this.backend?.catch(() => undefined);
    await this.schema?.catch(() => undefined);
    if (backend) await this.bounded((d) => backend.end(d));
  }
}
