/**
 * SQL stores whose database stops answering rather than failing: the store's pool held by long
 * queries (pg_sleep, SLEEP), a database host that accepts connections and never answers, and a
 * SQLite file locked by another connection. Under load, every request answers within
 * commandTimeout plus a margin, no 2xx is given for a change the store did not take, and the
 * store recovers by itself once the database answers again; the figures are printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import mysql from 'mysql2/promise';
import Database from 'better-sqlite3';
import { PostgresStore } from '../../src/stores/sql/postgres.js';
import { MySQLStore } from '../../src/stores/sql/mysql.js';
import { SQLiteStore } from '../../src/stores/sql/sqlite.js';
import { MYSQL_URL, POSTGRES_URL, uniqueTable } from '../helpers/sql.js';
import {
  cookiesOf, counterApp, HangError, loadUsers, report, scaled, send, serve, SEED, silentServer, sleep, untilRecovered, watchProcess,
  type LoadFigures,
} from './harness.js';

const commandTimeout = 500;
/**
 * A request makes at most a read and a conditional write (and a merge on a conflict), each
 * under its own deadline: three deadlines and a margin for a loaded machine bound any answer.
 */
const ANSWER_BOUND = commandTimeout * 3 + 1500;
const USERS = 6;
/** How long the database stays unanswering in each cycle. */
const STALL_MS = 2000;
const CYCLES = scaled(1);

interface Stalled {
  store: any;
  /** Makes the database stop answering the store; resolves when it answers again (or gives `resume`). */
  stall(): Promise<void>;
  dispose(): Promise<void>;
}

const pgUrl = new URL(POSTGRES_URL);
const myUrl = new URL(MYSQL_URL);

/** PostgresStore on a pool of 4 that long pg_sleep queries take whole. */
async function postgresHeld(): Promise<Stalled> {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
  pool.on('error', () => {});
  const tableName = uniqueTable('hards');
  const store = new PostgresStore({ pool, tableName, pruneInterval: false, commandTimeout, userId: (d) => d.user });
  await store.length();
  return {
    store,
    stall: async () => {
      await Promise.all(Array.from({ length: 4 }, () => pool.query('SELECT pg_sleep($1)', [STALL_MS / 1000])));
    },
    dispose: async () => {
      await store.close();
      await pool.query(`DROP TABLE IF EXISTS "${tableName}", "${tableName}_users"`);
      await pool.end();
    },
  };
}

/** MySQLStore on a pool of 4 that long SLEEP queries take whole. */
async function mariadbHeld(): Promise<Stalled> {
  const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 4 });
  (pool as any).pool.on('connection', (conn: any) => conn.on('error', () => {}));
  const tableName = uniqueTable('hards');
  const store = new MySQLStore({ pool, tableName, pruneInterval: false, commandTimeout, userId: (d: any) => d.user } as any);
  await store.length();
  return {
    store,
    stall: async () => {
      await Promise.all(Array.from({ length: 4 }, () => pool.query('SELECT SLEEP(?)', [STALL_MS / 1000])));
    },
    dispose: async () => {
      await store.close();
      await pool.query(`DROP TABLE IF EXISTS \`${tableName}\`, \`${tableName}_users\``);
      await pool.end();
    },
  };
}

