/**
 * Redis going away and coming back, on a private `redis-server` this file starts, kills and
 * restarts on the same port: requests fail promptly through next(err), nothing crashes, no
 * command that timed out runs later, and the store recovers by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import request from 'supertest';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import session from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { record } from './conformance.js';
import { freePort, redisCli, removeDir, startRedisServer, waitFor, type RedisServer } from '../helpers/redis.js';

const commandTimeout = 300;
// Appends every write to disk at once, so a session outlives the SIGKILL and the restart.
const durable = ['--appendonly', 'yes', '--appendfsync', 'always'];

let port: number;
let server: RedisServer;
const problems: unknown[] = [];
const onProblem = (err: unknown) => problems.push(err);

beforeAll(async () => {
  process.on('unhandledRejection', onProblem);
  process.on('uncaughtException', onProblem);
  port = await freePort();
  server = await startRedisServer(port, durable);
});
afterAll(async () => {
  process.off('unhandledRejection', onProblem);
  process.off('uncaughtException', onProblem);
  await server.kill();
  removeDir(server.dir);
});

async function restart() {
  await server.kill();
  server = await startRedisServer(port, durable, server.dir);
}

function app(store: RedisStore) {
  const a = express();
  a.use(session({ secret: 'outage', resave: false, saveUninitialized: false, store, cookie: { maxAge: 600_000 } }));
  a.get('/login/:user', (req, res) => {
    (req.session as any).user = req.params.user;
    res.send('in');
  });
  a.get('/set/:key', (req, res) => {
    (req.session as any)[req.params.key] = true;
    res.send('set');
  });
  a.get('/data', (req, res) => {
    const { cookie: _c, ...data } = req.session as any;
    res.json(data);
  });
  a.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(503).send(err.message);
  });
  return a;
}

for (const driver of ['node-redis', 'ioredis'] as const) {
  describe(`an outage (${driver})`, () => {
    // Deliberately no 'error' listener on the client: the store's keeps the process alive.
    let client: ReturnType<typeof createClient> | Redis;
    let store: RedisStore;
    beforeAll(async () => {
      if (driver === 'node-redis') {
        const c = createClient({ url: server.url });
        await c.connect();
        client = c;
      } else {
        client = new Redis(server.url);
      }
      store = new RedisStore({ client, prefix: `${driver}:`, commandTimeout });
    });
    afterAll(async () => {
      store.close();
      if (driver === 'node-redis') (client as ReturnType<typeof createClient>).destroy();
      else (client as Redis).disconnect();
    });

    it('fails requests promptly while Redis is down, and recovers by itself when it is back', async () => {
      const a = app(store);
      const login = await request(a).get('/login/ann').expect('in');
      const cookie = String(login.headers['set-cookie']).split(';')[0]!;
      expect((await request(a).get('/data').set('Cookie', cookie)).body).toEqual({ user: 'ann' });

      await server.kill();
      // Each request ends, with the error passed to next(err), long before this bound.
      for (let i = 0; i < 3; i++) {
        const res = await request(a).get('/data').set('Cookie', cookie).timeout(commandTimeout * 10);
        // The driver's own error (a closed socket, a refused connection) or the store's timeout.
        expect(res.status, res.text).toBe(503);
        expect(res.text).not.toBe('');
      }
      // A write that timed out is withdrawn: it never runs once Redis is back.
      await expect(store.set('late', record({ late: true }))).rejects.toThrow();
      await expect(store.destroy('anything')).rejects.toThrow();

      await restart();
      await waitFor(async () => (await request(a).get('/data').set('Cookie', cookie)).status === 200, 'recovery');
      expect((await request(a).get('/data').set('Cookie', cookie)).body).toEqual({ user: 'ann' });
      expect(await redisCli(port, 'EXISTS', `${driver}:late`)).toBe('0\n');

      // The restarted server has an empty script cache: the conditional write falls back to EVAL.
      await request(a).get('/set/again').set('Cookie', cookie).expect('set');
      expect((await request(a).get('/data').set('Cookie', cookie)).body).toEqual({ user: 'ann', again: true });
      expect(problems).toEqual([]);
    });

    it('fails every command in flight when Redis stops answering on an open connection, and carries on when it answers again', async () => {
      await store.set('stall', record({ n: 1 }));
      // Stopped, not killed: the connection stays open and commands are written, but nothing answers.
      server.process.kill('SIGSTOP');
      try {
        const first = store.get('stall').then(() => 'answered', (err: Error) => err);
        await new Promise((r) => setTimeout(r, commandTimeout / 2));
        // Sent later, so due later: each one fails on its own deadline, none is left waiting.
        const later = [store.getVersioned('stall'), store.touch('stall', record({ n: 1 })), store.destroy('other')]
          .map((p) => p.then(() => 'answered', (err: Error) => err));
        for (const outcome of await Promise.all([first, ...later])) {
          expect(outcome).toBeInstanceOf(Error);
          expect((outcome as Error & { code?: string }).code).toBe('ETIMEDOUT');
        }
      } finally {
        server.process.kill('SIGCONT');
      }
      await waitFor(async () => (await store.get('stall'))?.n === 1, 'answers after the stall');
      const { version } = (await store.getVersioned('stall'))!;
      expect((await store.setIfVersion('stall', version, record({ n: 2 }))).written).toBe(true);
      expect(await store.get('stall')).toMatchObject({ n: 2 });
      expect(problems).toEqual([]);
    });
  });
}

describe('edge cases of the connection', () => {
  it('a node-redis client that was never connected fails at once, with no crash', async () => {
    const client = createClient({ url: server.url });
    const store = new RedisStore({ client, commandTimeout });
    await expect(store.get('x')).rejects.toThrow(/closed/i);
    store.close();
  });

  it('a lazy ioredis client connects on the first command', async () => {
    const client = new Redis(server.url, { lazyConnect: true });
    const store = new RedisStore({ client, prefix: 'lazy:', commandTimeout: 5000 });
    await store.set('s', record({ a: 1 }));
    expect(await store.get('s')).toMatchObject({ a: 1 });
    await store.clear();
    store.close();
    await client.quit();
  });

  it('commandTimeout: 0 waits for Redis (the driver decides)', async () => {
    const client = new Redis(server.url);
    const store = new RedisStore({ client, prefix: 'patient:', commandTimeout: 0 });
    await store.set('s', record({ a: 1 }));
    expect(await store.get('s')).toMatchObject({ a: 1 });
    await store.clear();
    store.close();
    await client.quit();
  });
});
