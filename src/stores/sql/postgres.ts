import type { Pool } from 'pg';
import { checkIdentifier, loadDriver, quoteIdentifier, SqlStore, type SqlBackend, type SqlStoreOptions, type StoredRow } from './backend.js';

export type { SqlStoreOptions } from './backend.js';

export interface PostgresStoreOptions extends SqlStoreOptions {
  /** A `pg` Pool; it stays open when the store closes. */
  pool?: Pool;
  /** A connection string for a Pool the store opens itself (and ends on `close()`). */
  connectionString?: string;
  /** The session table. Default `session`, as connect-pg-simple. */
  tableName?: string;
  /** The table's schema. Default: the first schema of the connection's search_path. */
  schemaName?: string;
}

/** PostgreSQL's identifier limit (NAMEDATALEN - 1 bytes; checked here in characters). */
const MAX_IDENTIFIER = 63;

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

  constructor(options: PostgresStoreOptions) {
    super(options ?? {}, 'PostgresStore');
    if (!options || (options.pool === undefined) === (options.connectionString === undefined)) {
      throw new TypeError('PostgresStore needs either { pool } (a pg Pool) or { connectionString }');
    }
    if (options.connectionString !== undefined && typeof options.connectionString !== 'string') {
      throw new TypeError('connectionString option must be a string');
    }
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
      // Idle connections of its own pool never keep the process alive, as the purge timer never does.
      pool = new pg.Pool({ connectionString: this.options.connectionString, allowExitOnIdle: true });
      // An idle connection that breaks (a server restart) must not crash the process.
      pool.on('error', (err) => this.report(err));
      owned = true;
    }
    return new PostgresBackend(pool, owned, this.tableName, this.schemaName, this.indexesUsers);
  }
}

/** A millisecond timestamp parameter as a `timestamp`, converted as connect-pg-simple's `to_timestamp` is. */
const at = (param: string) => `to_timestamp(${param}::float8 / 1000)::timestamp`;

class PostgresBackend implements SqlBackend {
  private readonly table: string;
  private readonly users: string;
  /** The quoted schema and a dot, or nothing for the search_path's. */
  private readonly schema: string;
  private readonly sql: Record<string, string>;

  constructor(
    private readonly pool: Pool,
    private readonly owned: boolean,
    private readonly tableName: string,
    private readonly schemaName: string | undefined,
    private readonly indexesUsers: boolean,
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
      read: `SELECT sess::text AS text, round(extract(epoch FROM expire::timestamptz) * 1000)::float8 AS expires
             FROM ${T} WHERE sid = $1 AND expire > ${at('$2')}`,
      readAll: `SELECT sid, sess::text AS text, round(extract(epoch FROM expire::timestamptz) * 1000)::float8 AS expires
                FROM ${T} WHERE expire > ${at('$1')}`,
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
      renew: `UPDATE ${T} SET expire = ${at('$1')} WHERE sid = $2 AND expire > ${at('$3')}`,
      remove: indexesUsers
        ? `WITH f AS (DELETE FROM ${U} WHERE sid = $1) DELETE FROM ${T} WHERE sid = $1`
        : `DELETE FROM ${T} WHERE sid = $1`,
      removeAll: indexesUsers ? `WITH f AS (DELETE FROM ${U}) DELETE FROM ${T}` : `DELETE FROM ${T}`,
      // SKIP LOCKED: rows a request is writing right now are left for the next batch, never waited on.
      pruneBatch: `WITH gone AS (
                     DELETE FROM ${T} WHERE sid IN (
                       SELECT sid FROM ${T} WHERE expire <= ${at('$1')} LIMIT $2 FOR UPDATE SKIP LOCKED)
                     RETURNING sid)
                   ${indexesUsers ? `, f AS (DELETE FROM ${U} WHERE sid IN (SELECT sid FROM gone))` : ''}
                   SELECT count(*)::int AS n FROM gone`,
      userMembers: `SELECT sid FROM ${U} WHERE user_id = $1`,
      userRemove: `DELETE FROM ${U} WHERE user_id = $1 AND sid = ANY($2::varchar[])`,
    };
  }

  async createSchema(): Promise<void> {
    const { rows } = await this.pool.query(
      'SELECT to_regclass($1) IS NOT NULL AS sessions, to_regclass($2) IS NOT NULL AS users',
      [this.table, this.users],
    );
    if (rows[0].sessions && (rows[0].users || !this.indexesUsers)) return;
    const t = this.tableName;
    const name = (pattern: string) => quoteIdentifier(pattern.replace('%', () => t), '"');
    const client = await this.pool.connect();
    try {
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
             user_id varchar NOT NULL, sid varchar NOT NULL, PRIMARY KEY (user_id, sid))`,
        );
        await client.query(`CREATE INDEX IF NOT EXISTS ${name('IDX_%_users_sid')} ON ${this.users} (sid)`);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async read(sid: string, now: number): Promise<StoredRow | null> {
    const { rows } = await this.pool.query(this.sql.read, [sid, now]);
    return rows[0] ?? null;
  }

  async readAll(now: number): Promise<Array<StoredRow & { sid: string }>> {
    return (await this.pool.query(this.sql.readAll, [now])).rows;
  }

  async ids(now: number): Promise<string[]> {
    return (await this.pool.query(this.sql.ids, [now])).rows.map((row) => row.sid);
  }

  async count(now: number): Promise<number> {
    return (await this.pool.query(this.sql.count, [now])).rows[0].n;
  }

  async write(sid: string, text: string, expires: number, user: string | undefined): Promise<void> {
    await this.pool.query(this.sql.write, this.indexesUsers ? [sid, text, expires, user ?? null] : [sid, text, expires]);
  }

  async writeIf(sid: string, version: string, text: string, expires: number, now: number, user: string | undefined): Promise<boolean> {
    const params = [text, expires, sid, version, now];
    if (this.indexesUsers) {
      const { rows } = await this.pool.query(this.sql.writeIf, [...params, user ?? null]);
      return rows[0].n > 0;
    }
    return ((await this.pool.query(this.sql.writeIf, params)).rowCount ?? 0) > 0;
  }

  async renew(sid: string, expires: number, now: number): Promise<void> {
    await this.pool.query(this.sql.renew, [expires, sid, now]);
  }

  async remove(sid: string): Promise<void> {
    await this.pool.query(this.sql.remove, [sid]);
  }

  async removeAll(): Promise<void> {
    await this.pool.query(this.sql.removeAll);
  }

  async pruneBatch(now: number, limit: number): Promise<number> {
    return (await this.pool.query(this.sql.pruneBatch, [now, limit])).rows[0].n;
  }

  async userMembers(user: string): Promise<string[]> {
    return (await this.pool.query(this.sql.userMembers, [user])).rows.map((row) => row.sid);
  }

  async userRemove(user: string, sids: string[]): Promise<void> {
    await this.pool.query(this.sql.userRemove, [user, sids]);
  }

  async end(): Promise<void> {
    if (this.owned) await this.pool.end();
  }
}
