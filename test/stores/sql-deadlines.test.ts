/**
 * The SQL stores' deadline (`commandTimeout`) against the faults a real deployment meets: a
 * pool held by long queries, a server that stops answering (a proxy that holds every byte, as a
 * paused server would), a SQLite file locked by another connection. Each request fails with a
 * StoreTimeoutError instead of waiting, a write the deadline cut off is never applied later
 * unless it was already on its way, and the store carries on by itself once the fault ends.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import request from 'supertest';
import { RedisTimeoutError, StoreTimeoutError } from '../../src/errors.js';
import { MySQLStore } from '../../src/stores/sql/mysql.js';
import { PostgresStore } from '../../src/stores/sql/postgres.js';
import { SQLiteStore } from '../../src/stores/sql/sqlite.js';
import { faultApp, FreezableProxy, MYSQL_URL, POSTGRES_URL, uniqueTable } from '../helpers/sql.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TIMEOUT = { name: 'StoreTimeoutError', code: 'ETIMEDOUT' };

/** Retries `attempt` until it passes: the store recovers on its own, within a few tries. */
async function eventually<T>(attempt: () => Promise<T>, tries = 50): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= tries) throw err;
      await sleep(100);
    }
  }
}

describe('the timeout error', () => {
  it('StoreTimeoutError has a stable code; RedisTimeoutError is one, with its message unchanged', () => {
    const err = new StoreTimeoutError('PostgresStore', 2000);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'StoreTimeoutError', code: 'ETIMEDOUT', store: 'PostgresStore', ms: 2000 });
    expect(err.message).toBe('PostgresStore: the database did not answer within 2000 ms (commandTimeout)');
    const redis = new RedisTimeoutError(150);
    expect(redis).toBeInstanceOf(StoreTimeoutError);
    expect(redis).toMatchObject({ name: 'RedisTimeoutError', code: 'ETIMEDOUT', store: 'RedisStore', ms: 150 });
    expect(redis.message).toBe('Redis did not answer within 150 ms (RedisStore commandTimeout)');
  });

  it('commandTimeout must be milliseconds, 0 or more', () => {
    expect(() => new PostgresStore({ connectionString: POSTGRES_URL, commandTimeout: -1 })).toThrow(/commandTimeout option must be milliseconds/);
    expect(() => new MySQLStore({ uri: MYSQL_URL, commandTimeout: Number.NaN })).toThrow(/commandTimeout/);
    expect(() => new SQLiteStore({ path: ':memory:', commandTimeout: '5' as any })).toThrow(/commandTimeout/);
    expect(new PostgresStore({ connectionString: POSTGRES_URL, pruneInterval: false }).commandTimeout).toBe(2000);
  });
});

