/**
 * What the SQL store tests share: unique table names (test files run in parallel against the
 * same servers), the server URLs, and the "purge 100k expired rows while serving" scenario.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import express from 'express';
import request from 'supertest';
import session from '../../src/index.js';

export const POSTGRES_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/test';

/** A table name no other test file or run uses: `sk_<tag>_<pid>_<random>`. */
export function uniqueTable(tag: string): string {
  return `sk_${tag}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

/**
 * An Express app over `store` whose `/count` adds one to a counter in the session; `factory`
 * is sessionkit's `session` by default, or express-session for the migration tests.
 */
export function counterApp(store: any, factory: (options: any) => any = session) {
  const app = express();
  app.use(factory({ secret: 'sql-tests', resave: false, saveUninitialized: false, store, cookie: { maxAge: 600_000 } }));
  app.get('/count', (req, res) => {
    const s = req.session as any;
    s.count = (s.count ?? 0) + 1;
    res.json({ count: s.count });
  });
  return app;
}

export const PURGE_ROWS = 100_000;

interface PurgeScenario {
  store: { prune(): Promise<number>; length(): Promise<number> };
  /** Inserts `n` rows that expired a minute ago (fast: one statement or a few). */
  insertExpired(n: number): Promise<void>;
  /** Every row in the session table, expired or not. */
  countRows(): Promise<number>;
}

/**
 * Purges 100k expired rows while a user keeps making requests that read and write their
 * session: every request succeeds, some are served while the purge runs, and afterwards only
 * the live session is left.
 */
export async function purgeWhileServing({ store, insertExpired, countRows }: PurgeScenario): Promise<void> {
  const agent = request.agent(counterApp(store));
  await agent.get('/count').expect(200, { count: 1 });
  await insertExpired(PURGE_ROWS);
  expect(await countRows()).toBe(PURGE_ROWS + 1);
  expect(await store.length()).toBe(1);

  let done = false;
  const pruning = store.prune().finally(() => {
    done = true;
  });
  let count = 1;
  let servedDuringPurge = 0;
  while (!done) {
    const res = await agent.get('/count').expect(200);
    count++;
    expect(res.body.count).toBe(count);
    if (!done) servedDuringPurge++;
  }
  expect(await pruning).toBe(PURGE_ROWS);
  expect(servedDuringPurge).toBeGreaterThan(0);
  expect(await countRows()).toBe(1);
  await agent.get('/count').expect(200, { count: count + 1 });
}

/**
 * Two app servers (two stores, each with its own connections, as two processes would have)
 * behind one cookie: 30 overlapping requests, alternating between them, each set a different
 * key, and all 30 keys are kept.
 */
export async function overlapAcrossServers(first: any, second: any): Promise<void> {
  const app = (store: any) => {
    const a = express();
    a.use(session({ secret: 'sql-tests', resave: false, saveUninitialized: false, store, cookie: { maxAge: 600_000 } }));
    a.get('/set/:key', async (req, res) => {
      await new Promise((r) => setTimeout(r, Number(req.query.delay ?? 0)));
      (req.session as any)[req.params.key] = true;
      res.send('ok');
    });
    a.get('/keys', (req, res) => res.json(Object.keys(req.session).filter((k) => k !== 'cookie').sort()));
    return a;
  };
  const servers = [request(app(first)), request(app(second))];
  const cookie = (await servers[0]!.get('/set/start').expect(200)).headers['set-cookie'];
  const keys = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, '0')}`);
  await Promise.all(keys.map((k, i) => servers[i % 2]!.get(`/set/${k}?delay=${(i * 7) % 50}`).set('Cookie', cookie).expect(200)));
  const { body } = await servers[1]!.get('/keys').set('Cookie', cookie).expect(200);
  expect(body).toEqual([...keys, 'start'].sort());
}
