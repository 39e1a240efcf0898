import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { checkIdentifier, loadDriver, quoteIdentifier, SqlStore, type SqlBackend, type SqlStoreOptions, type StoredRow } from './backend.js';

export type { SqlStoreOptions } from './backend.js';

export interface MySQLStoreOptions extends SqlStoreOptions {
  /** A `mysql2/promise` Pool; it stays open when the store closes. */
  pool?: Pool;
  /** A connection URI (`mysql://user:password@host:3306/database`) for a pool the store opens and closes. */
  uri?: string;
  /** The session table. Default `sessions`, as express-mysql-session. */
  tableName?: string;
}

/** The largest `expires` an `int(11) unsigned` column holds (in 2106). */
const MAX_EXPIRES = 4_294_967_295;

/**
 * Sessions in MySQL or MariaDB through `mysql2`. The table is express-mysql-session's:
 * `session_id` varchar(128) primary key, `expires` in Unix seconds, `data` the record's JSON
 * text (binary collation); so its users switch with nobody logged out.
 */
export class MySQLStore extends SqlStore {
  private readonly options: MySQLStoreOptions;
  readonly tableName: string;

  constructor(options: MySQLStoreOptions) {
    super(options ?? {}, 'MySQLStore');
    if (!options || (options.pool === undefined) === (options.uri === undefined)) {
      throw new TypeError('MySQLStore needs either { pool } (a mysql2/promise Pool) or { uri }');
    }
    if (options.uri !== undefined && typeof options.uri !== 'string') {
      throw new TypeError('uri option must be a string');
    }
    // 64 is MySQL's limit; the user index table adds `_users`.
    this.tableName = checkIdentifier(options.tableName ?? 'sessions', 'tableName', 58);
    this.options = options;
  }

  protected async connect(): Promise<SqlBackend> {
    let pool = this.options.pool;
    let owned = false;
    if (!pool) {
      const mysql = await loadDriver('MySQLStore', 'mysql2', () => import('mysql2/promise'));
      pool = (mysql.default ?? mysql).createPool({ uri: this.options.uri });
      owned = true;
    }
    return new MySQLBackend(pool, owned, this.tableName, this.indexesUsers);
  }
}

/** Row expiries are whole seconds: rounded down, so a session never outlives its cookie. */
const seconds = (ms: number) => Math.min(Math.max(Math.floor(ms / 1000), 0), MAX_EXPIRES);

class MySQLBackend implements SqlBackend {
  private readonly table: string;
  private readonly users: string;

  constructor(
    private readonly pool: Pool,
    private readonly owned: boolean,
    private readonly tableName: string,
    private readonly indexesUsers: boolean,
  ) {
    this.table = quoteIdentifier(tableName, '`');
    this.users = quoteIdentifier(`${tableName}_users`, '`');
  }

  private async rows(sql: string, params: unknown[]): Promise<RowDataPacket[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(sql, params);
    return rows;
  }

  private async run(sql: string, params: unknown[] = []): Promise<number> {
    const [result] = await this.pool.query<ResultSetHeader>(sql, params);
    return result.affectedRows;
  }

  async createSchema(): Promise<void> {
    const names = this.indexesUsers ? [this.tableName, `${this.tableName}_users`] : [this.tableName];
    const [found] = await this.pool.query<RowDataPacket[]>(
      'SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (?)',
      [names],
    );
    if (Number(found[0]!.n) === names.length) return;
    // express-mysql-session's schema.sql, plus an index on `expires` for purging (which it
    // lacks; it changes nothing for express-mysql-session). IF NOT EXISTS under the server's
    // metadata lock makes creation by two processes at once harmless.
    await this.run(
      `CREATE TABLE IF NOT EXISTS ${this.table} (
         \`session_id\` varchar(128) COLLATE utf8mb4_bin NOT NULL,
         \`expires\` int(11) unsigned NOT NULL,
         \`data\` mediumtext COLLATE utf8mb4_bin,
         PRIMARY KEY (\`session_id\`),
         KEY \`expires\` (\`expires\`)
       ) ENGINE=InnoDB`,
    );
    if (this.indexesUsers) {
      await this.run(
        `CREATE TABLE IF NOT EXISTS ${this.users} (
           \`user_id\` varchar(255) COLLATE utf8mb4_bin NOT NULL,
           \`session_id\` varchar(128) COLLATE utf8mb4_bin NOT NULL,
           PRIMARY KEY (\`user_id\`, \`session_id\`),
           KEY \`session_id\` (\`session_id\`)
         ) ENGINE=InnoDB`,
      );
    }
  }

