import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import request from 'supertest';
import { PostgresStore } from '../../src/stores/sql/postgres.js';
import { counterApp, manySessionsOfOneUser, overlapAcrossServers, POSTGRES_URL, purgeWhileServing, uniqueTable } from '../helpers/sql.js';
import { record, runConformance } from './conformance.js';

const require = createRequire(import.meta.url);
const expressSession = require('express-session');
const PGSimpleStore = require('connect-pg-simple')(expressSession);

const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
// Registered first, so it runs after the conformance suite's own cleanup.
afterAll(() => admin.end());

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
async function drop(table: string): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS ${q(table)}, ${q(`${table}_users`)}`);
}
const rowCount = async (table: string) => (await admin.query(`SELECT count(*)::int AS n FROM ${q(table)}`)).rows[0].n;

runConformance({
  name: 'PostgresStore',
  userIndex: true,
  create: async (options) =>
    new PostgresStore({ connectionString: POSTGRES_URL, tableName: uniqueTable('pgc'), pruneInterval: false, ...options }),
  dispose: async (store) => drop((store as unknown as PostgresStore).tableName),
  breakStore: async (store) => void (await store.close?.()),
});

describe('PostgresStore', () => {
  const tables: string[] = [];
  const table = (tag: string) => {
    const name = uniqueTable(tag);
    tables.push(name);
    return name;
  };
  afterAll(async () => {
    for (const name of tables) await drop(name);
  });

  // connect-pg-simple names its constraint and index after `session` whatever the table, so
  // each of its tables lives in a schema of its own.
  const schemas: string[] = [];
  const schema = () => {
    const name = uniqueTable('pgschema');
    schemas.push(name);
    return name;
  };
  afterAll(async () => {
    for (const name of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${q(name)} CASCADE`);
  });

  it('migrates from connect-pg-simple and back with nobody logged out (its table)', async () => {
    const schemaName = schema();
    await admin.query(`CREATE SCHEMA ${q(schemaName)}`);
    const legacyStore = new PGSimpleStore({ pool: admin, schemaName, createTableIfMissing: true, pruneSessionInterval: false });
    const legacy = request(counterApp(legacyStore, expressSession));
    const cookie = (await legacy.get('/count').expect(200, { count: 1 })).headers['set-cookie'];
    await legacy.get('/count').set('Cookie', cookie).expect(200, { count: 2 });

    const store = new PostgresStore({ pool: admin, schemaName, pruneInterval: false });
    const now = request(counterApp(store));
    await now.get('/count').set('Cookie', cookie).expect(200, { count: 3 });
    await now.get('/count').set('Cookie', cookie).expect(200, { count: 4 });

    await legacy.get('/count').set('Cookie', cookie).expect(200, { count: 5 });
    await now.get('/count').set('Cookie', cookie).expect(200, { count: 6 });
    expect((await admin.query(`SELECT count(*)::int AS n FROM ${q(schemaName)}.session`)).rows[0].n).toBe(1);
    await store.close();
    await legacyStore.close();
  });

  it('creates exactly connect-pg-simple\'s table, which connect-pg-simple then uses', async () => {
    const theirs = schema();
    const ours = schema();
    await admin.query(`CREATE SCHEMA ${q(theirs)}`);
    const legacyStore = new PGSimpleStore({ pool: admin, schemaName: theirs, createTableIfMissing: true, pruneSessionInterval: false });
    await new Promise((resolve, reject) => legacyStore.get('none', (err: unknown) => (err ? reject(err) : resolve(null))));
    const store = new PostgresStore({ pool: admin, schemaName: ours, pruneInterval: false });
    const now = request(counterApp(store));
    const cookie = (await now.get('/count').expect(200, { count: 1 })).headers['set-cookie'];

    const layout = async (schemaName: string) => {
      const columns = await admin.query(
        `SELECT column_name, data_type, is_nullable, datetime_precision, collation_name, column_default
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'session' ORDER BY ordinal_position`,
        [schemaName]);
      const indexes = await admin.query(
        `SELECT indexname, replace(indexdef, $1, 'S') AS def FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`,
        [schemaName]);
      const constraints = await admin.query(
        `SELECT conname, contype, condeferrable, condeferred FROM pg_constraint
         WHERE conrelid = to_regclass($1) ORDER BY conname`, [`${q(schemaName)}.session`]);
      return { columns: columns.rows, indexes: indexes.rows, constraints: constraints.rows };
    };
    const mine = await layout(ours);
    expect(mine.columns.map((c) => [c.column_name, c.data_type, c.is_nullable, c.datetime_precision])).toEqual([
      ['sid', 'character varying', 'NO', null],
      ['sess', 'json', 'NO', null],
      ['expire', 'timestamp without time zone', 'NO', 6],
    ]);
    expect(mine.indexes.map((i) => i.indexname)).toEqual(['IDX_session_expire', 'session_pkey']);
    expect(mine).toEqual(await layout(theirs));

    const legacyOnOurs = new PGSimpleStore({ pool: admin, schemaName: ours, pruneSessionInterval: false });
    const legacy = request(counterApp(legacyOnOurs, expressSession));
    await legacy.get('/count').set('Cookie', cookie).expect(200, { count: 2 });
    await now.get('/count').set('Cookie', cookie).expect(200, { count: 3 });
    await store.close();
    await legacyOnOurs.close();
    await legacyStore.close();
  });

  it('keeps a session connect-pg-simple touched alive: the row\'s expiry is the truth', async () => {
    const tableName = table('pgt');
    const store = new PostgresStore({ pool: admin, tableName, pruneInterval: false });
    const sess = record({ user: 'ann' }, -60_000); // its cookie says it expired a minute ago...
    await store.set('touched', record({ user: 'ann' }));
    // ...but connect-pg-simple's touch moved only the row's expiry, an hour ahead.
    await admin.query(`UPDATE ${q(tableName)} SET sess = $1, expire = to_timestamp($2) WHERE sid = 'touched'`, [
      JSON.stringify(sess), Math.ceil(Date.now() / 1000) + 3600,
    ]);
    const got = (await store.get('touched'))!;
    expect(got.user).toBe('ann');
    expect(Date.parse(got.cookie.expires as string)).toBeGreaterThan(Date.now() + 3_500_000);
    // A row whose expiry has passed is never returned, whatever its cookie says.
    await admin.query(`UPDATE ${q(tableName)} SET sess = $1, expire = now() - interval '1 second'`, [
      JSON.stringify(record({ user: 'ann' })),
    ]);
    expect(await store.get('touched')).toBeNull();
    expect(await store.length()).toBe(0);
    await store.close();
  });

  it('uses schemaName and odd table names, quoted safely', async () => {
    const schemaName = `${uniqueTable('pgs')} "sch"`;
    const tableName = 'x"; DROP TABLE session; --';
    const store = new PostgresStore({ pool: admin, schemaName, tableName, pruneInterval: false, userId: (d) => d.user });
    try {
      await store.set('a', record({ user: 'ann' }));
      expect(await store.get('a')).toMatchObject({ user: 'ann' });
      expect((await store.listUserSessions('ann')).map((s) => s.id)).toEqual(['a']);
      const { rows } = await admin.query('SELECT to_regclass($1) AS t', [`${q(schemaName)}.${q(tableName)}`]);
      expect(rows[0].t).not.toBeNull();
    } finally {
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${q(schemaName)} CASCADE`);
    }
  });

  it('creating the schema twice, or by two processes at once, is harmless', async () => {
    const tableName = table('pgx');
    // Each store has its own pool: to the server, as separate as two processes.
    const stores = Array.from({ length: 4 }, () =>
      new PostgresStore({ connectionString: POSTGRES_URL, tableName, pruneInterval: false, userId: (d) => d.user }));
    await Promise.all(stores.map((s, i) => s.set(`s${i}`, record({ user: 'ann' }))));
    expect(await rowCount(tableName)).toBe(4);
    const again = new PostgresStore({ pool: admin, tableName, pruneInterval: false, userId: (d) => d.user });
    expect((await again.listUserSessions('ann')).map((s) => s.id).sort()).toEqual(['s0', 's1', 's2', 's3']);
    await Promise.all([...stores, again].map((s) => s.close()));

    const missing = new PostgresStore({ pool: admin, tableName: uniqueTable('pgn'), createTable: false, pruneInterval: false });
    await expect(missing.get('a')).rejects.toThrow(/does not exist/);
    await missing.close();
  });

  it('close() ends only the pool it opened, and stops the purge timer', async () => {
    const tableName = table('pgq');
    const app = uniqueTable('app');
    const url = `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}application_name=${app}`;
    const owning = new PostgresStore({ connectionString: url, tableName, pruneInterval: 0.05 });
    await owning.set('a', record());
    const connections = async () =>
      (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app])).rows[0].n;
    expect(await connections()).toBeGreaterThan(0);
    await owning.close();
    for (let i = 0; i < 50 && (await connections()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await connections()).toBe(0);
    await expect(owning.get('a')).rejects.toThrow(/PostgresStore is closed/);

    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
    const borrowing = new PostgresStore({ pool, tableName, pruneInterval: 0.05 });
    await borrowing.set('b', record());
    await borrowing.close();
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    // The timer is stopped: an expired row stays until someone purges it.
    await admin.query(`UPDATE ${q(tableName)} SET expire = now() - interval '1 minute'`);
    await new Promise((r) => setTimeout(r, 200));
    expect(await rowCount(tableName)).toBe(2);
    await pool.end();
  });

  it('the unref\'d timer purges expired rows and their user index entries', async () => {
    const tableName = table('pgp');
    const store = new PostgresStore({ pool: admin, tableName, pruneInterval: 0.05, pruneBatchSize: 2, userId: (d) => d.user });
    await store.set('live', record({ user: 'ann' }));
    for (const sid of ['e1', 'e2', 'e3', 'e4', 'e5']) await store.set(sid, record({ user: 'ann' }));
    await admin.query(`UPDATE ${q(tableName)} SET expire = now() - interval '1 minute' WHERE sid <> 'live'`);
    for (let i = 0; i < 100 && (await rowCount(tableName)) > 1; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await admin.query(`SELECT sid FROM ${q(tableName)}`)).rows).toEqual([{ sid: 'live' }]);
    expect((await admin.query(`SELECT sid FROM ${q(`${tableName}_users`)}`)).rows).toEqual([{ sid: 'live' }]);
    await store.close();
  });

  it('keeps every change of overlapping requests served by two app servers', async () => {
    const tableName = table('pgo2');
    const [one, two] = [new PostgresStore({ connectionString: POSTGRES_URL, tableName, pruneInterval: false }), new PostgresStore({ connectionString: POSTGRES_URL, tableName, pruneInterval: false })];
    await overlapAcrossServers(one, two);
    await Promise.all([one.close(), two.close()]);
  });

  it('purges 100k expired rows while requests keep being served', async () => {
    const tableName = table('pgb');
    const store = new PostgresStore({ pool: admin, tableName, pruneInterval: false });
    await purgeWhileServing({
      store,
      insertExpired: async (n) => {
        await admin.query(
          `INSERT INTO ${q(tableName)} (sid, sess, expire)
           SELECT 'expired-' || i, $1::json, now() - interval '1 minute' FROM generate_series(1, $2::int) AS i`,
          [JSON.stringify(record({ old: true }, -60_000)), n],
        );
      },
      countRows: () => rowCount(tableName),
    });
    await store.close();
  });

  it('lists and ends a user\'s 2,500 sessions, a thousand per statement', async () => {
    const tableName = table('pgm');
    const store = new PostgresStore({ pool: admin, tableName, pruneInterval: false, userId: (d) => d.user });
    await manySessionsOfOneUser({
      store,
      expireRows: async (sids) => {
        await admin.query(`UPDATE ${q(tableName)} SET expire = now()::timestamp - interval '1 minute' WHERE sid = ANY($1)`, [sids]);
      },
      filed: async (user) =>
        (await admin.query(`SELECT sid FROM ${q(`${tableName}_users`)} WHERE user_id = $1`, [user])).rows.map((r) => r.sid),
    });
    await store.close();
  });

  it('prepares its frequent statements on each connection, unless preparedStatements is false', async () => {
    const prepared = async (preparedStatements: boolean | undefined) => {
      // One connection: the store's statements and the look at what it prepared share it.
      const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
      const tableName = table('pgps');
      const store = new PostgresStore({ pool, tableName, pruneInterval: false, userId: (d) => d.user, preparedStatements });
      // A second store on another table and the same connection: its statements are its own.
      const other = new PostgresStore({ pool, tableName: table('pgps'), pruneInterval: false, preparedStatements });
      try {
        await store.set('a', record({ user: 'ann' }));
        await other.set('a', record({ user: 'bob' }));
        expect(await store.get('a')).toMatchObject({ user: 'ann' });
        expect(await other.get('a')).toMatchObject({ user: 'bob' });
        await store.touch('a', record({ user: 'ann' }));
        await store.destroy('a');
        expect(await store.get('a')).toBeNull();
        const { rows } = await pool.query("SELECT statement FROM pg_prepared_statements WHERE name LIKE 'sessionkit\\_%'");
        return rows.map((r) => r.statement as string);
      } finally {
        await store.close();
        await other.close();
        await pool.end();
      }
    };
    const named = await prepared(undefined);
    // read, write, renew and remove of the first store; read and write of the second.
    expect(named).toHaveLength(6);
    expect(named.some((text) => text.includes('SELECT sess::text'))).toBe(true);
    expect(await prepared(false)).toEqual([]);
    expect(() => new PostgresStore({ pool: admin, preparedStatements: 'no' as unknown as boolean })).toThrow(/preparedStatements/);
  });
});
