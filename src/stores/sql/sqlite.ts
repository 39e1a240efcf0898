import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
// The few methods of better-sqlite3's Database and Statement the store calls, on whichever
// driver the runtime has (better-sqlite3, bun:sqlite, node:sqlite); a better-sqlite3 Database is one.
import { openSQLite, SQLITE_DRIVERS, type SQLiteDatabase as Database, type SQLiteDriverName, type SQLiteStatement as Statement } from './sqlite-driver.js';
import { StoreTimeoutError } from '../../errors.js';
import {
  checkIdentifier, quoteIdentifier, SqlStore,
  type Admit, type FiledSession, type LimitedWrite, type SqlBackend, type SqlStoreOptions, type StoredRow,
} from './backend.js';
import { UNBOUNDED, type Deadline } from './deadline.js';

export type { SqlStoreOptions } from './backend.js';
export { StoreTimeoutError } from '../../errors.js';

/** How long one purge statement may block the process: well under a request's own time. */
const PRUNE_SLICE_MS = 2;

/** The page cache of a database the store opens, in KiB (SQLite's default is 2 MiB). */
const CACHE_KIB = 64 * 1024;

/** How much of a database file the store opens is read through a memory map. */
const MMAP_BYTES = 1024 ** 3;

/** SQLite's busy timeout for "no limit" (it takes an int of milliseconds). */
const FOREVER = 2 ** 31 - 1;

export interface SQLiteStoreOptions extends SqlStoreOptions {
  /** The database file, opened (and created, with its directory) by the store; closed by `close()`. */
  path?: string;
  /** An open database (better-sqlite3's, or one of the same shape); it stays open when the store closes. */
  db?: Database;
  /**
   * The SQLite driver for `path`: `'better-sqlite3'`, `'bun:sqlite'` or `'node:sqlite'`. Default:
   * the runtime's own (bun:sqlite on Bun, node:sqlite on Deno, better-sqlite3 on Node, else node:sqlite).
   * Every driver reads and writes the same file format.
   */
  driver?: SQLiteDriverName;
  /** The session table. Default `sessions`; the user index, if any, is `<tableName>_users`. */
  tableName?: string;
  /**
   * Milliseconds a statement waits for a file another connection has locked (SQLite's busy
   * timeout) before it fails with a StoreTimeoutError (code `ETIMEDOUT`). 0: no limit.
   * Default 2000, on a database the store opens; one passed in keeps its own unless this is given.
   */
  commandTimeout?: number;
}

/**
 * Sessions in a SQLite file, through the runtime's SQLite driver: they survive restarts with no server to
 * run. The table is `sid` (primary key), `sess` (the record's JSON text, exactly as
 * express-session's stores write it) and `expire` (milliseconds since the epoch, indexed).
 *
 * SQLite drivers answer synchronously, so no timer can cut a statement short: the deadline is
 * SQLite's busy timeout, how long a statement waits for a file another connection has locked.
 * The store sets it to `commandTimeout` on the database it opens, and on one passed in when
 * `commandTimeout` is given (else that database keeps its own, better-sqlite3's `timeout`).
 * Such a wait blocks the whole process, so once a statement has waited it out, the next ones
 * try the lock once and fail at once, until a write gets through.
 */
export class SQLiteStore extends SqlStore {
  private readonly options: SQLiteStoreOptions;
  readonly tableName: string;

