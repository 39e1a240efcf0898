import { createHash } from 'node:crypto';
import type { Pool, PoolClient, PoolConfig, QueryConfig, QueryResult } from 'pg';
import {
  checkIdentifier, loadDriver, quoteIdentifier, refuseOption, renameOption, SqlStore,
  type Admit, type FiledSession, type LimitedWrite, type SqlBackend, type SqlStoreOptions, type StoredRow,
} from './backend.js';
import { SessionLimitError } from '../../errors.js';
import type { Deadline } from './deadline.js';

export type { SqlStoreOptions } from './backend.js';
export { StoreTimeoutError } from '../../errors.js';

export interface PostgresStoreOptions extends SqlStoreOptions {
  /** A `pg` Pool; it stays open when the store closes. */
  pool?: Pool;
  /** A connection string for a Pool the store opens itself (and ends on `close()`). */
  connectionString?: string;
  /** The configuration of a Pool the store opens itself (and ends on `close()`): connect-pg-simple's `conObject`. */
  conObject?: PoolConfig;
  /** connect-pg-simple's name for `connectionString`. */
  conString?: string;
  /** The session table. Default `session`, as connect-pg-simple. */
  tableName?: string;
  /** The table's schema. Default: the first schema of the connection's search_path. */
  schemaName?: string;
  /**
   * Runs the store's frequent statements (read, write, conditional write, touch, destroy) as
   * named prepared statements, which each connection parses and plans once. `false` sends each
   * statement unnamed, for a pooler that does not keep a server connection per client (PgBouncer
   * in transaction mode before 1.21, or without `max_prepared_statements`). Default true.
   */
  preparedStatements?: boolean;
  /** connect-pg-simple's name for `createTable`. */
  createTableIfMissing?: boolean;
  /** connect-pg-simple's name for `pruneInterval` (seconds, or false). */
  pruneSessionInterval?: number | false;
  /** connect-pg-simple's; `false` is accepted (purges here are never randomized). */
  pruneSessionRandomizedInterval?: false;
  /** Called with each error nobody awaits (a purge's, an idle connection's), as connect-pg-simple's `errorLog`. */
  errorLog?(error: unknown): void;
  /** @deprecated Not supported: pass pg-promise's pool, `{ pool: db.$pool }`. */
  pgPromise?: never;
  /** @deprecated Not supported: set `touchAfter` in the session options. */
  disableTouch?: never;
}

/** PostgreSQL's identifier limit (NAMEDATALEN - 1 bytes; checked here in characters). */
const MAX_IDENTIFIER = 63;

const STORE = 'PostgresStore';

/** connect-pg-simple's options under their names here, and a clear refusal of those with no equivalent. */
function fromConnectPgSimple(given: PostgresStoreOptions): PostgresStoreOptions {
  if (given === null || typeof given !== 'object') return given;
  const options: Record<string, unknown> = { ...given };
  renameOption(options, 'conString', 'connectionString', STORE);
  renameOption(options, 'createTableIfMissing', 'createTable', STORE);
  // connect-pg-simple reads 0 as its default, 15 minutes.
  renameOption(options, 'pruneSessionInterval', 'pruneInterval', STORE, (v) => (v === false ? false : v || 900));
  if (options.pruneSessionRandomizedInterval !== undefined && options.pruneSessionRandomizedInterval !== false) {
    throw new TypeError(
      `${STORE}: the pruneSessionRandomizedInterval option is not supported; purges run every pruneInterval seconds, ` +
        'in batches that skip rows in use, so processes purging at once do not block each other: remove it');
  }
  delete options.pruneSessionRandomizedInterval;
  refuseOption(options, 'pgPromise', STORE, 'pass the pg Pool under it instead: { pool: db.$pool }');
  refuseOption(options, 'disableTouch', STORE,
    "set the session middleware's touchAfter option instead (an unmodified session is touched at most once per period)");
  if (options.errorLog !== undefined && typeof options.errorLog !== 'function') {
    throw new TypeError(`${STORE}: errorLog option must be a function`);
  }
  return options;
}

/**
 * Sessions in PostgreSQL through `pg`. The table is connect-pg-simple's, to the byte: `sid`
 * varchar primary key, `sess` json, `expire` timestamp(6) with an index; so a connect-pg-simple
 * table is used as it is and nobody is logged out by the switch. A `json` column keeps the text
 * it was given, so that text is the version a conditional save compares.
 */
