/**
 * Faults under load for RedisStore, on a private redis-server this file starts: killed
 * (SIGKILL) and restarted, stopped (SIGSTOP) and resumed, and a server that accepts
 * connections and never answers. Every request answers within its commands' deadlines plus a
 * margin, no write is half-applied, acknowledged writes survive, the process survives, and
 * the store recovers by itself; the figures are printed.
 */
import { createServer, connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import session from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { sign } from '../../src/core/signature.js';
import { freePort, removeDir, startRedisServer, type RedisServer } from '../helpers/redis.js';
import { cookiesOf, HangError, report, scaled, send, serve, SEED, sleep, watchProcess } from './harness.js';

const commandTimeout = 400;
/**
 * A request sends at most a read and a conditional write (plus a merge on a conflict), each
 * under its own deadline: three deadlines and a margin for a loaded machine bound any answer.
 */
const ANSWER_BOUND = commandTimeout * 3 + 1500;
const USERS = 6;
const CYCLES = scaled(1);
// Appends every write to disk at once: what Redis acknowledged outlives a SIGKILL.
const durable = ['--appendonly', 'yes', '--appendfsync', 'always'];

let port: number;
let server: RedisServer;
const watch = watchProcess();

beforeAll(async () => {
  port = await freePort();
  server = await startRedisServer(port, durable);
});
afterAll(async () => {
  watch.stop();
  await server.kill();
  removeDir(server.dir);
});

/**
 * Requests (by their `r` query parameter) whose save failed after the response had gone out
 * with the handler's status: the client was told 200 for a change that was not saved. A response
 * waits for its change to be saved, so this stays empty.
 */
const unsaved = new Set<string>();

function app(store: RedisStore) {
  const a = express();
  a.use(session({ secret: 'hardening faults', resave: false, saveUninitialized: false, store, cookie: { maxAge: 600_000 } }));
  a.get('/login/:user', (req, res) => {
    Object.assign(req.session, { user: req.params.user, a: 0, b: 0 });
    res.json({ id: req.sessionID });
  });
  // Two keys written by one request: a half-applied write would leave them apart.
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

type Client = ReturnType<typeof createClient> | Redis;

function makeClient(driver: 'node-redis' | 'ioredis', url: string): Client {
  if (driver === 'node-redis') {
    // Deliberately no 'error' listener: the store's keeps the process alive.
    const c = createClient({ url });
    c.connect().catch(() => {});
    return c;
  }
  return new Redis(url);
}

async function closeClient(client: Client): Promise<void> {
  if (client instanceof Redis) client.disconnect();
  else client.destroy();
}

interface Figures {
  requests: number;
  ok: number;
  /** Answered by the app's error handler (a failed load or save): the client knows. */
  errorAnswers: number;
  hung: number;
  otherErrors: number;
  /** Answered 200, then the save failed (the error reached next(err) after the response). */
  okButUnsaved: number;
  errors: string[];
  longestMs: number;
  recoveryMs: number[];
}

/** Users making requests one after another until `stop`; every answer is bounded and counted. */
function load(http: Awaited<ReturnType<typeof serve>>, cookies: string[], figures: Figures) {
  let stopped = false;
  let lastOk = 0;
  const answered: Array<{ user: number; r: string; a: number }> = [];
  let n = 0;
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
          await sleep(20);
        }
      } catch (err) {
        if (err instanceof HangError) figures.hung++;
        else {
          figures.otherErrors++;
          figures.errors.push((err as Error).message);
        }
      }
    }
  });
  return {
    /** The highest count each user was told was saved, leaving out answers whose save failed afterwards. */
    acked: () => {
      const out = cookies.map(() => 0);
      for (const { user, r, a } of answered) if (!unsaved.has(r)) out[user] = Math.max(out[user]!, a);
      figures.okButUnsaved = answered.filter(({ r }) => unsaved.has(r)).length;
      return out;
    },
    lastOk: () => lastOk,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** Milliseconds from now until the load's next successful answer (bounded). */
async function recovery(running: { lastOk(): number }): Promise<number> {
  const from = performance.now();
  while (running.lastOk() <= from) {
    if (performance.now() - from > 30_000) throw new Error('the store did not recover within 30 s');
    await sleep(10);
  }
  return running.lastOk() - from;
}

describe(`RedisStore under faults (seed ${SEED})`, () => {
  for (const driver of ['node-redis', 'ioredis'] as const) {
    it(`${driver}: killed and restarted, stopped and resumed, under load: bounded answers, nothing half-applied`, async () => {
      const client = makeClient(driver, server.url);
      const store = new RedisStore({ client, prefix: `faults-${driver}:`, commandTimeout, userId: (d) => d.user });
      const http = await serve(app(store));
      const figures: Figures = { requests: 0, ok: 0, errorAnswers: 0, hung: 0, otherErrors: 0, okButUnsaved: 0, errors: [], longestMs: 0, recoveryMs: [] };
      const faults: string[] = [];
      try {
        await sleep(100);
        const logins = await Promise.all(Array.from({ length: USERS }, (_, i) => send(http, `/login/u${i}`)));
        const cookies = logins.map(cookiesOf);
        const ids = logins.map((a) => JSON.parse(a.body).id as string);
        const running = load(http, cookies, figures);
        for (let cycle = 0; cycle < CYCLES; cycle++) {
          await sleep(300);
          await server.kill();
          await sleep(800);
          server = await startRedisServer(port, durable, server.dir);
          figures.recoveryMs.push(await recovery(running));
          faults.push('kill');
          await sleep(300);
          server.process.kill('SIGSTOP');
          await sleep(commandTimeout * 3);
          server.process.kill('SIGCONT');
          figures.recoveryMs.push(await recovery(running));
          faults.push('stop');
        }
        await sleep(200);
        await running.stop();
        await sleep(50);
        const acked = running.acked();

        // Every user's record is whole, and holds at least every increment it acknowledged.
        for (let user = 0; user < USERS; user++) {
          const stored = await store.get(ids[user]!);
          expect(stored).toBeTruthy();
          expect(stored!.b).toBe(stored!.a);
          expect(stored!.a).toBeGreaterThanOrEqual(acked[user]!);
          expect((await store.listUserSessions(`u${user}`)).map((s) => s.id)).toEqual([ids[user]]);
        }
        report(`redis faults ${driver}`, {
          seed: SEED, faults: faults.length, ...figures, longestMs: Math.round(figures.longestMs),
          recoveryMs: figures.recoveryMs.map(Math.round), boundMs: ANSWER_BOUND,
        });
      } finally {
        await http.close();
        store.close();
        await closeClient(client);
      }
      expect(figures.hung).toBe(0);
      expect(figures.otherErrors).toBe(0);
      expect(figures.ok).toBeGreaterThan(0);
      expect(figures.errorAnswers).toBeGreaterThan(0);
      // Answered means saved: no 200 for a change the store did not take.
      expect(figures.okButUnsaved).toBe(0);
      expect(unsaved.size).toBe(0);
      expect(watch.problems).toEqual([]);
    });

    it(`${driver}: a server that accepts connections and never answers: every request fails within its deadline; the store recovers once the network heals`, async () => {
      // Holds every connection without a byte back; once healed, closes them and forwards new ones to Redis.
      let healed = false;
      const held = new Set<Socket>();
      const silent = createServer((socket) => {
        if (!healed) {
          held.add(socket);
          socket.on('error', () => {});
          socket.on('close', () => held.delete(socket));
          return;
        }
        const upstream = connect(port, '127.0.0.1');
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
        socket.pipe(upstream).pipe(socket);
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const silentPort = (silent.address() as { port: number }).port;
      const client = makeClient(driver, `redis://127.0.0.1:${silentPort}`);
      const store = new RedisStore({ client, prefix: `silent-${driver}:`, commandTimeout });
      const http = await serve(app(store));
      const answers: number[] = [];
      let hung = 0;
      // A signed cookie of a session the store has to look up (the read is what meets the silence).
      const someone = `connect.sid=${encodeURIComponent(sign('someone', 'hardening faults'))}`;
      let recoveredMs = -1;
      try {
        const requests = Array.from({ length: scaled(10) }, async (_, i) => {
          await sleep(i * 30);
          try {
            const answer = await send(http, '/inc', { cookie: someone, bound: ANSWER_BOUND });
            answers.push(answer.ms);
            expect(answer.status).toBe(503);
          } catch (err) {
            if (err instanceof HangError) hung++;
            else throw err;
          }
        });
        await Promise.all(requests);
        healed = true;
        for (const socket of held) socket.destroy();
        const from = performance.now();
        for (;;) {
          const answer = await send(http, '/login/x', { bound: ANSWER_BOUND }).catch(() => undefined);
          if (answer?.status === 200) break;
          if (performance.now() - from > 30_000) throw new Error('no recovery within 30 s');
          await sleep(50);
        }
        recoveredMs = performance.now() - from;
      } finally {
        await http.close();
        store.close();
        await closeClient(client);
        for (const socket of held) socket.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
      report(`redis silent server ${driver}`, {
        seed: SEED, requests: answers.length + hung, hung, longestMs: Math.round(Math.max(...answers)), boundMs: ANSWER_BOUND,
        recoveryMs: Math.round(recoveredMs),
      });
      expect(hung).toBe(0);
      expect(watch.problems).toEqual([]);
    });
  }
});