  constructor(options: SQLiteStoreOptions) {
    super(options ?? {}, 'SQLiteStore');
    if (!options || (options.path === undefined) === (options.db === undefined)) {
      throw new TypeError('SQLiteStore needs either { path } (a database file) or { db } (a better-sqlite3 Database)');
    }
    if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
      throw new TypeError(`path option must be a file path; got ${JSON.stringify(options.path)}`);
    }
    if (options.driver !== undefined && !SQLITE_DRIVERS.includes(options.driver)) {
      throw new TypeError(`driver option must be one of ${SQLITE_DRIVERS.map((d) => `'${d}'`).join(', ')}; got ${JSON.stringify(options.driver)}`);
    }
    this.tableName = checkIdentifier(options.tableName ?? 'sessions', 'tableName', 128);
    this.options = options;
  }

  /**
   * Each purge statement blocks the process while it runs (better-sqlite3 is synchronous), so
   * batches are sized to take about this long, and requests are served between them.
   */
  protected override get pruneSliceMs(): number {
    return PRUNE_SLICE_MS;
  }

  /** Statements wait for a locked file in the driver (the busy timeout), which no timer could interrupt. */
  protected override bounded<T>(run: (d: Deadline) => Promise<T>): Promise<T> {
    return run(UNBOUNDED);
  }

  protected async connect(): Promise<SqlBackend> {
    let db = this.options.db;
    let owned = false;
    if (!db) {
      const path = this.options.path!;
      const { driver } = this.options;
      if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
      db = await openSQLite(path, { timeout: this.commandTimeout || FOREVER }, driver);
      owned = true;
      // WAL lets reads go on while a write commits; NORMAL sync keeps every committed session
      // across a process crash (only a power cut may lose the last few).
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // A get is two B-tree walks (the sid index, then the row) over pages spread across the
      // file: reading them through a memory map (where the build allows one) skips a system
      // call and a copy per page, and a larger page cache keeps the upper levels of both trees.
      db.pragma(`cache_size = -${CACHE_KIB}`);
      db.pragma(`mmap_size = ${MMAP_BYTES}`);
    } else if (this.options.commandTimeout !== undefined) {
      db.pragma(`busy_timeout = ${this.commandTimeout || FOREVER}`);
    }
    const governed = owned || this.options.commandTimeout !== undefined;
    return new SQLiteBackend(db, owned, governed, this.tableName, this.indexesUsers);
  }
}

class SQLiteBackend implements SqlBackend {
  private readonly table: string;
  private readonly users: string;
  private readonly statements = new Map<string, Statement>();

  /** The busy timeout statements wait for a locked file, in milliseconds. */
  private readonly busyTimeout: number;
  /**
   * Set when a statement waited out the whole busy timeout: until a write gets through, the
   * next statements try the lock once instead of waiting again, since each wait blocks the
   * process (and so every other request) for the whole timeout.
   */
  private locked = false;
  private readonly writeFiled: (sid: string, text: string, expires: number, user: string) => void;
  private readonly updateAndFile: (sid: string, version: string, text: string, expires: number, now: number, user: string) => boolean;
  private readonly limited: (w: LimitedWrite, admit: Admit) => boolean;

  constructor(
    private readonly db: Database,
    private readonly owned: boolean,
    /** Whether the store set the busy timeout (and may lower it while the file stays locked). */
    private readonly governed: boolean,
    private readonly tableName: string,
    private readonly indexesUsers: boolean,
  ) {
    this.table = quoteIdentifier(tableName, '"');
    this.users = quoteIdentifier(`${tableName}_users`, '"');
    this.busyTimeout = db.pragma('busy_timeout', { simple: true }) as number;
    // A row and its user index entry in one transaction, so one is never written without the other.
    this.writeFiled = db.transaction((sid, text, expires, user) => {
      this.upsert(sid, text, expires);
      this.fileUser(sid, user);
    }).immediate;
    this.updateAndFile = db.transaction((sid, version, text, expires, now, user) => {
      if (!this.update(sid, version, text, expires, now)) return false;
      this.fileUser(sid, user);
      return true;
    }).immediate;
    // BEGIN IMMEDIATE takes the file's write lock first: two logins never decide at once.
    this.limited = db.transaction((w: LimitedWrite, admit: Admit) => {
      if (w.version !== undefined && !this.update(w.sid, w.version, w.text, w.expires, w.now)) return false;
      const { login, evict, drop } = admit(this.filedOf(w.user, w.now));
      if (evict.length) {
        const remove = this.sql(`DELETE FROM ${this.table} WHERE sid = ?`);
        const unfile = this.sql(`DELETE FROM ${this.users} WHERE sid = ?`);
        for (const sid of evict) {
          remove.run(sid);
          unfile.run(sid);
        }
      }
      if (drop.length) {
        const unfile = this.sql(`DELETE FROM ${this.users} WHERE user_id = ? AND sid = ?`);
        for (const sid of drop) unfile.run(w.user, sid);
      }
      if (w.version === undefined) this.upsert(w.sid, w.text, w.expires);
      if (login) {
        this.sql(
          `INSERT INTO ${this.users} (user_id, sid, filed) VALUES (?, ?, ?) ON CONFLICT (user_id, sid) DO UPDATE SET filed = excluded.filed`,
        ).run(w.user, w.sid, w.filed);
      }
      return true;
    }).immediate;
  }