export class PostgresStore extends SqlStore {
  private readonly options: PostgresStoreOptions;
  readonly tableName: string;
  readonly schemaName: string | undefined;

  constructor(given: PostgresStoreOptions) {
    const options = fromConnectPgSimple(given);
    super(options ?? {}, STORE);
    const sources = [options?.pool, options?.connectionString, options?.conObject].filter((o) => o !== undefined).length;
    if (sources !== 1) {
      throw new TypeError(
        'PostgresStore needs one of { pool } (a pg Pool), { connectionString } or { conObject } (a pg Pool configuration)' +
          (sources ? '' : '; for connect-pg-simple\'s DATABASE_URL default, pass { connectionString: process.env.DATABASE_URL }'));
    }
    if (options.connectionString !== undefined && typeof options.connectionString !== 'string') {
      throw new TypeError('connectionString option must be a string');
    }
    if (options.conObject !== undefined && (options.conObject === null || typeof options.conObject !== 'object')) {
      throw new TypeError('conObject option must be a pg Pool configuration object');
    }
    // connect-pg-simple's old way to give a schema, which would here name one odd table.
    if (options.schemaName === undefined && typeof options.tableName === 'string' && options.tableName.includes('"."')) {
      throw new TypeError('PostgresStore: give the schema in the schemaName option, not inside tableName');
    }
    if (options.preparedStatements !== undefined && typeof options.preparedStatements !== 'boolean') {
      throw new TypeError('preparedStatements option must be true or false');
    }
    const errorLog = options.errorLog;
    if (errorLog) this.on('error', (err) => errorLog(err));
    this.tableName = checkIdentifier(options.tableName ?? 'session', 'tableName', MAX_IDENTIFIER);
    this.schemaName =
      options.schemaName === undefined ? undefined : checkIdentifier(options.schemaName, 'schemaName', MAX_IDENTIFIER);
    this.options = options;
  }

  protected async connect(): Promise<SqlBackend> {
    let pool = this.options.pool;
    let owned = false;
    if (!pool) {
      const pg = (await loadDriver('PostgresStore', 'pg', () => import('pg'))).default;
      const config: PoolConfig = this.options.conObject ?? { connectionString: this.options.connectionString };
      pool = new pg.Pool({
        // Idle connections of its own pool never keep the process alive, as the purge timer never does.
        allowExitOnIdle: true,
        // A connection attempt to a server that never answers is abandoned, so it holds no place in the pool.
        ...(this.commandTimeout ? { connectionTimeoutMillis: this.commandTimeout } : {}),
        ...config,
      });
      // An idle connection that breaks (a server restart) must not crash the process.
      pool.on('error', (err) => this.report(err));
      owned = true;
    }
    return new PostgresBackend(pool, owned, this.tableName, this.schemaName, this.indexesUsers, this.options.preparedStatements ?? true);
  }
}

/** A millisecond timestamp parameter as a `timestamp`, converted as connect-pg-simple's `to_timestamp` is. */
const at = (param: string) => `to_timestamp(${param}::float8 / 1000)::timestamp`;
/**
 * A row's expiry in milliseconds. The `timestamptz` cast reads the stored `timestamp` in the
 * connection's TimeZone, as `to_timestamp(...)::timestamp` wrote it; date_part gives a float8
 * (extract would compute a numeric), so no rounding is needed on the way out.
 */
const EXPIRES_MS = `date_part('epoch', expire::timestamptz) * 1000`;

/** A row of the userFiled statement (`filed` is a bigint, which pg gives as a string). */
const filedOf = (r: { sid: string; text: string | null; expires: number | null; filed: string | number }): FiledSession =>
  ({ sid: r.sid, text: r.text, expires: r.expires, filed: Number(r.filed) });

/** The statements sent as named prepared statements (those of every request). */
type Prepared = 'read' | 'write' | 'writeIf' | 'writeIfFiled' | 'renew' | 'remove';

class PostgresBackend implements SqlBackend {
  private readonly table: string;
  private readonly users: string;
  /** The quoted schema and a dot, or nothing for the search_path's. */
  private readonly schema: string;
  private readonly sql: Record<string, string>;
  private readonly prepared: Record<Prepared, { name?: string; text: string }>;