/** SQLiteStore whose file another connection keeps locked (an exclusive transaction). */
async function sqliteLocked(): Promise<Stalled> {
  const dir = mkdtempSync(join(tmpdir(), 'sk-stalls-'));
  const path = join(dir, 'sessions.db');
  const store = new SQLiteStore({ path, pruneInterval: false, commandTimeout, userId: (d: any) => d.user });
  await store.length();
  const other = new Database(path);
  return {
    store,
    stall: async () => {
      other.exec('BEGIN EXCLUSIVE');
      await sleep(STALL_MS);
      other.exec('COMMIT');
    },
    dispose: async () => {
      other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Checks every user's record after the load: whole, and holding every increment answered 2xx. */
async function checkRecords(store: any, ids: string[], acked: number[]): Promise<void> {
  for (let user = 0; user < ids.length; user++) {
    const stored = await store.get(ids[user]!);
    expect(stored, `user ${user}'s session`).toBeTruthy();
    expect(stored.b).toBe(stored.a);
    expect(stored.a, `user ${user}: increments answered 2xx are stored`).toBeGreaterThanOrEqual(acked[user]!);
    expect((await store.listUserSessions(`u${user}`)).map((s: any) => s.id)).toEqual([ids[user]]);
  }
}

describe(`SQL stores whose database stops answering, under load (seed ${SEED})`, () => {
  for (const [name, open] of [
    ['PostgresStore: pool held by pg_sleep', postgresHeld],
    ['MySQLStore: pool held by SLEEP', mariadbHeld],
    ['SQLiteStore: file locked by another connection', sqliteLocked],
  ] as const) {
    it(`${name}: answers within commandTimeout and a margin, no 2xx unsaved, recovery by itself`, async () => {
      const watch = watchProcess();
      const target = await open();
      const unsaved = new Set<string>();
      const http = await serve(counterApp(target.store, unsaved));
      const recoveryMs: number[] = [];
      let figures: LoadFigures;
      try {
        const logins = await Promise.all(Array.from({ length: USERS }, (_, i) => send(http, `/login/u${i}`)));
        const cookies = logins.map(cookiesOf);
        const ids = logins.map((a) => JSON.parse(a.body).id as string);
        const running = loadUsers(http, cookies, { bound: ANSWER_BOUND });
        figures = running.figures;
        for (let cycle = 0; cycle < CYCLES; cycle++) {
          await sleep(300);
          await target.stall();
          recoveryMs.push(await untilRecovered(running));
        }
        await sleep(200);
        await running.stop();
        await checkRecords(target.store, ids, running.acked());
      } finally {
        await http.close();
        await target.dispose();
        watch.stop();
      }
      report(`sql stall ${name}`, {
        seed: SEED, cycles: CYCLES, stallMs: STALL_MS, commandTimeout, boundMs: ANSWER_BOUND, ...figures,
        longestMs: Math.round(figures.longestMs), okButUnsaved: unsaved.size, recoveryMs,
      });
      expect(figures.hung).toBe(0);
      expect(figures.otherErrors).toBe(0);
      expect(figures.errorAnswers, 'the stall reached requests').toBeGreaterThan(0);
      expect(figures.errorCodes.ETIMEDOUT, 'requests failed at their deadline').toBeGreaterThan(0);
      expect(unsaved.size, 'no 2xx for a change the store did not take').toBe(0);
      expect(watch.problems).toEqual([]);
    });
  }

  for (const [name, make, upstream] of [
    ['PostgresStore', (port: number, tableName: string) => new PostgresStore({
      connectionString: `postgres://${pgUrl.username}@127.0.0.1:${port}${pgUrl.pathname}`,
      tableName, pruneInterval: false, commandTimeout,
    }), Number(pgUrl.port || 5432)],
    ['MySQLStore', (port: number, tableName: string) => new MySQLStore({
      host: '127.0.0.1', port, user: myUrl.username, database: myUrl.pathname.slice(1),
      tableName, pruneInterval: false, commandTimeout,
    } as any), Number(myUrl.port || 3306)],
  ] as const) {
    it(`${name}: a database host that accepts connections and never answers: every request fails within its deadline; recovery once the network heals`, async () => {
      const watch = watchProcess();
      const silent = await silentServer(upstream);
      const tableName = uniqueTable('hardq');
      const store: any = make(silent.port, tableName);
      const storeErrors: unknown[] = [];
      // What its own pool reports of connections that broke while idle.
      store.on('error', (err: unknown) => storeErrors.push(err));
      const unsaved = new Set<string>();
      const http = await serve(counterApp(store, unsaved));
      const answers: number[] = [];
      const statuses: Record<string, number> = {};
      let hung = 0;
      let recoveredMs = -1;
      try {
        await Promise.all(Array.from({ length: scaled(10) }, async (_, i) => {
          await sleep(i * 30);
          try {
            const answer = await send(http, '/login/x', { bound: ANSWER_BOUND });
            answers.push(answer.ms);
            const key = `${answer.status} ${JSON.parse(answer.body).code ?? ''}`.trim();
            statuses[key] = (statuses[key] ?? 0) + 1;
          } catch (err) {
            if (err instanceof HangError) hung++;
            else throw err;
          }
        }));
        silent.heal();
        const from = performance.now();
        for (;;) {
          const answer = await send(http, '/login/x', { bound: ANSWER_BOUND }).catch(() => undefined);
          if (answer?.status === 200) break;
          if (performance.now() - from > 30_000) throw new Error('no recovery within 30 s');
          await sleep(50);
        }
        recoveredMs = performance.now() - from;
        // What it saved after healing is there.
        const saved = await send(http, '/login/y', { bound: ANSWER_BOUND });
        expect(saved.status).toBe(200);
        expect((await store.get(JSON.parse(saved.body).id))?.user).toBe('y');
      } finally {
        await http.close();
        await store.close();
        const cleanup = name === 'PostgresStore' ? new pg.Pool({ connectionString: POSTGRES_URL, max: 1 }) : null;
        if (cleanup) {
          await cleanup.query(`DROP TABLE IF EXISTS "${tableName}", "${tableName}_users"`);
          await cleanup.end();
        } else {
          const my = await mysql.createConnection({ uri: MYSQL_URL });
          await my.query(`DROP TABLE IF EXISTS \`${tableName}\`, \`${tableName}_users\``);
          await my.end();
        }
        await silent.close();
        watch.stop();
      }
      report(`sql silent host ${name}`, {
        seed: SEED, commandTimeout, boundMs: ANSWER_BOUND, requests: answers.length + hung, hung, statuses,
        longestMs: Math.round(Math.max(...answers)), recoveryMs: Math.round(recoveredMs), okButUnsaved: unsaved.size,
      });
      expect(hung).toBe(0);
      expect(answers.length).toBe(scaled(10));
      expect(statuses['200'] ?? 0, 'no 2xx while nothing could be saved').toBe(0);
      expect(unsaved.size).toBe(0);
      expect(watch.problems).toEqual([]);
    });
  }
});