  private toRow = (row: RowDataPacket): StoredRow & { sid: string } => ({
    sid: row.sid,
    text: typeof row.text === 'string' ? row.text : Buffer.isBuffer(row.text) ? row.text.toString('utf8') : '',
    expires: Number(row.expires) * 1000,
  });

  async read(sid: string, now: number): Promise<StoredRow | null> {
    const rows = await this.rows(
      `SELECT data AS text, expires FROM ${this.table} WHERE session_id = ? AND expires > ?`, [sid, now / 1000]);
    return rows.length ? this.toRow(rows[0]!) : null;
  }

  async readAll(now: number): Promise<Array<StoredRow & { sid: string }>> {
    const rows = await this.rows(
      `SELECT session_id AS sid, data AS text, expires FROM ${this.table} WHERE expires > ?`, [now / 1000]);
    return rows.map(this.toRow);
  }

  async ids(now: number): Promise<string[]> {
    return (await this.rows(`SELECT session_id FROM ${this.table} WHERE expires > ?`, [now / 1000])).map((r) => r.session_id);
  }

  async count(now: number): Promise<number> {
    return Number((await this.rows(`SELECT count(*) AS n FROM ${this.table} WHERE expires > ?`, [now / 1000]))[0]!.n);
  }

  private async fileUser(sid: string, user: string | undefined): Promise<void> {
    if (user === undefined || !this.indexesUsers) return;
    // Not INSERT IGNORE: it would also hide a user id too long for the column.
    await this.run(
      `INSERT INTO ${this.users} (user_id, session_id) VALUES (?, ?) ON DUPLICATE KEY UPDATE user_id = user_id`, [user, sid]);
  }

  // MySQL cannot write two tables in one statement, so the user index entry is filed beside the
  // write, on another connection, not after it: a save costs no extra round trip. An entry for a
  // write that did not happen is harmless, since listing checks each entry against the live record.

  async write(sid: string, text: string, expires: number, user: string | undefined): Promise<void> {
    await Promise.all([
      this.run(
        `INSERT INTO ${this.table} (session_id, expires, data) VALUES (?, ?, ?)
         ON DUPLICATE KEY UPDATE expires = VALUES(expires), data = VALUES(data)`,
        [sid, seconds(expires), text],
      ),
      this.fileUser(sid, user),
    ]);
  }

  async writeIf(sid: string, version: string, text: string, expires: number, now: number, user: string | undefined): Promise<boolean> {
    const [changed] = await Promise.all([
      this.run(
        `UPDATE ${this.table} SET data = ?, expires = ? WHERE session_id = ? AND data = ? AND expires > ?`,
        [text, seconds(expires), sid, version, now / 1000],
      ),
      this.fileUser(sid, user),
    ]);
    return changed > 0;
  }

  async renew(sid: string, expires: number, now: number): Promise<void> {
    await this.run(`UPDATE ${this.table} SET expires = ? WHERE session_id = ? AND expires > ?`, [seconds(expires), sid, now / 1000]);
  }

  async remove(sid: string): Promise<void> {
    await this.run(`DELETE FROM ${this.table} WHERE session_id = ?`, [sid]);
    if (this.indexesUsers) await this.run(`DELETE FROM ${this.users} WHERE session_id = ?`, [sid]);
  }

  async removeAll(): Promise<void> {
    await this.run(`DELETE FROM ${this.table}`);
    if (this.indexesUsers) await this.run(`DELETE FROM ${this.users}`);
  }

  /**
   * A plain SELECT (a consistent read: it locks nothing) finds a batch, then a DELETE by
   * primary key locks only those rows, for one short statement.
   */
  async pruneBatch(now: number, limit: number): Promise<number> {
    const cutoff = now / 1000;
    const sids = (await this.rows(`SELECT session_id FROM ${this.table} WHERE expires <= ? LIMIT ${limit}`, [cutoff]))
      .map((r) => r.session_id as string);
    if (sids.length === 0) return 0;
    const deleted = await this.run(`DELETE FROM ${this.table} WHERE session_id IN (?) AND expires <= ?`, [sids, cutoff]);
    if (this.indexesUsers) await this.run(`DELETE FROM ${this.users} WHERE session_id IN (?)`, [sids]);
    return deleted;
  }

  async userMembers(user: string): Promise<string[]> {
    return (await this.rows(`SELECT session_id FROM ${this.users} WHERE user_id = ?`, [user])).map((r) => r.session_id);
  }

  async userRemove(user: string, sids: string[]): Promise<void> {
    if (sids.length) await this.run(`DELETE FROM ${this.users} WHERE user_id = ? AND session_id IN (?)`, [user, sids]);
  }

  async end(): Promise<void> {
    if (this.owned) await this.pool.end();
  }
}