describe('PostgresStore deadlines', () => {
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
  const tables: string[] = [];
  const table = () => {
    const name = uniqueTable('pgd');
    tables.push(name);
    return name;
  };
  afterAll(async () => {
    for (const name of tables) await admin.query(`DROP TABLE IF EXISTS "${name}"`);
    await admin.end();
  });

  it('a pool held by long queries: the request fails at the deadline, the save it cut off never happens, then it serves again', async () => {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    const store = new PostgresStore({ pool, tableName: table(), pruneInterval: false, commandTimeout: 300 });
    let holding: Promise<unknown> | undefined;
    // Every connection of the pool taken by a query that outlasts the deadline, before the save.
    const hold = () => {
      holding = Promise.all([1, 2].map(() => pool.query('SELECT pg_sleep(1.5)')));
    };
    const agent = request.agent(faultApp(store, hold));
    await agent.get('/count').expect(200, { count: 1 });
    await agent.get('/count-then').expect(500, TIMEOUT);
    // While the pool is held, loading the session times out as well.
    await agent.get('/peek').expect(500, TIMEOUT);
    await holding;
    // The save that timed out waited for a connection; it got one later and gave it back unused.
    await agent.get('/peek').expect(200, { count: 1 });
    await agent.get('/count').expect(200, { count: 2 });
    await store.close();
    await pool.end();
  });

  it('with commandTimeout 0 a request waits for the pool as long as it takes', async () => {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
    const store = new PostgresStore({ pool, tableName: table(), pruneInterval: false, commandTimeout: 0 });
    const agent = request.agent(faultApp(store));
    await agent.get('/count').expect(200, { count: 1 });
    const holding = pool.query('SELECT pg_sleep(2.5)');
    // Longer than the 2000 ms default, and it still succeeds.
    await agent.get('/count').expect(200, { count: 2 });
    await holding;
    await store.close();
    await pool.end();
  });

  it('a server that stops answering: requests fail at the deadline, a save in flight happened or not, and the store recovers', async () => {
    const url = new URL(POSTGRES_URL);
    const proxy = await FreezableProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
    url.host = `127.0.0.1:${proxy.port}`;
    const store = new PostgresStore({ connectionString: url.toString(), tableName: table(), pruneInterval: false, commandTimeout: 300 });
    const agent = request.agent(faultApp(store, () => proxy.freeze()));
    try {
      await agent.get('/count').expect(200, { count: 1 });
      // The save at the end of this request is sent to a server that no longer answers.
      await agent.get('/count-then').expect(500, TIMEOUT);
      // New requests, on connections the pool opens to the silent server, fail the same way.
      await agent.get('/peek').expect(500, TIMEOUT);
      await agent.get('/peek').expect(500, TIMEOUT);
      proxy.thaw();
      // The save the deadline cut off was on its way: the server may have applied it, whole.
      const { body } = await eventually(() => agent.get('/peek').expect(200));
      expect([1, 2]).toContain(body.count);
      await agent.get('/count').expect(200, { count: body.count + 1 });
    } finally {
      proxy.thaw();
      await store.close();
      await proxy.close();
    }
  });

  it('a server that accepts connections and never answers: the first request fails at the deadline', async () => {
    const proxy = await FreezableProxy.start({ host: '127.0.0.1', port: 1 });
    proxy.freeze();
    const store = new PostgresStore({
      connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/test`, pruneInterval: false, commandTimeout: 300,
    });
    try {
      const app = faultApp(store);
      // A new session is saved before the response is answered: its failure is the response.
      await request(app).get('/count').expect(500, TIMEOUT);
      expect(app.locals.lateErrors).toEqual([]);
      // The table is created on first use: that too is bounded, and tried again next time.
      await request(app).get('/count-then').expect(500, TIMEOUT);
      await expect(store.length()).rejects.toMatchObject(TIMEOUT);
    } finally {
      await store.close().catch(() => undefined);
      await proxy.close();
    }
  });
});

describe('MySQLStore deadlines', () => {
  const admin = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2 });
  const tables: string[] = [];
  const table = () => {
    const name = uniqueTable('myd');
    tables.push(name);
    return name;
  };
  afterAll(async () => {
    for (const name of tables) await admin.query(`DROP TABLE IF EXISTS \`${name}\``);
    await admin.end();
  });

  it('a pool held by long queries: the request fails at the deadline, the save it cut off never happens, then it serves again', async () => {
    const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2 });
    const store = new MySQLStore({ pool, tableName: table(), pruneInterval: false, commandTimeout: 300 });
    let holding: Promise<unknown> | undefined;
    const hold = () => {
      holding = Promise.all([1, 2].map(() => pool.query('SELECT SLEEP(1.5)')));
    };
    const agent = request.agent(faultApp(store, hold));
    await agent.get('/count').expect(200, { count: 1 });
    await agent.get('/count-then').expect(500, TIMEOUT);
    await agent.get('/peek').expect(500, TIMEOUT);
    await holding;
    await agent.get('/peek').expect(200, { count: 1 });
    await agent.get('/count').expect(200, { count: 2 });
    await store.close();
    await pool.end();
  });

  it('a server that stops answering: requests fail at the deadline, a save in flight happened or not, and the store recovers', async () => {
    const url = new URL(MYSQL_URL);
    const proxy = await FreezableProxy.start({ host: url.hostname, port: Number(url.port || 3306) });
    url.host = `127.0.0.1:${proxy.port}`;
    const store = new MySQLStore({ uri: url.toString(), tableName: table(), pruneInterval: false, commandTimeout: 300 });
    const agent = request.agent(faultApp(store, () => proxy.freeze()));
    try {
      await agent.get('/count').expect(200, { count: 1 });
      await agent.get('/count-then').expect(500, TIMEOUT);
      await agent.get('/peek').expect(500, TIMEOUT);
      await agent.get('/peek').expect(500, TIMEOUT);
      proxy.thaw();
      const { body } = await eventually(() => agent.get('/peek').expect(200));
      expect([1, 2]).toContain(body.count);
      await agent.get('/count').expect(200, { count: body.count + 1 });
    } finally {
      proxy.thaw();
      await store.close();
      await proxy.close();
    }
  });

  it('a server that accepts connections and never answers: requests fail at the deadline', async () => {
    const proxy = await FreezableProxy.start({ host: '127.0.0.1', port: 1 });
    proxy.freeze();
    const store = new MySQLStore({ uri: `mysql://root@127.0.0.1:${proxy.port}/test`, pruneInterval: false, commandTimeout: 300 });
    try {
      const app = faultApp(store);
      await request(app).get('/count').expect(500, TIMEOUT);
      expect(app.locals.lateErrors).toEqual([]);
      await request(app).get('/count-then').expect(500, TIMEOUT);
      await expect(store.length()).rejects.toMatchObject(TIMEOUT);
    } finally {
      await store.close().catch(() => undefined);
      await proxy.close();
    }
  });
});

