/**
 * Answered means saved, under faults: users keep making requests whose handlers wait between
 * the session's load and its change, while the store's own connections are killed on the server
 * (Redis CLIENT KILL, pg_terminate_backend, MariaDB KILL), so kills land between a load and its
 * save. Every 2xx claims an increment the store took: after recovery no acknowledged increment
 * is missing, no record is half-applied, and no 2xx went out before a save that then failed.
 * Only connections this file opened are killed.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { createClient } from 'redis';
import { RedisStore } from '../../src/stores/redis/index.js';
import { PostgresStore } from '../../src/stores/sql/postgres.js';
import { MySQLStore } from '../../src/stores/sql/mysql.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { MYSQL_URL, POSTGRES_URL, uniqueTable } from '../helpers/sql.js';
import { cookiesOf, counterApp, loadUsers, randomFor, report, scaled, send, serve, SEED, sleep, untilRecovered, watchProcess } from './harness.js';

const USERS = 8;
const KILLS = scaled(8);
/** Killed connections fail at once; this bound (well past the default commandTimeout) catches a hang. */
const ANSWER_BOUND = 10_000;

interface Target {
  store: any;
  /** Kills every server connection of the store's client or pool; returns how many. */
  kill(): Promise<number>;
  dispose(): Promise<void>;
}

async function redis(): Promise<Target> {
  const name = `sk-kill-${process.pid}-${randomBytes(3).toString('hex')}`;
  // The store's client names itself on every connection, so a kill finds it after a reconnect too.
  const client = createClient({ url: redisUrl, name });
  await client.connect();
  const admin = createClient({ url: redisUrl });
  admin.on('error', () => {});
  await admin.connect();
  const prefix = uniquePrefix('kill');
  const store = new RedisStore({ client, prefix, userId: (d) => d.user });
  return {
    store,
    kill: async () => {
      const list = await admin.sendCommand<string>(['CLIENT', 'LIST']);
      const ids = list.split('\n').filter((line) => line.includes(` name=${name} `)).map((line) => /id=(\d+)/.exec(line)![1]!);
      for (const id of ids) await admin.sendCommand(['CLIENT', 'KILL', 'ID', id]);
      return ids.length;
    },
    dispose: async () => {
      store.close();
      await deleteByPrefix(admin, prefix);
      await deleteByPrefix(admin, store.userPrefix);
      client.destroy();
      await admin.quit();
    },
  };
}

async function postgres(): Promise<Target> {
  const appName = `sk-kill-${process.pid}-${randomBytes(3).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4, application_name: appName });
  pool.on('error', () => {});
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
  const tableName = uniqueTable('hardk');
  const store = new PostgresStore({ pool, tableName, pruneInterval: false, userId: (d) => d.user });
  await store.length();
  return {
    store,
    kill: async () =>
      (await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [appName])).rowCount ?? 0,
    dispose: async () => {
      await store.close();
      await admin.query(`DROP TABLE IF EXISTS "${tableName}", "${tableName}_users"`);
      await pool.end();
      await admin.end();
    },
  };
}

async function mariadb(): Promise<Target> {
  const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 4 });
  const threads = new Set<number>();
  // The pool's own connections, by server thread ID: nothing else is ever killed.
  (pool as any).pool.on('connection', (conn: any) => {
    threads.add(conn.threadId);
    conn.on('error', () => {});
  });
  const admin = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 1 });
  const tableName = uniqueTable('hardk');
  const store = new MySQLStore({ pool, tableName, pruneInterval: false, userId: (d: any) => d.user } as any);
  await store.length();
  return {
    store,
    kill: async () => {
      let killed = 0;
      for (const id of [...threads]) {
        threads.delete(id);
        try {
          await admin.query(`KILL CONNECTION ${Number(id)}`);
          killed++;
        } catch {
          // Already gone.
        }
      }
      return killed;
    },
    dispose: async () => {
      await store.close();
      await admin.query(`DROP TABLE IF EXISTS \`${tableName}\`, \`${tableName}_users\``);
      await pool.end();
      await admin.end();
    },
  };
}

describe(`connections killed between load and save, under steady load (seed ${SEED})`, () => {
  for (const [name, open] of [['RedisStore', redis], ['PostgresStore', postgres], ['MySQLStore', mariadb]] as const) {
    it(`${name}: every 2xx names a stored change; none missing after recovery`, async () => {
      const watch = watchProcess();
      const target = await open();
      const unsaved = new Set<string>();
      const http = await serve(counterApp(target.store, unsaved));
      const r = randomFor(`kill-between:${name}`);
      let killed = 0;
      let missing = 0;
      const recoveryMs: number[] = [];
      let running: ReturnType<typeof loadUsers> | undefined;
      try {
        const logins = await Promise.all(Array.from({ length: USERS }, (_, i) => send(http, `/login/u${i}`)));
        const cookies = logins.map(cookiesOf);
        const ids = logins.map((a) => JSON.parse(a.body).id as string);
        // Each handler waits up to 30 ms after its load: most kills fall inside some request.
        running = loadUsers(http, cookies, { bound: ANSWER_BOUND, delay: () => r.int(30) });
        for (let k = 0; k < KILLS; k++) {
          await sleep(100 + r.int(150));
          killed += await target.kill();
          recoveryMs.push(await untilRecovered(running).catch((err: Error) => {
            throw new Error(`${err.message} after kill ${k + 1}: ${JSON.stringify(running!.figures)}`);
          }));
        }
        await sleep(200);
        await running.stop();
        const acked = running.acked();
        for (let user = 0; user < USERS; user++) {
          const stored = await target.store.get(ids[user]!);
          expect(stored, `user ${user}'s session`).toBeTruthy();
          expect(stored.b).toBe(stored.a);
          if (stored.a < acked[user]!) missing += acked[user]! - stored.a;
          expect((await target.store.listUserSessions(`u${user}`)).map((s: any) => s.id)).toEqual([ids[user]]);
        }
      } finally {
        await running?.stop();
        await http.close();
        await target.dispose();
        watch.stop();
      }
      const figures = running!.figures;
      report(`kill between load and save ${name}`, {
        seed: SEED, kills: KILLS, connectionsKilled: killed, ...figures, longestMs: Math.round(figures.longestMs),
        okButUnsaved: unsaved.size, acknowledgedMissing: missing, recoveryMs,
      });
      expect(killed).toBeGreaterThan(0);
      expect(figures.ok).toBeGreaterThan(0);
      expect(figures.hung).toBe(0);
      expect(figures.otherErrors).toBe(0);
      expect(unsaved.size, 'no 2xx went out before a save that failed').toBe(0);
      expect(missing, 'acknowledged increments missing after recovery').toBe(0);
      expect(watch.problems).toEqual([]);
    });
  }
});
