/**
 * Migrating from connect-pg-simple and express-mysql-session without rewriting the store's
 * options: their option objects and call shapes work as they are (each checked end to end, a
 * session written by the old store read back through sessionkit and the reverse), and the
 * options with no equivalent are refused with an error that says what to use instead.
 */
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import mysql2 from 'mysql2';
import mysql from 'mysql2/promise';
import pg from 'pg';
import request from 'supertest';
import { MySQLStore } from '../../src/stores/sql/mysql.js';
import { PostgresStore } from '../../src/stores/sql/postgres.js';
import { counterApp, MYSQL_URL, POSTGRES_URL, uniqueTable } from '../helpers/sql.js';
import { record } from './conformance.js';

const require = createRequire(import.meta.url);
const expressSession = require('express-session');
const PGSimpleStore = require('connect-pg-simple')(expressSession);
const LegacyMySQLStore = require('express-mysql-session')(expressSession);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventually(check: () => Promise<void>, tries = 100): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await check();
    } catch (err) {
      if (i >= tries) throw err;
      await sleep(20);
    }
  }
}

/** A cookie with no expiry: its row lives for the store's ttl. */
const browserSession = () => ({ cookie: { originalMaxAge: null, expires: null, path: '/', httpOnly: true } }) as any;

/** Writes with the old store's app, reads and writes with sessionkit's, then with the old one again. */
async function sharedBothWays(legacyStore: unknown, store: unknown): Promise<void> {
  const legacy = request(counterApp(legacyStore, expressSession));
  const now = request(counterApp(store));
  const cookie = (await legacy.get('/count').expect(200, { count: 1 })).headers['set-cookie'];
  await now.get('/count').set('Cookie', cookie).expect(200, { count: 2 });
  await legacy.get('/count').set('Cookie', cookie).expect(200, { count: 3 });
  await now.get('/count').set('Cookie', cookie).expect(200, { count: 4 });
}

/** A session written and read back through an Express app on `store`. */
async function roundTrip(store: unknown): Promise<void> {
  const agent = request.agent(counterApp(store));
  await agent.get('/count').expect(200, { count: 1 });
  await agent.get('/count').expect(200, { count: 2 });
}

