import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import request from 'supertest';
import { MySQLStore } from '../../src/stores/sql/mysql.js';
import { counterApp, manySessionsOfOneUser, overlapAcrossServers, MYSQL_URL, purgeWhileServing, uniqueTable } from '../helpers/sql.js';
import { record, runConformance } from './conformance.js';

const require = createRequire(import.meta.url);
const expressSession = require('express-session');
const LegacyMySQLStore = require('express-mysql-session')(expressSession);

const admin = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 3 });
// Registered first, so it runs after the conformance suite's own cleanup.
afterAll(() => admin.end());

const q = (name: string) => `\`${name.replace(/`/g, '``')}\``;
async function drop(table: string): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS ${q(table)}, ${q(`${table}_users`)}`);
}
const rowCount = async (table: string) => Number(((await admin.query(`SELECT count(*) AS n FROM ${q(table)}`)) as any)[0][0].n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

runConformance({
  name: 'MySQLStore',
  userIndex: true,
  create: async (options) => new MySQLStore({ uri: MYSQL_URL, tableName: uniqueTable('myc'), pruneInterval: false, ...options }),
  dispose: async (store) => drop((store as unknown as MySQLStore).tableName),
  breakStore: async (store) => void (await store.close?.()),
});

describe('MySQLStore (on MariaDB)', () => {
  const tables: string[] = [];
  const table = (tag: string) => {
    const name = uniqueTable(tag);
    tables.push(name);
    return name;
  };
  afterAll(async () => {
    for (const name of tables) await drop(name);
  });

  function legacyStore(tableName: string) {
    return new LegacyMySQLStore({ createDatabaseTable: true, clearExpired: false, schema: { tableName } }, admin);
  }

  it('migrates from express-mysql-session and back with nobody logged out (its table)', async () => {
    const tableName = table('mym');
    const theirs = legacyStore(tableName);
    await theirs.onReady();
    const legacy = request(counterApp(theirs, expressSession));
    const cookie = (await legacy.get('/count').expect(200, { count: 1 })).headers['set-cookie'];
    await legacy.get('/count').set('Cookie', cookie).expect(200, { count: 2 });

    const store = new MySQLStore({ pool: admin, tableName, pruneInterval: false });
    const now = request(counterApp(store));
    await now.get('/count').set('Cookie', cookie).expect(200, { count: 3 });
    await now.get('/count').set('Cookie', cookie).expect(200, { count: 4 });

    await legacy.get('/count').set('Cookie', cookie).expect(200, { count: 5 });
    await now.get('/count').set('Cookie', cookie).expect(200, { count: 6 });
    expect(await rowCount(tableName)).toBe(1);
    await store.close();
    await theirs.close();
  });

  it('creates express-mysql-session\'s table (plus an index on expires), which it then uses', async () => {
    const theirName = table('myl');
    const ourName = table('myo');
    const theirs = legacyStore(theirName);
    await theirs.onReady();
    const store = new MySQLStore({ pool: admin, tableName: ourName, pruneInterval: false });
    const now = request(counterApp(store));
    const cookie = (await now.get('/count').expect(200, { count: 1 })).headers['set-cookie'];

    const columns = async (name: string) =>
      ((await admin.query(
        `SELECT column_name AS name, column_type AS type, is_nullable, collation_name, column_key
         FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`,
        [name])) as any)[0];
    const indexes = async (name: string) =>
      ((await admin.query(
        `SELECT DISTINCT index_name AS name FROM information_schema.statistics
         WHERE table_schema = DATABASE() AND table_name = ? ORDER BY index_name`, [name])) as any)[0].map((r: any) => r.name);
    const ours = await columns(ourName);
    expect(ours.map((c: any) => [c.name, c.type, c.collation_name])).toEqual([
      ['session_id', 'varchar(128)', 'utf8mb4_bin'],
      ['expires', 'int(11) unsigned', null],
      ['data', 'mediumtext', 'utf8mb4_bin'],
    ]);
    expect(ours.map((c: any) => ({ ...c, column_key: c.column_key === 'PRI' ? 'PRI' : '' })))
      .toEqual((await columns(theirName)).map((c: any) => ({ ...c, column_key: c.column_key })));
    expect(await indexes(theirName)).toEqual(['PRIMARY']);
    expect(await indexes(ourName)).toEqual(['expires', 'PRIMARY']);

    const theirsOnOurs = legacyStore(ourName);
    await theirsOnOurs.onReady();
    const legacy = request(counterApp(theirsOnOurs, expressSession));
    await legacy.get('/count').set('Cookie', cookie).expect(200, { count: 2 });
    await now.get('/count').set('Cookie', cookie).expect(200, { count: 3 });
    await store.close();
    await theirsOnOurs.close();
    await theirs.close();
  });

  it('keeps a session express-mysql-session touched alive: the row\'s expiry is the truth', async () => {
    const tableName = table('myt');
    const store = new MySQLStore({ pool: admin, tableName, pruneInterval: false });
    await store.set('touched', record({ user: 'ann' }));
    // Its cookie says it expired a minute ago, but a touch moved the row's expiry an hour ahead.
    await admin.query(`UPDATE ${q(tableName)} SET data = ?, expires = ? WHERE session_id = 'touched'`, [
      JSON.stringify(record({ user: 'ann' }, -60_000)), Math.round(Date.now() / 1000) + 3600,
    ]);
    const got = (await store.get('touched'))!;
    expect(got.user).toBe('ann');
    expect(Date.parse(got.cookie.expires as string)).toBeGreaterThan(Date.now() + 3_500_000);
    await admin.query(`UPDATE ${q(tableName)} SET data = ?, expires = ?`, [
      JSON.stringify(record({ user: 'ann' })), Math.floor(Date.now() / 1000) - 1,
    ]);
    expect(await store.get('touched')).toBeNull();
    expect(await store.length()).toBe(0);
    await store.close();
  });

  it('quotes odd table names safely', async () => {
    const tableName = table('my`x; DROP TABLE sessions; --');
    const store = new MySQLStore({ pool: admin, tableName, pruneInterval: false, userId: (d) => d.user });
    await store.set('a', record({ user: 'ann' }));
    expect(await store.get('a')).toMatchObject({ user: 'ann' });
    expect((await store.listUserSessions('ann')).map((s) => s.id)).toEqual(['a']);
    expect(await rowCount(tableName)).toBe(1);
    await store.close();
  });

  it('creating the schema twice, or by two processes at once, is harmless', async () => {
    const tableName = table('myx');
    // Each store has its own pool: to the server, as separate as two processes.
    const stores = Array.from({ length: 4 }, () =>
      new MySQLStore({ uri: MYSQL_URL, tableName, pruneInterval: false, userId: (d) => d.user }));
    await Promise.all(stores.map((s, i) => s.set(`s${i}`, record({ user: 'ann' }))));
    expect(await rowCount(tableName)).toBe(4);
    const again = new MySQLStore({ pool: admin, tableName, pruneInterval: false, userId: (d) => d.user });
    expect((await again.listUserSessions('ann')).map((s) => s.id).sort()).toEqual(['s0', 's1', 's2', 's3']);
    await Promise.all([...stores, again].map((s) => s.close()));

    const missing = new MySQLStore({ pool: admin, tableName: uniqueTable('myn'), createTable: false, pruneInterval: false });
    await expect(missing.get('a')).rejects.toThrow(/doesn't exist/);
    await missing.close();
  });

  it('close() ends only the pool it opened, and stops the purge timer', async () => {
    const tableName = table('myq');
    // A database of its own, so its connections can be counted apart from other tests'.
    const database = uniqueTable('mydb');
    await admin.query(`CREATE DATABASE ${q(database)}`);
    try {
      const url = new URL(MYSQL_URL);
      url.pathname = `/${database}`;
      const owning = new MySQLStore({ uri: url.toString(), tableName, pruneInterval: 0.05 });
      await owning.set('a', record());
      const connections = async () =>
        Number(((await admin.query('SELECT count(*) AS n FROM information_schema.processlist WHERE db = ?', [database])) as any)[0][0].n);
      expect(await connections()).toBeGreaterThan(0);
      await owning.close();
      for (let i = 0; i < 50 && (await connections()) > 0; i++) await sleep(20);
      expect(await connections()).toBe(0);
      await expect(owning.get('a')).rejects.toThrow(/MySQLStore is closed/);
    } finally {
      await admin.query(`DROP DATABASE ${q(database)}`);
    }

    const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 1 });
    const borrowing = new MySQLStore({ pool, tableName, pruneInterval: 0.05 });
    await borrowing.set('b', record());
    await borrowing.close();
    expect(((await pool.query('SELECT 1 AS one')) as any)[0][0].one).toBe(1);
    // The timer is stopped: an expired row stays until someone purges it.
    await admin.query(`UPDATE ${q(tableName)} SET expires = 1`);
    await sleep(200);
    expect(await rowCount(tableName)).toBe(1);
    await pool.end();
  });

  it('the unref\'d timer purges expired rows and their user index entries', async () => {
    const tableName = table('myp');
    const store = new MySQLStore({ pool: admin, tableName, pruneInterval: 0.05, pruneBatchSize: 2, userId: (d) => d.user });
    await store.set('live', record({ user: 'ann' }));
    for (const sid of ['e1', 'e2', 'e3', 'e4', 'e5']) await store.set(sid, record({ user: 'ann' }));
    await admin.query(`UPDATE ${q(tableName)} SET expires = 1 WHERE session_id <> 'live'`);
    for (let i = 0; i < 100 && (await rowCount(tableName)) > 1; i++) await sleep(20);
    expect(((await admin.query(`SELECT session_id FROM ${q(tableName)}`)) as any)[0]).toEqual([{ session_id: 'live' }]);
    expect(((await admin.query(`SELECT session_id FROM ${q(`${tableName}_users`)}`)) as any)[0]).toEqual([{ session_id: 'live' }]);
    await store.close();
  });

  it('keeps every change of overlapping requests served by two app servers', async () => {
    const tableName = table('myo2');
    const [one, two] = [new MySQLStore({ uri: MYSQL_URL, tableName, pruneInterval: false }), new MySQLStore({ uri: MYSQL_URL, tableName, pruneInterval: false })];
    await overlapAcrossServers(one, two);
    await Promise.all([one.close(), two.close()]);
  });

  it('purges 100k expired rows while requests keep being served', async () => {
    const tableName = table('myb');
    const store = new MySQLStore({ pool: admin, tableName, pruneInterval: false });
    await purgeWhileServing({
      store,
      insertExpired: async (n) => {
        // 0..99999 from five tables of digits: one statement, on MySQL as well as MariaDB.
        const digits = `(${Array.from({ length: 10 }, (_, i) => `SELECT ${i} AS d`).join(' UNION ALL ')})`;
        await admin.query(
          `INSERT INTO ${q(tableName)} (session_id, expires, data)
           SELECT CONCAT('expired-', n), ?, ? FROM (
             SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS n
             FROM ${digits} a, ${digits} b, ${digits} c, ${digits} e, ${digits} f) AS seq
           WHERE n < ?`,
          [Math.floor(Date.now() / 1000) - 60, JSON.stringify(record({ old: true }, -60_000)), n],
        );
      },
      countRows: () => rowCount(tableName),
    });
    await store.close();
  });

  it('lists and ends a user\'s 2,500 sessions, a thousand per statement', async () => {
    const tableName = table('mym');
    const store = new MySQLStore({ pool: admin, tableName, pruneInterval: false, userId: (d) => d.user });
    await manySessionsOfOneUser({
      store,
      expireRows: async (sids) => {
        await admin.query(`UPDATE ${q(tableName)} SET expires = unix_timestamp() - 60 WHERE session_id IN (?)`, [sids]);
      },
      filed: async (user) =>
        ((await admin.query(`SELECT session_id FROM ${q(`${tableName}_users`)} WHERE user_id = ?`, [user])) as any)[0]
          .map((r: any) => r.session_id),
    });
    await store.close();
  });
});
