import { createHash } from 'node:crypto';
import type { Connection as CallbackConnection, Pool as CallbackPool, PoolConnection as CallbackPoolConnection } from 'mysql2';
import type { Connection, Pool, PoolConnection, PoolOptions, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import {
  checkIdentifier, loadDriver, quoteIdentifier, refuseOption, renameOption, SqlStore,
  type Admit, type FiledSession, type LimitedWrite, type SqlBackend, type SqlStoreOptions, type StoredRow,
} from './backend.js';
import { StoreTimeoutError } from '../../errors.js';
import type { Deadline } from './deadline.js';

export type { SqlStoreOptions } from './backend.js';
export { StoreTimeoutError } from '../../errors.js';

/**
 * What the store can run its statements on: a `mysql2/promise` Pool or Connection, a callback
 * `mysql2` Pool or Connection (as express-mysql-session users have), or the promise of a
 * connection that `mysql2/promise`'s createConnection returns.
 */
export type MySQLConnectionLike =
  | Pool | Connection | PoolConnection | CallbackPool | CallbackConnection | CallbackPoolConnection | Promise<Connection>;

/** express-mysql-session's `schema` option. */
export interface MySQLSchemaOptions {
  tableName?: string;
  /** The names of the table's three columns; the defaults are the column names themselves. */
  columnNames?: { session_id?: string; expires?: string; data?: string };
}

export interface MySQLStoreOptions extends SqlStoreOptions {
  /** A pool (or one connection) of `mysql2/promise` or `mysql2`; it stays open when the store closes. */
  pool?: MySQLConnectionLike;
  /** A connection URI (`mysql://user:password@host:3306/database`) for a pool the store opens and closes. */
  uri?: string;
  /** The server of a pool the store opens and closes, as express-mysql-session's options give it. */
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** Passed to the pool the store opens, as express-mysql-session does. */
  waitForConnections?: boolean;
  connectionLimit?: number;
  maxIdle?: number;
  idleTimeout?: number;
  queueLimit?: number;
  /** The session table. Default `sessions`, as express-mysql-session. */
  tableName?: string;
  /** express-mysql-session's way to name the table and its columns. */
  schema?: MySQLSchemaOptions;
  /** express-mysql-session's `ttl`, in milliseconds. */
  expiration?: number;
  /** express-mysql-session's: `false` turns purging off (`pruneInterval: false`). */
  clearExpired?: boolean;
  /** express-mysql-session's `pruneInterval`, in milliseconds. */
  checkExpirationInterval?: number;
  /** express-mysql-session's name for `createTable`. */
  createDatabaseTable?: boolean;
  /**
   * Whether `close()` ends the pool or connection. Default: only one the store opened; true
   * also ends one passed in, as express-mysql-session's option of that name.
   */
  endConnectionOnClose?: boolean;
  /** Accepted and ignored, as express-mysql-session does: the table created is utf8mb4_bin. */
  charset?: string;
  /** @deprecated Not supported: set `touchAfter` in the session options. */
  disableTouch?: never;
}

/** The largest `expires` an `int(11) unsigned` column holds (in 2106). */
const MAX_EXPIRES = 4_294_967_295;

const STORE = 'MySQLStore';

/** What express-mysql-session passes from its options to mysql2's createPool. */
const POOL_OPTIONS = [
  'host', 'port', 'user', 'password', 'database', 'waitForConnections', 'connectionLimit', 'maxIdle', 'idleTimeout', 'queueLimit',
] as const;

const COLUMNS = ['session_id', 'expires', 'data'] as const;

/** express-mysql-session's options under their names here; a pool passed as the second argument becomes `pool`. */
function fromExpressMySQLSession(given: MySQLStoreOptions, connection: MySQLConnectionLike | undefined): MySQLStoreOptions {
  if (given === null || (given !== undefined && typeof given !== 'object')) {
    throw new TypeError(`${STORE} options must be an object; got ${String(given)}`);
  }
  const options: Record<string, unknown> = { ...given };
  if (connection !== undefined) {
    if (options.pool !== undefined) throw new TypeError(`${STORE}: give the pool either as the pool option or as the second argument, not both`);
    options.pool = connection;
  }
  renameOption(options, 'expiration', 'ttl', STORE, (ms) => (typeof ms === 'number' ? ms / 1000 : ms));
  renameOption(options, 'createDatabaseTable', 'createTable', STORE);
  if (options.clearExpired !== undefined) {
    if (typeof options.clearExpired !== 'boolean') throw new TypeError(`${STORE}: clearExpired option must be true or false`);
    if (options.pruneInterval !== undefined) throw new TypeError(`${STORE}: the clearExpired and pruneInterval options mean the same; give only pruneInterval`);
    if (!options.clearExpired) {
      if (options.checkExpirationInterval !== undefined) {
        throw new TypeError(`${STORE}: clearExpired is false, so checkExpirationInterval means nothing; give only one`);
      }
      options.pruneInterval = false;
    }
    delete options.clearExpired;
  }
  renameOption(options, 'checkExpirationInterval', 'pruneInterval', STORE, (ms) => (typeof ms === 'number' ? ms / 1000 : ms));
  if (options.schema !== undefined) {
    if (options.schema === null || typeof options.schema !== 'object') throw new TypeError(`${STORE}: schema option must be an object`);
    const { tableName, columnNames, ...rest } = options.schema as MySQLSchemaOptions & Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length) throw new TypeError(`${STORE}: schema option takes tableName and columnNames; got ${unknown.join(', ')}`);
    if (tableName !== undefined) {
      if (options.tableName !== undefined) throw new TypeError(`${STORE}: the schema.tableName and tableName options mean the same; give only tableName`);
      options.tableName = tableName;
    }
    if (columnNames !== undefined) {
      if (columnNames === null || typeof columnNames !== 'object') throw new TypeError(`${STORE}: schema.columnNames option must be an object`);
      for (const key of Object.keys(columnNames)) {
        if (!(COLUMNS as readonly string[]).includes(key)) {
          throw new TypeError(`${STORE}: schema.columnNames names the columns ${COLUMNS.join(', ')}; got ${key}`);
        }
      }
    }
    options.schema = { columnNames };
  }
  refuseOption(options, 'disableTouch', STORE,
    "set the session middleware's touchAfter option instead (an unmodified session is touched at most once per period)");
  if (options.charset !== undefined && typeof options.charset !== 'string') throw new TypeError(`${STORE}: charset option must be a string`);
  return options;
}