  /**
   * Runs statements, telling a file that stayed locked (SQLITE_BUSY) from other failures: it
   * is the deadline passing, a StoreTimeoutError. A statement that fails so changed nothing.
   */
  private guarded<T>(writes: boolean, work: () => T): T {
    let result: T;
    try {
      result = work();
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY')) throw err;
      const ms = this.busyTimeout === FOREVER ? 0 : this.busyTimeout;
      const waited = !this.locked;
      if (this.governed && !this.locked) {
        this.locked = true;
        this.db.pragma('busy_timeout = 0');
      }
      throw new StoreTimeoutError('SQLiteStore', ms, waited
        ? `SQLiteStore: the database file stayed locked by another connection for ${ms} ms (commandTimeout)`
        : `SQLiteStore: the database file is still locked by another connection (it stayed locked for ${ms} ms before)`,
      { cause: err });
    }
    if (writes && this.locked) {
      this.locked = false;
      this.db.pragma(`busy_timeout = ${this.busyTimeout}`);
    }
    return result;
  }

  /** A statement, prepared on first use (so after the table exists) and then reused. */
  private sql(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  async createSchema(_d: Deadline): Promise<void> {
    const t = this.tableName;
    let ddl =
      `CREATE TABLE IF NOT EXISTS ${this.table} (sid TEXT NOT NULL PRIMARY KEY, sess TEXT NOT NULL, expire INTEGER NOT NULL);
       CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${t}_expire`, '"')} ON ${this.table} (expire);`;
    if (this.indexesUsers) {
      ddl += `
       CREATE TABLE IF NOT EXISTS ${this.users} (
         user_id TEXT NOT NULL, sid TEXT NOT NULL, filed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (user_id, sid)) WITHOUT ROWID;
       CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${t}_users_sid`, '"')} ON ${this.users} (sid);`;
    }
    // One transaction: a second process creating the same tables waits (busy timeout), then finds them.
    this.guarded(true, () => this.db.transaction(() => {
      this.db.exec(ddl);
      // A user index made before logins were ordered: existing entries count as the oldest.
      if (this.indexesUsers && !this.db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(`${t}_users`, 'filed')) {
        this.db.exec(`ALTER TABLE ${this.users} ADD COLUMN filed INTEGER NOT NULL DEFAULT 0`);
      }
    }).immediate());
  }

  async read(_d: Deadline, sid: string, now: number): Promise<StoredRow | null> {
    const row = this.guarded(false, () =>
      this.sql(`SELECT sess AS text, expire AS expires FROM ${this.table} WHERE sid = ? AND expire > ?`).get(sid, now)) as StoredRow | undefined;
    return row ?? null;
  }

  async readAll(_d: Deadline, now: number): Promise<Array<StoredRow & { sid: string }>> {
    return this.guarded(false, () =>
      this.sql(`SELECT sid, sess AS text, expire AS expires FROM ${this.table} WHERE expire > ?`).all(now)) as Array<StoredRow & { sid: string }>;
  }

  async ids(_d: Deadline, now: number): Promise<string[]> {
    const rows = this.guarded(false, () => this.sql(`SELECT sid FROM ${this.table} WHERE expire > ?`).all(now)) as Array<{ sid: string }>;
    return rows.map((r) => r.sid);
  }

  async count(_d: Deadline, now: number): Promise<number> {
    return (this.guarded(false, () => this.sql(`SELECT count(*) AS n FROM ${this.table} WHERE expire > ?`).get(now)) as { n: number }).n;
  }

  private fileUser(sid: string, user: string): void {
    this.sql(`INSERT OR IGNORE INTO ${this.users} (user_id, sid) VALUES (?, ?)`).run(user, sid);
  }

  private upsert(sid: string, text: string, expires: number): void {
    this.sql(
      `INSERT INTO ${this.table} (sid, sess, expire) VALUES (?, ?, ?)
       ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expire = excluded.expire`,
    ).run(sid, text, expires);
  }

  private update(sid: string, version: string, text: string, expires: number, now: number): boolean {
    return this.sql(`UPDATE ${this.table} SET sess = ?, expire = ? WHERE sid = ? AND sess = ? AND expire > ?`)
      .run(text, expires, sid, version, now).changes > 0;
  }

  async write(_d: Deadline, sid: string, text: string, expires: number, user: string | undefined): Promise<void> {
    this.guarded(true, () => {
      if (user !== undefined && this.indexesUsers) this.writeFiled(sid, text, expires, user);
      else this.upsert(sid, text, expires);
    });
  }

  async writeIf(_d: Deadline, sid: string, version: string, text: string, expires: number, now: number, user: string | undefined): Promise<boolean> {
    return this.guarded(true, () =>
      user !== undefined && this.indexesUsers
        ? this.updateAndFile(sid, version, text, expires, now, user)
        : this.update(sid, version, text, expires, now));
  }

  async writeIfFiled(_d: Deadline, sid: string, version: string, text: string, expires: number, now: number, user: string): Promise<boolean> {
    return this.guarded(true, () => this.sql(
      `UPDATE ${this.table} SET sess = ?, expire = ? WHERE sid = ? AND sess = ? AND expire > ?
       AND EXISTS (SELECT 1 FROM ${this.users} WHERE user_id = ? AND sid = ?)`,
    ).run(text, expires, sid, version, now, user, sid).changes > 0);
  }

  async writeLimited(_d: Deadline, w: LimitedWrite, admit: Admit): Promise<boolean> {
    return this.guarded(true, () => this.limited(w, admit));
  }

  async renew(_d: Deadline, sid: string, expires: number, now: number): Promise<void> {
    this.guarded(true, () => this.sql(`UPDATE ${this.table} SET expire = ? WHERE sid = ? AND expire > ?`).run(expires, sid, now));
  }

  async removeMany(_d: Deadline, sids: string[]): Promise<void> {
    const remove = this.sql(`DELETE FROM ${this.table} WHERE sid = ?`);
    const unfile = this.indexesUsers ? this.sql(`DELETE FROM ${this.users} WHERE sid = ?`) : undefined;
    // One write transaction, one commit, whatever the number of sessions.
    this.guarded(true, () => this.db.transaction(() => {
      for (const sid of sids) {
        remove.run(sid);
        unfile?.run(sid);
      }
    }).immediate());
  }

  async remove(_d: Deadline, sid: string): Promise<void> {
    this.guarded(true, () => {
      this.sql(`DELETE FROM ${this.table} WHERE sid = ?`).run(sid);
      if (this.indexesUsers) this.sql(`DELETE FROM ${this.users} WHERE sid = ?`).run(sid);
    });
  }

  async removeAll(_d: Deadline): Promise<void> {
    this.guarded(true, () => this.db.transaction(() => {
      this.sql(`DELETE FROM ${this.table}`).run();
      if (this.indexesUsers) this.sql(`DELETE FROM ${this.users}`).run();
    })());
  }

  async pruneBatch(_d: Deadline, now: number, limit: number): Promise<number> {
    return this.guarded(true, () => this.db.transaction(() => {
      // By rowid, found walking the expiry index: no second search of the sid index.
      const sids = this.sql(
        `DELETE FROM ${this.table} WHERE rowid IN (SELECT rowid FROM ${this.table} WHERE expire <= ? ORDER BY expire LIMIT ?) RETURNING sid`,
      ).all(now, limit) as Array<{ sid: string }>;
      if (this.indexesUsers) {
        const unfile = this.sql(`DELETE FROM ${this.users} WHERE sid = ?`);
        for (const { sid } of sids) unfile.run(sid);
      }
      return sids.length;
    })());
  }

  /** A user's filed sessions with their live rows: for listing, and for a login under a limit. */
  private filedOf(user: string, now: number): FiledSession[] {
    return this.sql(
      `SELECT u.sid AS sid, s.sess AS text, s.expire AS expires, u.filed AS filed FROM ${this.users} u
       LEFT JOIN ${this.table} s ON s.sid = u.sid AND s.expire > ? WHERE u.user_id = ?`,
    ).all(now, user) as FiledSession[];
  }

  async userFiled(_d: Deadline, user: string, now: number): Promise<FiledSession[]> {
    return this.guarded(false, () => this.filedOf(user, now));
  }

  async userRemove(_d: Deadline, user: string, sids: string[]): Promise<void> {
    const unfile = this.sql(`DELETE FROM ${this.users} WHERE user_id = ? AND sid = ?`);
    this.guarded(true, () => this.db.transaction(() => {
      for (const sid of sids) unfile.run(user, sid);
    })());
  }

  async end(_d: Deadline): Promise<void> {
    if (this.owned) this.db.close();
  }
}
