import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { checkIdentifier, loadDriver, quoteIdentifier, SqlStore, type SqlBackend, type SqlStoreOptions, type StoredRow } from './backend.js';

export type { SqlStoreOptions } from './backend.js';

export interface SQLiteStoreOptions extends SqlStoreOptions {
  /** The database file, opened (and created, with its directory) by the store; closed by `close()`. */
  path?: string;
  /** An open better-sqlite3 Database; it stays open when the store closes. */
  db?: BetterSqlite3.Database;
  /** The session table. Default `sessions`; the user index, if any, is `<tableName>_users`. */
  tableName?: string;
}

/**
 * Sessions in a SQLite file, through better-sqlite3: they survive restarts with no server to
 * run. The table is `sid` (primary key), `sess` (the record's JSON text, exactly as
 * express-session's stores write it) and `expire` (milliseconds since the epoch, indexed).
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
    this.tableName = checkIdentifier(options.tableName ?? 'sessions', 'tableName', 128);
    this.options = options;
  }

  protected async connect(): Promise<SqlBackend> {
    let db = this.options.db;
    let owned = false;
    if (!db) {
      const path = this.options.path!;
      const Database = (await loadDriver('SQLiteStore', 'better-sqlite3', () => import('better-sqlite3'))).default;
      if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      owned = true;
      // WAL lets reads go on while a write commits; NORMAL sync keeps every committed session
      // across a process crash (only a power cut may lose the last few).
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    return new SQLiteBackend(db, owned, this.tableName, this.indexesUsers);
  }
}

class SQLiteBackend implements SqlBackend {
  private readonly table: string;
  private readonly users: string;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly owned: boolean,
    private readonly tableName: string,
    private readonly indexesUsers: boolean,
  ) {
    this.table = quoteIdentifier(tableName, '"');
    this.users = quoteIdentifier(`${tableName}_users`, '"');
  }

  /** A statement, prepared on first use (so after the table exists) and then reused. */
  private sql(text: string): BetterSqlite3.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  async createSchema(): Promise<void> {
    const t = this.tableName;
    let ddl =
      `CREATE TABLE IF NOT EXISTS ${this.table} (sid TEXT NOT NULL PRIMARY KEY, sess TEXT NOT NULL, expire INTEGER NOT NULL);
       CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${t}_expire`, '"')} ON ${this.table} (expire);`;
    if (this.indexesUsers) {
      ddl += `
       CREATE TABLE IF NOT EXISTS ${this.users} (user_id TEXT NOT NULL, sid TEXT NOT NULL, PRIMARY KEY (user_id, sid)) WITHOUT ROWID;
       CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${t}_users_sid`, '"')} ON ${this.users} (sid);`;
    }
    // One transaction: a second process creating the same tables waits (busy timeout), then finds them.
    this.db.transaction(() => this.db.exec(ddl)).immediate();
  }

  async read(sid: string, now: number): Promise<StoredRow | null> {
    const row = this.sql(`SELECT sess AS text, expire AS expires FROM ${this.table} WHERE sid = ? AND expire > ?`)
      .get(sid, now) as StoredRow | undefined;
    return row ?? null;
  }

  async readAll(now: number): Promise<Array<StoredRow & { sid: string }>> {
    return this.sql(`SELECT sid, sess AS text, expire AS expires FROM ${this.table} WHERE expire > ?`)
      .all(now) as Array<StoredRow & { sid: string }>;
  }

  async ids(now: number): Promise<string[]> {
    return this.sql(`SELECT sid FROM ${this.table} WHERE expire > ?`).pluck().all(now) as string[];
  }

  async count(now: number): Promise<number> {
    return this.sql(`SELECT count(*) FROM ${this.table} WHERE expire > ?`).pluck().get(now) as number;
  }

  private fileUser(sid: string, user: string | undefined): void {
    if (user !== undefined && this.indexesUsers) {
      this.sql(`INSERT OR IGNORE INTO ${this.users} (user_id, sid) VALUES (?, ?)`).run(user, sid);
    }
  }

  async write(sid: string, text: string, expires: number, user: string | undefined): Promise<void> {
    this.sql(
      `INSERT INTO ${this.table} (sid, sess, expire) VALUES (?, ?, ?)
       ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expire = excluded.expire`,
    ).run(sid, text, expires);
    this.fileUser(sid, user);
  }

  async writeIf(sid: string, version: string, text: string, expires: number, now: number, user: string | undefined): Promise<boolean> {
    const { changes } = this.sql(`UPDATE ${this.table} SET sess = ?, expire = ? WHERE sid = ? AND sess = ? AND expire > ?`)
      .run(text, expires, sid, version, now);
    if (changes === 0) return false;
    this.fileUser(sid, user);
    return true;
  }

  async renew(sid: string, expires: number, now: number): Promise<void> {
    this.sql(`UPDATE ${this.table} SET expire = ? WHERE sid = ? AND expire > ?`).run(expires, sid, now);
  }

  async remove(sid: string): Promise<void> {
    this.sql(`DELETE FROM ${this.table} WHERE sid = ?`).run(sid);
    if (this.indexesUsers) this.sql(`DELETE FROM ${this.users} WHERE sid = ?`).run(sid);
  }

  async removeAll(): Promise<void> {
    this.db.transaction(() => {
      this.sql(`DELETE FROM ${this.table}`).run();
      if (this.indexesUsers) this.sql(`DELETE FROM ${this.users}`).run();
    })();
  }

  async pruneBatch(now: number, limit: number): Promise<number> {
    return this.db.transaction(() => {
      const sids = this.sql(
        `DELETE FROM ${this.table} WHERE sid IN (SELECT sid FROM ${this.table} WHERE expire <= ? LIMIT ?) RETURNING sid`,
      ).pluck().all(now, limit) as string[];
      if (this.indexesUsers) {
        const unfile = this.sql(`DELETE FROM ${this.users} WHERE sid = ?`);
        for (const sid of sids) unfile.run(sid);
      }
      return sids.length;
    })();
  }

  async userMembers(user: string): Promise<string[]> {
    return this.sql(`SELECT sid FROM ${this.users} WHERE user_id = ?`).pluck().all(user) as string[];
  }

  async userRemove(user: string, sids: string[]): Promise<void> {
    const unfile = this.sql(`DELETE FROM ${this.users} WHERE user_id = ? AND sid = ?`);
    this.db.transaction(() => {
      for (const sid of sids) unfile.run(user, sid);
    })();
  }

  async end(): Promise<void> {
    if (this.owned) this.db.close();
  }
}