/** The promise API of what the store was given: mysql2's callback objects all have one. */
function promiseApi(given: MySQLConnectionLike | Connection): Pool | Connection | PoolConnection {
  const callbackApi = given as { promise?: () => Pool | Connection | PoolConnection };
  return typeof callbackApi.promise === 'function' ? callbackApi.promise() : (given as Pool | Connection | PoolConnection);
}

/**
 * Sessions in MySQL or MariaDB through `mysql2`. The table is express-mysql-session's:
 * `session_id` varchar(128) primary key, `expires` in Unix seconds, `data` the record's JSON
 * text (binary collation); so its users switch with nobody logged out. It also takes
 * express-mysql-session's options and its call shape, `new MySQLStore(options, connection)`.
 */
export class MySQLStore extends SqlStore {
  private readonly options: MySQLStoreOptions;
  readonly tableName: string;
  private readonly columns: { id: string; expires: string; data: string };

  constructor(given: MySQLStoreOptions, connection?: MySQLConnectionLike) {
    const options = fromExpressMySQLSession(given, connection);
    super(options ?? {}, STORE);
    const server = POOL_OPTIONS.filter((name) => options[name] !== undefined);
    const sources = [options.pool, options.uri, server.length ? server : undefined].filter((o) => o !== undefined).length;
    if (sources !== 1) {
      throw new TypeError(
        'MySQLStore needs one of { pool } (a mysql2 Pool or connection, or the second argument), { uri }, ' +
          'or the server as { host, port, user, password, database }' + (sources ? `; got more than one` : ''));
    }
    if (options.uri !== undefined && typeof options.uri !== 'string') {
      throw new TypeError('uri option must be a string');
    }
    if (options.pool !== undefined && (options.pool === null || typeof options.pool !== 'object')) {
      throw new TypeError('pool option must be a mysql2 Pool or connection');
    }
    if (options.endConnectionOnClose !== undefined && typeof options.endConnectionOnClose !== 'boolean') {
      throw new TypeError('endConnectionOnClose option must be true or false');
    }
    // 64 is MySQL's limit; the user index table adds `_users`.
    this.tableName = checkIdentifier(options.tableName ?? 'sessions', 'tableName', 58);
    const names = options.schema?.columnNames ?? {};
    const column = (key: (typeof COLUMNS)[number]) =>
      quoteIdentifier(checkIdentifier(names[key] ?? key, `schema.columnNames.${key}`, 64), '`');
    this.columns = { id: column('session_id'), expires: column('expires'), data: column('data') };
    this.options = options;
  }