  constructor(
    private readonly pool: Pool,
    private readonly owned: boolean,
    private readonly tableName: string,
    private readonly schemaName: string | undefined,
    private readonly indexesUsers: boolean,
    prepare: boolean,
  ) {
    this.schema = schemaName === undefined ? '' : `${quoteIdentifier(schemaName, '"')}.`;
    this.table = this.schema + quoteIdentifier(tableName, '"');
    this.users = this.schema + quoteIdentifier(`${tableName}_users`, '"');
    const T = this.table;
    const U = this.users;
    // With a user index, the index entry is filed in the same statement as the write.
    const filed = (write: string, user: string) =>
      indexesUsers
        ? `WITH w AS (${write} RETURNING sid),
                f AS (INSERT INTO ${U} (user_id, sid) SELECT ${user}, sid FROM w WHERE ${user}::varchar IS NOT NULL ON CONFLICT DO NOTHING)
           SELECT count(*)::int AS n FROM w`
        : write;
    this.sql = {
      read: `SELECT sess::text AS text, ${EXPIRES_MS} AS expires FROM ${T} WHERE sid = $1 AND expire > ${at('$2')}`,
      readAll: `SELECT sid, sess::text AS text, ${EXPIRES_MS} AS expires FROM ${T} WHERE expire > ${at('$1')}`,
      ids: `SELECT sid FROM ${T} WHERE expire > ${at('$1')}`,
      count: `SELECT count(*)::int AS n FROM ${T} WHERE expire > ${at('$1')}`,
      write: filed(
        `INSERT INTO ${T} (sid, sess, expire) VALUES ($1, $2, ${at('$3')})
         ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expire = excluded.expire`,
        '$4',
      ),
      writeIf: filed(
        `UPDATE ${T} SET sess = $1, expire = ${at('$2')} WHERE sid = $3 AND sess::text = $4 AND expire > ${at('$5')}`,
        '$6',
      ),
      writeIfFiled: `UPDATE ${T} SET sess = $1, expire = ${at('$2')} WHERE sid = $3 AND sess::text = $4 AND expire > ${at('$5')}
                       AND EXISTS (SELECT 1 FROM ${U} WHERE user_id = $6 AND sid = $3)`,
      renew: `UPDATE ${T} SET expire = ${at('$1')} WHERE sid = $2 AND expire > ${at('$3')}`,
      remove: indexesUsers
        ? `WITH f AS (DELETE FROM ${U} WHERE sid = $1) DELETE FROM ${T} WHERE sid = $1`
        : `DELETE FROM ${T} WHERE sid = $1`,
      removeMany: indexesUsers
        ? `WITH f AS (DELETE FROM ${U} WHERE sid = ANY($1::varchar[])) DELETE FROM ${T} WHERE sid = ANY($1::varchar[])`
        : `DELETE FROM ${T} WHERE sid = ANY($1::varchar[])`,
      removeAll: indexesUsers ? `WITH f AS (DELETE FROM ${U}) DELETE FROM ${T}` : `DELETE FROM ${T}`,
      // SKIP LOCKED: rows a request is writing right now are left for the next batch, never waited on.
      // ORDER BY expire makes the planner walk the expiry index (without it, it picks a scan of
      // the whole table once expired rows are a sizeable share), and the batch is deleted by the
      // physical row addresses that walk found, so the primary key is not searched again.
      pruneBatch: `WITH gone AS (
                     DELETE FROM ${T} WHERE ctid = ANY(ARRAY(
                       SELECT ctid FROM ${T} WHERE expire <= ${at('$1')} ORDER BY expire LIMIT $2 FOR UPDATE SKIP LOCKED))
                     RETURNING sid)
                   ${indexesUsers ? `, f AS (DELETE FROM ${U} WHERE sid IN (SELECT sid FROM gone))` : ''}
                   SELECT count(*)::int AS n FROM gone`,
      // A user's filed sessions with their live rows: for listing, and for a login under a limit.
      userFiled: `SELECT u.sid, s.sess::text AS text, date_part('epoch', s.expire::timestamptz) * 1000 AS expires, u.filed
                  FROM ${U} u LEFT JOIN ${T} s ON s.sid = u.sid AND s.expire > ${at('$2')} WHERE u.user_id = $1`,
      lockUser: 'SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))',
      updateIf: `UPDATE ${T} SET sess = $1, expire = ${at('$2')} WHERE sid = $3 AND sess::text = $4 AND expire > ${at('$5')}`,
      upsert: `INSERT INTO ${T} (sid, sess, expire) VALUES ($1, $2, ${at('$3')})
               ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expire = excluded.expire`,
      fileLogin: `INSERT INTO ${U} (user_id, sid, filed) VALUES ($1, $2, $3)
                  ON CONFLICT (user_id, sid) DO UPDATE SET filed = excluded.filed`,
      userRemove: `DELETE FROM ${U} WHERE user_id = $1 AND sid = ANY($2::varchar[])`,
    };
    const statement = (text: string) =>
      prepare ? { name: `sessionkit_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`, text } : { text };
    this.prepared = {
      read: statement(this.sql.read!),
      write: statement(this.sql.write!),
      writeIf: statement(this.sql.writeIf!),
      writeIfFiled: statement(this.sql.writeIfFiled!),
      renew: statement(this.sql.renew!),
      remove: statement(this.sql.remove!),
    };
  }