describe('SQLiteStore deadlines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessionkit-sqlite-deadline-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a file locked by another connection: one wait of commandTimeout, then failing at once until the lock goes; nothing half-written', async () => {
    const path = join(dir, 'locked.db');
    const store = new SQLiteStore({ path, pruneInterval: false, commandTimeout: 300, userId: (d) => d.user });
    const other = new Database(path);
    const lock = () => other.exec('BEGIN IMMEDIATE');
    const agent = request.agent(faultApp(store, lock));
    await agent.get('/count').expect(200, { count: 1 });
    await agent.get('/count-then').expect(500, TIMEOUT);
    // Reads go on (WAL); a write fails at once now, without blocking the process again.
    await agent.get('/peek').expect(200, { count: 1 });
    await expect(store.set('other', { cookie: { originalMaxAge: null, expires: null, path: '/' }, user: 'ann' } as any))
      .rejects.toMatchObject({ ...TIMEOUT, message: expect.stringMatching(/still locked/) });
    other.exec('COMMIT');
    // The save that failed changed nothing, and writes work again.
    await agent.get('/peek').expect(200, { count: 1 });
    await agent.get('/count').expect(200, { count: 2 });
    await store.set('other', { cookie: { originalMaxAge: null, expires: null, path: '/' }, user: 'ann' } as any);
    expect((await store.listUserSessions('ann')).map((s) => s.id)).toEqual(['other']);
    other.close();
    // Back to waiting: a lock another thread holds briefly is waited out, not failed at once.
    const holder = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const db = new (require('better-sqlite3'))(workerData);
       db.exec('BEGIN IMMEDIATE');
       parentPort.postMessage('locked');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
       db.exec('COMMIT');
       db.close();`,
      { eval: true, workerData: path },
    );
    await once(holder, 'message');
    await store.set('brief', { cookie: { originalMaxAge: null, expires: null, path: '/' } } as any);
    await once(holder, 'exit');
    expect(await store.get('brief')).not.toBeNull();
    await store.close();
  });

  it('sets the busy timeout of the database it opens, and of one passed in only when commandTimeout is given', async () => {
    const opened = new SQLiteStore({ path: join(dir, 'opened.db'), pruneInterval: false, commandTimeout: 700 });
    await opened.length();
    const check = new Database(join(dir, 'opened.db'));
    const passed = new Database(join(dir, 'passed.db'), { timeout: 1234 });
    const keeps = new SQLiteStore({ db: passed, pruneInterval: false });
    await keeps.length();
    expect(passed.pragma('busy_timeout', { simple: true })).toBe(1234);
    const sets = new SQLiteStore({ db: passed, pruneInterval: false, commandTimeout: 250 });
    await sets.length();
    expect(passed.pragma('busy_timeout', { simple: true })).toBe(250);
    // A locked file makes the error name the timeout in effect.
    check.exec('BEGIN IMMEDIATE');
    await expect(opened.set('x', { cookie: { originalMaxAge: null, expires: null, path: '/' } } as any))
      .rejects.toMatchObject({ ...TIMEOUT, ms: 700, message: expect.stringMatching(/locked by another connection for 700 ms/) });
    check.exec('COMMIT');
    check.close();
    await Promise.all([opened.close(), keeps.close(), sets.close()]);
    passed.close();
  });
});