  /** Resolves once the table is in place (express-mysql-session's `onReady`). */
  async onReady(): Promise<void> {
    await this.length();
  }

  protected async connect(): Promise<SqlBackend> {
    const given = this.options.pool;
    if (given) {
      const connection = promiseApi(await given);
      return new MySQLBackend(connection, this.options.endConnectionOnClose ?? false, this.tableName, this.columns, this.indexesUsers, this.commandTimeout);
    }
    const mysql = await loadDriver('MySQLStore', 'mysql2', () => import('mysql2/promise'));
    const config: PoolOptions = this.options.uri !== undefined ? { uri: this.options.uri } : {};
    for (const name of POOL_OPTIONS) if (this.options[name] !== undefined) (config as Record<string, unknown>)[name] = this.options[name];
    // A connection attempt to a server that never answers is given up at the deadline, so it holds no place in the pool.
    if (this.commandTimeout) config.connectTimeout = this.commandTimeout;
    const pool = (mysql.default ?? mysql).createPool(config);
    return new MySQLBackend(pool, this.options.endConnectionOnClose ?? true, this.tableName, this.columns, this.indexesUsers, this.commandTimeout);
  }
}

/** Row expiries are whole seconds: rounded down, so a session never outlives its cookie. */
const seconds = (ms: number) => Math.min(Math.max(Math.floor(ms / 1000), 0), MAX_EXPIRES);

type Queryable = Pool | Connection | PoolConnection;

/** One statement on the connection a transaction holds. */
type Run = <T extends RowDataPacket[] | ResultSetHeader>(sql: string, params?: unknown[]) => Promise<T>;

class MySQLBackend implements SqlBackend {
  private readonly table: string;
  private readonly users: string;
  /** A pool: each statement takes a connection of its own, which the deadline can withdraw. */
  private readonly pooled: boolean;
  /** On a single connection, the transaction running on it: other statements wait for its end. */
  private transaction: Promise<void> | undefined;

  constructor(
    private readonly db: Queryable,
    private readonly owned: boolean,
    private readonly tableName: string,
    private readonly c: { id: string; expires: string; data: string },
    private readonly indexesUsers: boolean,
    /** The store's commandTimeout (ms, 0 for none): how long a login waits for its user's lock. */
    private readonly lockWait: number,
  ) {
    this.table = quoteIdentifier(tableName, '`');
    this.users = quoteIdentifier(`${tableName}_users`, '`');
    this.pooled = typeof (db as Pool).getConnection === 'function';
  }