  /**
   * A pool connection for `work`, under the deadline: one that comes after it is put back
   * unused, and one whose work outlives it is destroyed (pg then closes its socket), so the
   * pool makes a fresh one for the next caller. As pg's own pool.query, a connection whose
   * query failed is not reused.
   */
  private async using<T>(d: Deadline, work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await d.checkout(this.pool.connect(), (late) => late.release());
    // pg's pool listens for a connection's errors only while it is idle: one the server ends
    // while this store holds it would be an 'error' nobody hears, which ends the process.
    let lost: Error | undefined;
    const onError = (err: Error) => {
      lost = err;
    };
    client.on('error', onError);
    let released = false;
    const release = (err?: Error) => {
      if (released) return;
      released = true;
      client.removeListener('error', onError);
      client.release(err ?? lost);
    };
    try {
      const result = await d.guard(work(client), () => release(new Error('PostgresStore: abandoned at its deadline')));
      release();
      return result;
    } catch (err) {
      release(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  }

  private query(d: Deadline, sql: string, params?: unknown[]): Promise<QueryResult> {
    return this.using(d, (client) => client.query(sql, params));
  }

  /**
   * One of the frequent statements, named when prepared statements are on. The name is the
   * hash of the text, so stores over other tables sharing a pool never reuse each other's.
   */
  private named(d: Deadline, key: Prepared, values: unknown[]): Promise<QueryResult> {
    const query: QueryConfig = { ...this.prepared[key], values };
    return this.using(d, (client) => client.query(query));
  }

  async createSchema(d: Deadline): Promise<void> {
    const { rows } = await this.query(d,
      `SELECT to_regclass($1) IS NOT NULL AS sessions, to_regclass($2) IS NOT NULL AS users,
              EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($2) AND attname = 'filed' AND NOT attisdropped) AS filed`,
      [this.table, this.users],
    );
    if (rows[0].sessions && ((rows[0].users && rows[0].filed) || !this.indexesUsers)) return;
    const t = this.tableName;
    const name = (pattern: string) => quoteIdentifier(pattern.replace('%', () => t), '"');
    // A failure (or the deadline) destroys the connection, which rolls the transaction back.
    await this.using(d, async (client) => {
      await client.query('BEGIN');
      // Two processes creating the same table would race inside CREATE ... IF NOT EXISTS: one
      // waits for the other here, then finds everything in place.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sessionkit:${this.table}`]);
      if (this.schemaName !== undefined) {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(this.schemaName, '"')}`);
      }
      // connect-pg-simple's table.sql, with its constraint and index named after the table.
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (
           "sid" varchar NOT NULL COLLATE "default",
           "sess" json NOT NULL,
           "expire" timestamp(6) NOT NULL,
           CONSTRAINT ${name('%_pkey')} PRIMARY KEY ("sid") NOT DEFERRABLE INITIALLY IMMEDIATE
         )`,
      );
      await client.query(`CREATE INDEX IF NOT EXISTS ${name('IDX_%_expire')} ON ${this.table} ("expire")`);
      if (this.indexesUsers) {
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${this.users} (
             user_id varchar NOT NULL, sid varchar NOT NULL, filed bigint NOT NULL DEFAULT 0, PRIMARY KEY (user_id, sid))`,
        );
        // A user index made before logins were ordered: existing entries count as the oldest.
        await client.query(`ALTER TABLE ${this.users} ADD COLUMN IF NOT EXISTS filed bigint NOT NULL DEFAULT 0`);
        await client.query(`CREATE INDEX IF NOT EXISTS ${name('IDX_%_users_sid')} ON ${this.users} (sid)`);
      }
      await client.query('COMMIT');
    });
  }

  async read(d: Deadline, sid: string, now: number): Promise<StoredRow | null> {
    const { rows } = await this.named(d, 'read', [sid, now]);
    return rows[0] ?? null;
  }

  async readAll(d: Deadline, now: number): Promise<Array<StoredRow & { sid: string }>> {
    return (await this.query(d, this.sql.readAll, [now])).rows;
  }

  async ids(d: Deadline, now: number): Promise<string[]> {
    return (await this.query(d, this.sql.ids, [now])).rows.map((row) => row.sid);
  }

  async count(d: Deadline, now: number): Promise<number> {
    return (await this.query(d, this.sql.count, [now])).rows[0].n;
  }

  async write(d: Deadline, sid: string, text: string, expires: number, user: string | undefined): Promise<void> {
    await this.named(d, 'write', this.indexesUsers ? [sid, text, expires, user ?? null] : [sid, text, expires]);
  }

  async writeIf(d: Deadline, sid: string, version: string, text: string, expires: number, now: number, user: string | undefined): Promise<boolean> {
    const params = [text, expires, sid, version, now];
    if (this.indexesUsers) {
      const { rows } = await this.named(d, 'writeIf', [...params, user ?? null]);
      return rows[0].n > 0;
    }
    return ((await this.named(d, 'writeIf', params)).rowCount ?? 0) > 0;
  }

  async writeIfFiled(d: Deadline, sid: string, version: string, text: string, expires: number, now: number, user: string): Promise<boolean> {
    return ((await this.named(d, 'writeIfFiled', [text, expires, sid, version, now, user])).rowCount ?? 0) > 0;
  }

  async writeLimited(d: Deadline, w: LimitedWrite, admit: Admit): Promise<boolean> {
    const sql = this.sql;
    // A refusal rolls back and hands the connection back for reuse; any other failure destroys
    // it (see using), which rolls back too.
    const outcome = await this.using(d, async (client): Promise<boolean | SessionLimitError> => {
      await client.query('BEGIN');
      try {
        // Keyed by table and user: held to the end of the transaction, even for a user with no row yet.
        await client.query(sql.lockUser!, [this.table, w.user]);
        if (w.version !== undefined) {
          const updated = await client.query(sql.updateIf!, [w.text, w.expires, w.sid, w.version, w.now]);
          if (!updated.rowCount) {
            await client.query('ROLLBACK');
            return false;
          }
        }
        const { rows } = await client.query(sql.userFiled!, [w.user, w.now]);
        const { login, evict, drop } = admit(rows.map(filedOf));
        if (evict.length) await client.query(sql.removeMany!, [evict]);
        if (drop.length) await client.query(sql.userRemove!, [w.user, drop]);
        if (w.version === undefined) await client.query(sql.upsert!, [w.sid, w.text, w.expires]);
        if (login) await client.query(sql.fileLogin!, [w.user, w.sid, w.filed]);
        await client.query('COMMIT');
        return true;
      } catch (err) {
        if (!(err instanceof SessionLimitError)) throw err;
        await client.query('ROLLBACK');
        return err;
      }
    });
    if (outcome instanceof SessionLimitError) throw outcome;
    return outcome;
  }

  async renew(d: Deadline, sid: string, expires: number, now: number): Promise<void> {
    await this.named(d, 'renew', [expires, sid, now]);
  }

  async remove(d: Deadline, sid: string): Promise<void> {
    await this.named(d, 'remove', [sid]);
  }

  async removeMany(d: Deadline, sids: string[]): Promise<void> {
    if (sids.length) await this.query(d, this.sql.removeMany!, [sids]);
  }

  async removeAll(d: Deadline): Promise<void> {
    await this.query(d, this.sql.removeAll);
  }

  async pruneBatch(d: Deadline, now: number, limit: number): Promise<number> {
    return (await this.query(d, this.sql.pruneBatch, [now, limit])).rows[0].n;
  }

  async userFiled(d: Deadline, user: string, now: number): Promise<FiledSession[]> {
    return (await this.query(d, this.sql.userFiled!, [user, now])).rows.map(filedOf);
  }

  async userRemove(d: Deadline, user: string, sids: string[]): Promise<void> {
    await this.query(d, this.sql.userRemove, [user, sids]);
  }

  async end(d: Deadline): Promise<void> {
    if (this.owned) await d.guard(this.pool.end(), () => undefined);
  }
}
