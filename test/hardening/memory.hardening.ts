/**
 * Memory: a MemoryStore with `max` stays within its bound under 200,000 new sessions; without
 * `max` the production warning fires; a soak of requests on existing sessions keeps the heap
 * flat on every store (express-session beside it on the same store, for comparison); and
 * nothing is left behind: active handles, timers and process listeners are as before.
 * Heap figures are read after a full garbage collection (the campaign runs with --expose-gc);
 * the bounds are generous, for leaks to break, not for noise.
 */
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import express from 'express';
import session, { MemoryStore } from '../../src/index.js';
import { cookiesOf, openStore, report, scaled, send, serve, SEED, STORE_NAMES, watchProcess } from './harness.js';

const require = createRequire(import.meta.url);
const expressSession = require('express-session');

const MB = 1024 * 1024;
const NEW_SESSIONS = 200_000;
const NEW_OVER_HTTP = scaled(1_000);
const SOAK = scaled(600);
const SOAK_SESSIONS = 30;

const gc = (globalThis as { gc?: () => void }).gc;

function heap(): number {
  if (!gc) throw new Error('the hardening campaign runs with --expose-gc (vitest.hardening.config.ts)');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/** Active resources by type, and the listeners on the process, to compare before and after. */
function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) out[type] = (out[type] ?? 0) + 1;
  for (const event of ['exit', 'beforeExit', 'warning', 'SIGINT', 'SIGTERM', 'uncaughtException', 'unhandledRejection']) {
    out[`process '${event}' listeners`] = process.listenerCount(event);
  }
  return out;
}

const before = resources();
const watch = watchProcess();

function app(store: any, factory: (options: any) => any = session) {
  const a = express();
  a.use(factory({ secret: 'hardening memory', store, resave: false, saveUninitialized: false, cookie: { maxAge: 600_000 } }));
  a.get('/new', (req, res) => {
    (req.session as any).profile = { name: 'user', roles: ['reader'], note: 'x'.repeat(400) };
    res.end('ok');
  });
  a.get('/count', (req, res) => {
    const s = req.session as any;
    s.count = (s.count ?? 0) + 1;
    res.end(String(s.count));
  });
  a.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(503).end(err.message);
  });
  return a;
}

describe(`memory (seed ${SEED})`, () => {
  it(`a MemoryStore with max stays within it under ${NEW_SESSIONS} new sessions`, async () => {
    const max = 1000;
    const store = new MemoryStore({ max, checkPeriod: 0 });
    const http = await serve(app(store));
    const start = heap();
    try {
      // Through the app: sessions made by requests.
      for (let i = 0; i < NEW_OVER_HTTP; i += 50) {
        const answers = await Promise.all(Array.from({ length: 50 }, () => send(http, '/new')));
        expect(answers.every((a) => a.status === 200)).toBe(true);
      }
      expect(store.sessions.size).toBe(max);
      // The rest straight into the store, as the middleware saves them.
      const expires = new Date(Date.now() + 600_000).toISOString();
      for (let i = NEW_OVER_HTTP; i < NEW_SESSIONS; i++) {
        await store.set(`s${i}`, { cookie: { originalMaxAge: 600_000, expires, httpOnly: true, path: '/' }, profile: { note: 'x'.repeat(400), i } });
      }
      const after = heap();
      expect(store.sessions.size).toBe(max);
      expect(await store.length()).toBe(max);
      // 200,000 records of about 500 bytes kept would be 100 MB and more.
      expect(after - start).toBeLessThan(40 * MB);
      report('MemoryStore max', { sessions: NEW_SESSIONS, overHttp: NEW_OVER_HTTP, max, kept: store.sessions.size, heapBeforeMB: mb(start), heapAfterMB: mb(after) });
    } finally {
      await http.close();
      store.close();
    }
  });

  it('the production warning fires for a MemoryStore without max, and not for one with it', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const env = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      const bounded = new MemoryStore({ max: 10, checkPeriod: 0 });
      session({ secret: 's', resave: false, saveUninitialized: false, store: bounded });
      expect(warn).not.toHaveBeenCalled();
      const unbounded = new MemoryStore({ checkPeriod: 0 });
      session({ secret: 's', resave: false, saveUninitialized: false, store: unbounded });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(/MemoryStore without a `max`/);
      bounded.close();
      unbounded.close();
    } finally {
      process.env.NODE_ENV = env;
      warn.mockRestore();
    }
  });

  for (const name of STORE_NAMES) {
    it(`${name}: ${SOAK} requests on existing sessions keep the heap flat (sessionkit and express-session)`, async () => {
      const figures: Record<string, unknown> = {};
      for (const [label, factory] of [['sessionkit', session], ['express-session', expressSession]] as const) {
        const target = await openStore(name);
        const http = await serve(app(target.store, factory));
        try {
          const cookies = await Promise.all(Array.from({ length: SOAK_SESSIONS }, async () => cookiesOf(await send(http, '/count'))));
          const run = async (n: number) => {
            for (let i = 0; i < n; i += SOAK_SESSIONS) {
              const answers = await Promise.all(cookies.map((cookie) => send(http, '/count', { cookie })));
              expect(answers.every((a) => a.status === 200)).toBe(true);
            }
          };
          // A quarter to warm up (JIT, pools, caches), then the heap is read before and after the rest.
          await run(SOAK / 4);
          const warm = heap();
          const rssWarm = process.memoryUsage().rss;
          await run((SOAK * 3) / 4);
          const end = heap();
          const rssEnd = process.memoryUsage().rss;
          const last = await send(http, '/count', { cookie: cookies[0] });
          expect(Number(last.body)).toBeGreaterThan(SOAK / SOAK_SESSIONS);
          figures[label] = { heapWarmMB: mb(warm), heapEndMB: mb(end), growthMB: mb(end - warm), rssWarmMB: mb(rssWarm), rssEndMB: mb(rssEnd) };
          if (label === 'sessionkit') expect(end - warm).toBeLessThan(30 * MB);
        } finally {
          await http.close();
          await target.dispose();
        }
      }
      report(`soak ${name}`, { requests: SOAK, sessions: SOAK_SESSIONS, ...figures });
    });
  }

  it('leaves no handle, timer or process listener behind', async () => {
    watch.stop();
    // Closed sockets leave the list on a later turn.
    await new Promise((r) => setTimeout(r, 300));
    const after = resources();
    report('resources', { before, after });
    for (const [type, count] of Object.entries(after)) expect(count, type).toBeLessThanOrEqual(before[type] ?? 0);
    expect(watch.problems).toEqual([]);
  });
});