  /**
   * One statement under the deadline. From a pool, a connection that comes after the deadline
   * goes back unused, and one whose statement outlives it is destroyed (the pool opens a fresh
   * one). A single connection cannot be given up: the caller is failed, the statement runs on.
   */
  private async query<T extends RowDataPacket[] | ResultSetHeader>(d: Deadline, sql: string, params: unknown[]): Promise<T> {
    if (!this.pooled) {
      while (this.transaction) await this.transaction;
      return (await d.guard(this.db.query<T>(sql, params), () => undefined))[0];
    }
    const connection = await d.checkout((this.db as Pool).getConnection(), (late) => late.release());
    let destroyed = false;
    try {
      const [result] = await d.guard(connection.query<T>(sql, params), () => {
        destroyed = true;
        // mysql2's destroy() only half-closes the socket, which a server that stopped
        // answering keeps open: the socket itself is destroyed too.
        const socket = (connection as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
        connection.destroy();
        socket?.destroy?.();
      });
      return result;
    } finally {
      if (!destroyed) connection.release();
    }
  }

  private rows(d: Deadline, sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
    return this.query<RowDataPacket[]>(d, sql, params);
  }

  private async run(d: Deadline, sql: string, params: unknown[] = []): Promise<number> {
    return (await this.query<ResultSetHeader>(d, sql, params)).affectedRows;
  }

  async createSchema(d: Deadline): Promise<void> {
    const names = this.indexesUsers ? [this.tableName, `${this.tableName}_users`] : [this.tableName];
    const found = await this.rows(d,
      `SELECT (SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (?)) AS n,
              (SELECT count(*) FROM information_schema.columns
                WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'filed') AS filed`,
      [names, `${this.tableName}_users`],
    );
    const filed = Number(found[0]!.filed) > 0;
    if (Number(found[0]!.n) === names.length && (filed || !this.indexesUsers)) return;
    const { id, expires, data } = this.c;
    // express-mysql-session's schema.sql, plus an index on `expires` for purging (which it
    // lacks; it changes nothing for express-mysql-session). IF NOT EXISTS under the server's
    // metadata lock makes creation by two processes at once harmless.
    await this.run(d,
      `CREATE TABLE IF NOT EXISTS ${this.table} (
         ${id} varchar(128) COLLATE utf8mb4_bin NOT NULL,
         ${expires} int(11) unsigned NOT NULL,
         ${data} mediumtext COLLATE utf8mb4_bin,
         PRIMARY KEY (${id}),
         KEY ${expires} (${expires})
       ) ENGINE=InnoDB`,
    );
    if (this.indexesUsers) {
      await this.run(d,
        `CREATE TABLE IF NOT EXISTS ${this.users} (
           \`user_id\` varchar(255) COLLATE utf8mb4_bin NOT NULL,
           \`session_id\` varchar(128) COLLATE utf8mb4_bin NOT NULL,
           \`filed\` bigint NOT NULL DEFAULT 0,
           PRIMARY KEY (\`user_id\`, \`session_id\`),
           KEY \`session_id\` (\`session_id\`)
         ) ENGINE=InnoDB`,
      );
      // A user index made before logins were ordered: existing entries count as the oldest.
      // Two processes adding it at once: the second finds it there (ER_DUP_FIELDNAME).
      if (!filed) {
        await this.run(d, `ALTER TABLE ${this.users} ADD COLUMN \`filed\` bigint NOT NULL DEFAULT 0`).catch((err) => {
          if ((err as { code?: unknown }).code !== 'ER_DUP_FIELDNAME') throw err;
        });
      }
    }
  }

  private toRow = (row: RowDataPacket): StoredRow & { sid: string } => ({
    sid: row.sid,
    text: typeof row.text === 'string' ? row.text : Buffer.isBuffer(row.text) ? row.text.toString('utf8') : '',
    expires: Number(row.expires) * 1000,
  });

  async read(d: Deadline, sid: string, now: number): Promise<StoredRow | null> {
    const { id, expires, data } = this.c;
    const rows = await this.rows(d,
      `SELECT ${data} AS text, ${expires} AS expires FROM ${this.table} WHERE ${id} = ? AND ${expires} > ?`, [sid, now / 1000]);
    return rows.length ? this.toRow(rows[0]!) : null;
  }

  async readAll(d: Deadline, now: number): Promise<Array<StoredRow & { sid: string }>> {
    const { id, expires, data } = this.c;
    const rows = await this.rows(d,
      `SELECT ${id} AS sid, ${data} AS text, ${expires} AS expires FROM ${this.table} WHERE ${expires} > ?`, [now / 1000]);
    return rows.map(this.toRow);
  }

  async ids(d: Deadline, now: number): Promise<string[]> {
    const { id, expires } = this.c;
    return (await this.rows(d, `SELECT ${id} AS sid FROM ${this.table} WHERE ${expires} > ?`, [now / 1000])).map((r) => r.sid);
  }

  async count(d: Deadline, now: number): Promise<number> {
    return Number((await this.rows(d, `SELECT count(*) AS n FROM ${this.table} WHERE ${this.c.expires} > ?`, [now / 1000]))[0]!.n);
  }

  // MySQL cannot write two tables in one statement, so a session's user is filed first, and its
  // row written after: a write that fails or times out half way leaves at most an entry for a
  // row that is not there, which is harmless (listing checks each entry against the live
  // record), and never a row its user's index misses. A session already filed is written in
  // one statement conditioned on its entry.

  private async fileUser(d: Deadline, sid: string, user: string | undefined): Promise<void> {
    if (user === undefined || !this.indexesUsers) return;
    // Not INSERT IGNORE: it would also hide a user id too long for the column.
    await this.run(d,
      `INSERT INTO ${this.users} (user_id, session_id) VALUES (?, ?) ON DUPLICATE KEY UPDATE user_id = user_id`, [user, sid]);
  }

  async write(d: Deadline, sid: string, text: string, expires: number, user: string | undefined): Promise<void> {
    const c = this.c;
    if (user !== undefined && this.indexesUsers) {
      // A save of a session already filed under its user is one statement (one commit): the
      // upsert applies only while the entry is there. Anything else files the user first.
      const saved = await this.run(d,
        `INSERT INTO ${this.table} (${c.id}, ${c.expires}, ${c.data})
         SELECT ?, ?, ? FROM DUAL WHERE EXISTS (SELECT 1 FROM ${this.users} WHERE user_id = ? AND session_id = ?)
         ON DUPLICATE KEY UPDATE ${c.expires} = VALUES(${c.expires}), ${c.data} = VALUES(${c.data})`,
        [sid, seconds(expires), text, user, sid],
      );
      if (saved > 0) return;
      await this.fileUser(d, sid, user);
    }
    await this.run(d,
      `INSERT INTO ${this.table} (${c.id}, ${c.expires}, ${c.data}) VALUES (?, ?, ?)
       ON DUPLICATE KEY UPDATE ${c.expires} = VALUES(${c.expires}), ${c.data} = VALUES(${c.data})`,
      [sid, seconds(expires), text],
    );
  }

  async writeIf(d: Deadline, sid: string, version: string, text: string, expires: number, now: number, user: string | undefined): Promise<boolean> {
    // As write: one statement for a session already filed under its user.
    if (user !== undefined && this.indexesUsers && await this.writeIfFiled(d, sid, version, text, expires, now, user)) return true;
    await this.fileUser(d, sid, user);
    const c = this.c;
    const changed = await this.run(d,
      `UPDATE ${this.table} SET ${c.data} = ?, ${c.expires} = ? WHERE ${c.id} = ? AND ${c.data} = ? AND ${c.expires} > ?`,
      [text, seconds(expires), sid, version, now / 1000],
    );
    return changed > 0;
  }

  /**
   * Statements on one connection, under the deadline: a pool's own (destroyed if the deadline
   * passes while a statement runs, which ends its transaction and frees its locks), or the
   * single connection, which other statements then leave alone until `work` is done.
   */
  private async oneConnection<T>(d: Deadline, work: (run: Run) => Promise<T>): Promise<T> {
    let connection: Queryable;
    let done: (() => void) | undefined;
    if (this.pooled) {
      connection = await d.checkout((this.db as Pool).getConnection(), (late) => late.release());
    } else {
      while (this.transaction) await this.transaction;
      this.transaction = new Promise<void>((resolve) => {
        done = resolve;
      });
      connection = this.db;
    }
    let destroyed = false;
    const destroy = () => {
      if (destroyed || !this.pooled) return;
      destroyed = true;
      const socket = (connection as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
      (connection as PoolConnection).destroy();
      socket?.destroy?.();
    };
    const run: Run = async (sql, params = []) => (await d.guard(connection.query(sql, params), destroy))[0] as never;
    try {
      return await work(run);
    } finally {
      if (this.pooled) {
        if (!destroyed) (connection as PoolConnection).release();
      } else {
        this.transaction = undefined;
        done!();
      }
    }
  }

  async writeIfFiled(d: Deadline, sid: string, version: string, text: string, expires: number, now: number, user: string): Promise<boolean> {
    const c = this.c;
    const changed = await this.run(d,
      `UPDATE ${this.table} SET ${c.data} = ?, ${c.expires} = ? WHERE ${c.id} = ? AND ${c.data} = ? AND ${c.expires} > ?
       AND EXISTS (SELECT 1 FROM ${this.users} WHERE user_id = ? AND session_id = ?)`,
      [text, seconds(expires), sid, version, now / 1000, user, sid],
    );
    return changed > 0;
  }

  async writeLimited(d: Deadline, w: LimitedWrite, admit: Admit): Promise<boolean> {
    const c = this.c;
    // A named lock per table and user (at most 64 characters), held across the transaction:
    // it serializes the logins of a user even before the user has a row to lock.
    const lock = `sessionkit:${createHash('sha1').update(`${this.tableName}\0${w.user}`).digest('base64')}`;
    const wait = this.lockWait ? Math.max(1, Math.ceil(this.lockWait / 1000)) : 31_536_000;
    return this.oneConnection(d, async (run) => {
      const [got] = await run<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS ok', [lock, wait]);
      if (Number(got!.ok) !== 1) throw new StoreTimeoutError('MySQLStore', this.lockWait, `MySQLStore: another login of the same user held its lock for ${wait} s`);
      try {
        await run('START TRANSACTION');
        try {
          if (w.version !== undefined) {
            const updated = await run<ResultSetHeader>(
              `UPDATE ${this.table} SET ${c.data} = ?, ${c.expires} = ? WHERE ${c.id} = ? AND ${c.data} = ? AND ${c.expires} > ?`,
              [w.text, seconds(w.expires), w.sid, w.version, w.now / 1000]);
            if (updated.affectedRows === 0) {
              await run('ROLLBACK');
              return false;
            }
          }
          const rows = await run<RowDataPacket[]>(`${this.userFiledSql} FOR UPDATE`, [w.now / 1000, w.user]);
          const { login, evict, drop } = admit(rows.map(this.toFiled));
          if (evict.length) {
            await run(`DELETE FROM ${this.table} WHERE ${c.id} IN (?)`, [evict]);
            await run(`DELETE FROM ${this.users} WHERE session_id IN (?)`, [evict]);
          }
          if (drop.length) await run(`DELETE FROM ${this.users} WHERE user_id = ? AND session_id IN (?)`, [w.user, drop]);
          if (w.version === undefined) {
            await run(
              `INSERT INTO ${this.table} (${c.id}, ${c.expires}, ${c.data}) VALUES (?, ?, ?)
               ON DUPLICATE KEY UPDATE ${c.expires} = VALUES(${c.expires}), ${c.data} = VALUES(${c.data})`,
              [w.sid, seconds(w.expires), w.text]);
          }
          if (login) {
            await run(`INSERT INTO ${this.users} (user_id, session_id, filed) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE filed = VALUES(filed)`,
              [w.user, w.sid, w.filed]);
          }
          await run('COMMIT');
          return true;
        } catch (err) {
          await run('ROLLBACK').catch(() => undefined);
          throw err;
        }
      } finally {
        await run('DO RELEASE_LOCK(?)', [lock]).catch(() => undefined);
      }
    });
  }

  async renew(d: Deadline, sid: string, expires: number, now: number): Promise<void> {
    const c = this.c;
    await this.run(d, `UPDATE ${this.table} SET ${c.expires} = ? WHERE ${c.id} = ? AND ${c.expires} > ?`, [seconds(expires), sid, now / 1000]);
  }

  /**
   * Deletes the rows `where` picks, and with a user index their entries, in one multi-table
   * DELETE: one round trip and one commit. An entry whose row is already gone stays (listing
   * drops it), as it would after a write that failed half way.
   */
  private removeWhere(d: Deadline, where: string, params: unknown[]): Promise<number> {
    if (!this.indexesUsers) return this.run(d, `DELETE FROM ${this.table} WHERE ${where}`, params);
    return this.run(d,
      `DELETE s, u FROM ${this.table} AS s LEFT JOIN ${this.users} AS u ON u.session_id = s.${this.c.id} WHERE ${where}`, params);
  }

  async remove(d: Deadline, sid: string): Promise<void> {
    await this.removeWhere(d, `${this.indexesUsers ? 's.' : ''}${this.c.id} = ?`, [sid]);
  }

  async removeMany(d: Deadline, sids: string[]): Promise<void> {
    if (sids.length) await this.removeWhere(d, `${this.indexesUsers ? 's.' : ''}${this.c.id} IN (?)`, [sids]);
  }

  async removeAll(d: Deadline): Promise<void> {
    await this.run(d, `DELETE FROM ${this.table}`);
    if (this.indexesUsers) await this.run(d, `DELETE FROM ${this.users}`);
  }

  /**
   * A plain SELECT (a consistent read: it locks nothing) finds a batch, walking the `expires`
   * index from its oldest end, then a DELETE by primary key locks only those rows, for one
   * short statement. The user index entries go after, only those whose row is gone: a row
   * written again between the two statements (a save reviving its session) keeps its entry.
   */
  async pruneBatch(d: Deadline, now: number, limit: number): Promise<number> {
    const { id, expires } = this.c;
    const cutoff = now / 1000;
    const sids = (await this.rows(d,
      `SELECT ${id} AS sid FROM ${this.table} WHERE ${expires} <= ? ORDER BY ${expires} LIMIT ${limit}`, [cutoff]))
      .map((r) => r.sid as string);
    if (sids.length === 0) return 0;
    const deleted = await this.run(d, `DELETE FROM ${this.table} WHERE ${id} IN (?) AND ${expires} <= ?`, [sids, cutoff]);
    if (this.indexesUsers) {
      await this.run(d,
        `DELETE u FROM ${this.users} AS u LEFT JOIN ${this.table} AS s ON s.${id} = u.session_id
         WHERE u.session_id IN (?) AND s.${id} IS NULL`, [sids]);
    }
    return deleted;
  }

  /** A user's filed sessions with their live rows: for listing, and (locking them) for a login under a limit. */
  private get userFiledSql(): string {
    const c = this.c;
    return `SELECT u.session_id AS sid, s.${c.data} AS text, s.${c.expires} AS expires, u.filed AS filed FROM ${this.users} AS u
            LEFT JOIN ${this.table} AS s ON s.${c.id} = u.session_id AND s.${c.expires} > ? WHERE u.user_id = ?`;
  }

  private toFiled = (r: RowDataPacket): FiledSession => ({
    sid: r.sid as string,
    text: r.text === null ? null : Buffer.isBuffer(r.text) ? r.text.toString('utf8') : String(r.text),
    expires: r.expires === null ? null : Number(r.expires) * 1000,
    filed: Number(r.filed),
  });

  async userFiled(d: Deadline, user: string, now: number): Promise<FiledSession[]> {
    return (await this.rows(d, this.userFiledSql, [now / 1000, user])).map(this.toFiled);
  }

  async userRemove(d: Deadline, user: string, sids: string[]): Promise<void> {
    if (sids.length) await this.run(d, `DELETE FROM ${this.users} WHERE user_id = ? AND session_id IN (?)`, [user, sids]);
  }

  async end(d: Deadline): Promise<void> {
    if (this.owned) await d.guard(this.db.end(), () => undefined);
  }
}
