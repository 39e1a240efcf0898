/**
 * Faults under load for the SQL stores on the shared servers: the store's own connections are
 * killed on the server (pg_terminate_backend, MariaDB KILL) while users keep making requests,
 * which is what a database restart does to a pool. Only connections this file opened are killed.
 * Every request answers, no write is half-applied, acknowledged writes survive, the process
 * survives, and the store recovers by itself.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import express from 'express';
import pg from 'pg';
import mysql from 'mysql2/promise';
import session from '../../src/index.js';
import { PostgresStore } from '../../src/stores/sql/postgres.js';
import { MySQLStore } from '../../src/stores/sql/mysql.js';
import { MYSQL_URL, POSTGRES_URL, uniqueTable } from '../helpers/sql.js';
import { cookiesOf, HangError, report, scaled, send, serve, SEED, sleep, watchProcess } from './harness.js';

const USERS = 6;
const CYCLES = scaled(3);
/** A killed connection fails at once, well within commandTimeout (2 s by default): this bound catches a hang. */
const ANSWER_BOUND = 10_000;

/** Requests answered with the handler's status before their save failed: a response waits for its save, so none. */
const unsaved = new Set<string>();

function app(store: any) {
  const a = express();
  a.use(session({ secret: 'hardening sql faults', resave: false, saveUninitialized: false, store, cookie: { maxAge: 600_000 } }));
  a.get('/login/:user', (req, res) => {
    Object.assign(req.session, { user: req.params.user, a: 0, b: 0 });
    res.json({ id: req.sessionID });
  });
  a.get('/inc', (req, res) => {
    const s = req.session as any;
    if (typeof s.a !== 'number') {
      res.status(409).json({ error: 'no session' });
      return;
    }
    s.a += 1;
    s.b = s.a;
    res.json({ a: s.a });
  });
  a.use((err: Error, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (res.headersSent) {
      unsaved.add(String(req.query.r));
      return;
    }
    res.status(503).json({ error: err.message });
  });
  return a;
}

interface Target {
  store: any;
  /** Kills every server connection of the store's pool; returns how many. */
  killConnections(): Promise<number>;
  dispose(): Promise<void>;
}

async function postgres(): Promise<Target> {
  const appName = `sk-hardening-${process.pid}-${randomBytes(3).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4, application_name: appName });
  // A connection killed while idle in the pool is reported here, not to a request.
  pool.on('error', () => {});
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
  const tableName = uniqueTable('hardf');
  const store = new PostgresStore({ pool, tableName, pruneInterval: false, userId: (d) => d.user });
  await store.length();
  return {
    store,
    killConnections: async () =>
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
  const tableName = uniqueTable('hardf');
  const store = new MySQLStore({ pool, tableName, pruneInterval: false, userId: (d: any) => d.user } as any);
  await store.length();
  return {
    store,
    killConnections: async () => {
      let killed = 0;
      for (const id of threads) {
        try {
          await admin.query(`KILL CONNECTION ${Number(id)}`);
          killed++;
        } catch {
          // Already gone.
        }
        threads.delete(id);
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

describe(`SQL stores with their connections killed under load (seed ${SEED})`, () => {
  for (const [name, open] of [['PostgresStore', postgres], ['MySQLStore', mariadb]] as const) {
    it(`${name}: bounded answers, nothing half-applied, acknowledged writes kept, recovery by itself`, async () => {
      const watch = watchProcess();
      const target = await open();
      const http = await serve(app(target.store));
      const figures = { requests: 0, ok: 0, errorAnswers: 0, hung: 0, otherErrors: 0, okButUnsaved: 0, longestMs: 0, killed: 0, recoveryMs: [] as number[] };
      try {
        const logins = await Promise.all(Array.from({ length: USERS }, (_, i) => send(http, `/login/u${i}`)));
        const cookies = logins.map(cookiesOf);
        const ids = logins.map((a) => JSON.parse(a.body).id as string);
        let stopped = false;
        let lastOk = 0;
        let n = 0;
        const answered: Array<{ user: number; r: string; a: number }> = [];
        const loops = cookies.map(async (cookie, user) => {
          while (!stopped) {
            figures.requests++;
            const r = String(n++);
            try {
              const answer = await send(http, `/inc?r=${r}`, { cookie, bound: ANSWER_BOUND });
              figures.longestMs = Math.max(figures.longestMs, answer.ms);
              if (answer.status === 200) {
                figures.ok++;
                answered.push({ user, r, a: JSON.parse(answer.body).a });
                lastOk = performance.now();
              } else {
                figures.errorAnswers++;
              }
            } catch (err) {
              if (err instanceof HangError) figures.hung++;
              else figures.otherErrors++;
            }
          }
        });
        for (let cycle = 0; cycle < CYCLES; cycle++) {
          await sleep(300);
          figures.killed += await target.killConnections();
          const from = performance.now();
          while (lastOk <= from) {
            if (performance.now() - from > 30_000) throw new Error('no recovery within 30 s');
            await sleep(10);
          }
          figures.recoveryMs.push(Math.round(lastOk - from));
        }
        await sleep(200);
        stopped = true;
        await Promise.all(loops);
        await sleep(50);
        const acked = cookies.map(() => 0);
        for (const { user, r, a } of answered) if (!unsaved.has(r)) acked[user] = Math.max(acked[user]!, a);
        figures.okButUnsaved = answered.filter(({ r }) => unsaved.has(r)).length;
        for (let user = 0; user < USERS; user++) {
          const stored = await target.store.get(ids[user]!);
          expect(stored.b).toBe(stored.a);
          expect(stored.a).toBeGreaterThanOrEqual(acked[user]!);
          expect((await target.store.listUserSessions(`u${user}`)).map((s: any) => s.id)).toEqual([ids[user]]);
        }
      } finally {
        await http.close();
        await target.dispose();
        watch.stop();
      }
      report(`sql faults ${name}`, { seed: SEED, cycles: CYCLES, ...figures, longestMs: Math.round(figures.longestMs) });
      expect(figures.killed).toBeGreaterThan(0);
      expect(figures.hung).toBe(0);
      expect(figures.otherErrors).toBe(0);
      // Answered means saved: no 200 for a change the store did not take.
      expect(figures.okButUnsaved).toBe(0);
      expect(watch.problems).toEqual([]);
    });
  }
});