describe('PostgresStore with connect-pg-simple\'s options', () => {
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
  const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const schemas: string[] = [];
  // connect-pg-simple names its constraint after `session` whatever the table: a schema each.
  const schema = async () => {
    const name = uniqueTable('pgmig');
    schemas.push(name);
    await admin.query(`CREATE SCHEMA ${q(name)}`);
    return name;
  };
  afterAll(async () => {
    for (const name of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${q(name)} CASCADE`);
    await admin.end();
  });

  it('takes the options object written for connect-pg-simple as it is, on the same table both ways', async () => {
    const errors: unknown[] = [];
    const options = {
      conString: POSTGRES_URL,
      schemaName: await schema(),
      tableName: 'session',
      ttl: 3600,
      createTableIfMissing: true,
      pruneSessionInterval: false as const,
      pruneSessionRandomizedInterval: false as const,
      errorLog: (...args: unknown[]) => errors.push(args),
    };
    const theirs = new PGSimpleStore(options);
    const ours = new PostgresStore(options);
    await sharedBothWays(theirs, ours);
    // ttl is seconds in both: a browser-session cookie's row lives an hour.
    await ours.set('browser', browserSession());
    const { rows } = await admin.query(
      `SELECT extract(epoch FROM expire)::float8 AS at FROM ${q(options.schemaName)}.session WHERE sid = 'browser'`);
    expect(Math.abs(rows[0].at - (Date.now() / 1000 + 3600))).toBeLessThan(60);
    expect(errors).toEqual([]);
    await ours.close();
    await theirs.close();
  });

  it('conObject configures the pool it opens (and ends on close)', async () => {
    const app = uniqueTable('app');
    const store = new PostgresStore({
      conObject: { connectionString: POSTGRES_URL, application_name: app, max: 1 },
      schemaName: await schema(),
      pruneSessionInterval: false,
    });
    await roundTrip(store);
    const connections = async () =>
      (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app])).rows[0].n;
    expect(await connections()).toBe(1);
    await store.close();
    await eventually(async () => expect(await connections()).toBe(0));
  });

  it('createTableIfMissing: false creates nothing, and errorLog gets the errors nobody awaits (a purge\'s)', async () => {
    const errors: unknown[] = [];
    const store = new PostgresStore({
      conString: POSTGRES_URL,
      tableName: uniqueTable('pgnone'),
      createTableIfMissing: false,
      pruneSessionInterval: 0.05,
      errorLog: (err: unknown) => errors.push(err),
    });
    await expect(store.get('a')).rejects.toThrow(/does not exist/);
    await eventually(async () => expect(errors[0]).toMatchObject({ message: expect.stringMatching(/does not exist/) }));
    await store.close();
  });

  it('refuses the options it has no equivalent for, saying what to use', () => {
    const make = (options: any) => () => new PostgresStore({ connectionString: POSTGRES_URL, pruneInterval: false, ...options });
    expect(make({ pgPromise: { any() {} } })).toThrow('PostgresStore: the pgPromise option is not supported; pass the pg Pool under it instead: { pool: db.$pool }');
    expect(make({ disableTouch: true })).toThrow(/disableTouch option is not supported; set the session middleware's touchAfter option/);
    expect(make({ pruneSessionRandomizedInterval: (d: number) => d })).toThrow(/pruneSessionRandomizedInterval option is not supported.*pruneInterval/);
    expect(make({ conString: POSTGRES_URL })).toThrow('PostgresStore: the conString and connectionString options mean the same; give only connectionString');
    expect(make({ createTableIfMissing: true, createTable: true })).toThrow(/give only createTable/);
    expect(make({ pruneSessionInterval: 60, pruneInterval: 60 })).toThrow(/give only pruneInterval/);
    expect(make({ conObject: {} })).toThrow(/needs one of \{ pool \}.*\{ connectionString \} or \{ conObject \}/);
    expect(make({ tableName: 'public"."session' })).toThrow(/schema in the schemaName option/);
    expect(make({ errorLog: 'console' })).toThrow(/errorLog option must be a function/);
    // connect-pg-simple falls back to DATABASE_URL; here it is said where it goes.
    expect(() => new PostgresStore({})).toThrow(/pass \{ connectionString: process\.env\.DATABASE_URL \}/);
  });
});

describe('MySQLStore with express-mysql-session\'s options and call shape', () => {
  const admin = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2 });
  const tables: string[] = [];
  const table = (tag: string) => {
    const name = uniqueTable(tag);
    tables.push(name);
    return name;
  };
  afterAll(async () => {
    for (const name of tables) await admin.query(`DROP TABLE IF EXISTS \`${name}\``);
    await admin.end();
  });
  const url = new URL(MYSQL_URL);
  const server = {
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.slice(1),
  };

  it('takes a callback mysql2 pool as { pool }, and leaves it open on close', async () => {
    const pool = mysql2.createPool({ uri: MYSQL_URL, connectionLimit: 2 });
    const store = new MySQLStore({ pool, tableName: table('mycb'), pruneInterval: false });
    await roundTrip(store);
    await store.close();
    const [rows] = await pool.promise().query('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    await pool.promise().end();
  });

  it('new MySQLStore(options, connection), with each kind of connection express-mysql-session takes', async () => {
    const connections = {
      'a callback pool': () => mysql2.createPool({ uri: MYSQL_URL, connectionLimit: 2 }),
      'a callback connection': () => mysql2.createConnection({ uri: MYSQL_URL }),
      'a mysql2/promise pool': () => mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2 }),
      'the promise of a mysql2/promise connection': () => mysql.createConnection({ uri: MYSQL_URL }),
    };
    for (const [kind, open] of Object.entries(connections)) {
      const connection = open();
      const tableName = table('my2');
      const theirs = new LegacyMySQLStore({ schema: { tableName }, clearExpired: false }, await connection);
      const ours = new MySQLStore({ schema: { tableName }, clearExpired: false }, connection);
      await ours.onReady();
      await sharedBothWays(theirs, ours).catch((err) => {
        throw new Error(`${kind}: ${err.message}`);
      });
      // A connection passed in stays open, as with express-mysql-session.
      await ours.close();
      await theirs.close();
      const live = await connection;
      const promised = typeof (live as any).promise === 'function' ? (live as any).promise() : live;
      expect((await promised.query('SELECT 1 AS one'))[0], kind).toEqual([{ one: 1 }]);
      await promised.end();
    }
  });

  it('takes the options object written for express-mysql-session as it is: server, pool, schema with column names, expiration', async () => {
    const tableName = table('myopts');
    const options = {
      ...server,
      connectionLimit: 3,
      waitForConnections: true,
      createDatabaseTable: true,
      clearExpired: true,
      checkExpirationInterval: 900_000,
      expiration: 3_600_000,
      endConnectionOnClose: true,
      charset: 'utf8mb4_bin',
      schema: { tableName, columnNames: { session_id: 'sid_c', expires: 'exp_c', data: 'data_c' } },
    };
    // sessionkit creates the table, under the given column names; express-mysql-session then uses it.
    const ours = new MySQLStore(options);
    await ours.onReady();
    const [columns] = await admin.query(
      'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position',
      [tableName]);
    expect(columns).toEqual([{ name: 'sid_c' }, { name: 'exp_c' }, { name: 'data_c' }]);
    const theirs = new LegacyMySQLStore(options);
    await theirs.onReady();
    await sharedBothWays(theirs, ours);
    // expiration is milliseconds: a browser-session cookie's row lives an hour.
    await ours.set('browser', browserSession());
    const [rows] = await admin.query(`SELECT exp_c AS at FROM \`${tableName}\` WHERE sid_c = 'browser'`);
    expect(Math.abs((rows as any)[0].at - (Date.now() / 1000 + 3600))).toBeLessThan(60);
    await ours.close();
    await theirs.close();
  });

  it('checkExpirationInterval is milliseconds between purges', async () => {
    const tableName = table('mypurge');
    const store = new MySQLStore({ pool: admin, schema: { tableName }, checkExpirationInterval: 50 });
    await store.set('live', record());
    await store.set('old', record());
    await admin.query(`UPDATE \`${tableName}\` SET expires = 1 WHERE session_id = 'old'`);
    await eventually(async () => {
      const [rows] = await admin.query(`SELECT session_id FROM \`${tableName}\``);
      expect(rows).toEqual([{ session_id: 'live' }]);
    });
    await store.close();
  });

  it('endConnectionOnClose: true ends a pool passed in when the store closes', async () => {
    const pool = mysql2.createPool({ uri: MYSQL_URL, connectionLimit: 1 });
    const store = new MySQLStore({ endConnectionOnClose: true, schema: { tableName: table('myend') }, clearExpired: false }, pool);
    await roundTrip(store);
    await store.close();
    await expect(pool.promise().query('SELECT 1')).rejects.toThrow(/Pool is closed/);
  });

  it('refuses the options it has no equivalent for, or that contradict each other, saying what to use', () => {
    const make = (options: any, connection?: any) => () => new MySQLStore({ uri: MYSQL_URL, pruneInterval: false, ...options }, connection);
    expect(make({ disableTouch: true })).toThrow(
      "MySQLStore: the disableTouch option is not supported; set the session middleware's touchAfter option instead");
    expect(make({ expiration: 1000, ttl: 1 })).toThrow('MySQLStore: the expiration and ttl options mean the same; give only ttl');
    expect(make({ createDatabaseTable: false, createTable: false })).toThrow(/give only createTable/);
    expect(make({ clearExpired: true })).toThrow(/clearExpired and pruneInterval options mean the same; give only pruneInterval/);
    expect(make({ checkExpirationInterval: 1000 })).toThrow(/checkExpirationInterval and pruneInterval options mean the same/);
    expect(() => new MySQLStore({ uri: MYSQL_URL, clearExpired: false, checkExpirationInterval: 1000 })).toThrow(/clearExpired is false/);
    expect(make({ schema: { tableName: 'a' }, tableName: 'b' })).toThrow(/schema\.tableName and tableName options mean the same; give only tableName/);
    expect(make({ schema: { columnNames: { id: 'x' } } })).toThrow(/columnNames names the columns session_id, expires, data; got id/);
    expect(make({ schema: { tableName: 'a', engine: 'x' } })).toThrow(/schema option takes tableName and columnNames; got engine/);
    expect(make({ host: 'localhost' })).toThrow(/MySQLStore needs one of .*got more than one/);
    expect(make({ pool: admin }, admin)).toThrow(/not both/);
    expect(make({ endConnectionOnClose: 'yes' })).toThrow(/endConnectionOnClose option must be true or false/);
    expect(() => new MySQLStore({})).toThrow(/\{ host, port, user, password, database \}/);
  });
});
