/**
 * Moving between express-session + connect-redis and sessionkit + RedisStore on the same Redis:
 * nobody is logged out, either way. Also connect-redis itself as a store of sessionkit.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import request from 'supertest';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import session from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { deleteByPrefix, ioredis, nodeRedis, uniquePrefix, type NodeRedisClient } from '../helpers/redis.js';
import type { Redis } from 'ioredis';

// express-session ships no types (and @types/express-session is not installed).
const expressSession = createRequire(import.meta.url)('express-session') as (options: object) => express.RequestHandler;

const prefix = uniquePrefix('redis-connect');
const secret = 'migration secret';
const maxAge = 10 * 60_000;
let client: NodeRedisClient;
let io: Redis;

beforeAll(async () => {
  client = await nodeRedis();
  io = await ioredis();
});
afterAll(async () => {
  await deleteByPrefix(client, prefix);
  await client.quit();
  await io.quit();
});

function routes(app: express.Express): express.Express {
  app.get('/login/:user', (req, res) => {
    (req.session as any).user = { name: req.params.user, roles: ['reader'] };
    res.send('in');
  });
  app.get('/set/:key/:value', (req, res) => {
    (req.session as any)[req.params.key] = req.params.value;
    res.send('set');
  });
  app.get('/data', (req, res) => {
    const { cookie, ...data } = req.session as any;
    res.json({ id: req.sessionID, data, maxAge: cookie.maxAge });
  });
  app.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.send('out'))));
  return app;
}

const options = { secret, resave: false, saveUninitialized: false, cookie: { maxAge } };

function connectRedisApp(p: string) {
  const app = express();
  app.use(expressSession({ ...options, store: new ConnectRedisStore({ client, prefix: p }) }));
  return routes(app);
}

function sessionkitApp(p: string, driver: 'node-redis' | 'ioredis') {
  const app = express();
  app.use(session({ ...options, store: new RedisStore({ client: driver === 'node-redis' ? client : io, prefix: p }) }));
  return routes(app);
}

function cookieOf(res: request.Response): string {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined;
  expect(header?.length).toBe(1);
  return header![0]!.split(';')[0]!;
}

let n = 0;
for (const driver of ['node-redis', 'ioredis'] as const) {
  describe(`migration with connect-redis (${driver})`, () => {
    it('a session begun under express-session + connect-redis continues under sessionkit + RedisStore, and back', async () => {
      const p = `${prefix}${++n}:`;
      const before = connectRedisApp(p);
      const after = sessionkitApp(p, driver);

      const cookie = cookieOf(await request(before).get('/login/ann').expect('in'));
      const { body: old } = await request(before).get('/data').set('Cookie', cookie);
      const storedByConnectRedis = (await client.get(`${p}${old.id}`))!;

      // sessionkit reads it as is, unchanged by the read.
      const { body: seen } = await request(after).get('/data').set('Cookie', cookie);
      expect({ id: seen.id, data: seen.data }).toEqual({ id: old.id, data: old.data });
      expect(await client.get(`${p}${old.id}`)).toBe(storedByConnectRedis);

      // A change under sessionkit is seen by connect-redis; the record keeps its shape and expiry.
      await request(after).get('/set/theme/dark').set('Cookie', cookie).expect('set');
      const storedBySessionkit = JSON.parse((await client.get(`${p}${old.id}`))!);
      expect(Object.keys(storedBySessionkit).sort()).toEqual([...Object.keys(JSON.parse(storedByConnectRedis)), 'theme'].sort());
      expect(Object.keys(storedBySessionkit.cookie).sort()).toEqual(Object.keys(JSON.parse(storedByConnectRedis).cookie).sort());
      expect(await client.pTTL(`${p}${old.id}`)).toBeGreaterThan(maxAge - 10_000);
      const { body: back } = await request(before).get('/data').set('Cookie', cookie);
      expect(back.data).toEqual({ user: { name: 'ann', roles: ['reader'] }, theme: 'dark' });

      // And a logout under either ends it for both.
      await request(before).get('/logout').set('Cookie', cookie).expect('out');
      expect((await request(after).get('/data').set('Cookie', cookie)).body.data).toEqual({});
    });

    it('a session begun under sessionkit + RedisStore continues under express-session + connect-redis, and back', async () => {
      const p = `${prefix}${++n}:`;
      const now = sessionkitApp(p, driver);
      const rollback = connectRedisApp(p);

      const cookie = cookieOf(await request(now).get('/login/bob').expect('in'));
      const { body: started } = await request(now).get('/data').set('Cookie', cookie);
      const { body: seen } = await request(rollback).get('/data').set('Cookie', cookie);
      expect({ id: seen.id, data: seen.data }).toEqual({ id: started.id, data: started.data });

      await request(rollback).get('/set/cart/3').set('Cookie', cookie).expect('set');
      const { body: back } = await request(now).get('/data').set('Cookie', cookie);
      expect(back).toMatchObject({ id: started.id, data: { user: { name: 'bob', roles: ['reader'] }, cart: '3' } });

      await request(now).get('/logout').set('Cookie', cookie).expect('out');
      expect(await client.exists(`${p}${started.id}`)).toBe(0);
      expect((await request(rollback).get('/data').set('Cookie', cookie)).body.data).toEqual({});
    });

    it('both see the same sessions through all/ids/length', async () => {
      const p = `${prefix}${++n}:`;
      const theirs = new ConnectRedisStore({ client, prefix: p });
      const ours = new RedisStore({ client: driver === 'node-redis' ? client : io, prefix: p, userId: (d) => (d as any).uid });
      await ours.set('a', { cookie: { originalMaxAge: maxAge, expires: new Date(Date.now() + maxAge) as any, path: '/', httpOnly: true }, uid: 1 });
      await new Promise<void>((resolve, reject) => theirs.set('b', { cookie: { originalMaxAge: maxAge, path: '/', httpOnly: true } } as any, (err: unknown) => (err ? reject(err) : resolve())));
      // The user index lives outside connect-redis's prefix, so it sees sessions only.
      expect(((await theirs.ids()) as string[]).sort()).toEqual(['a', 'b']);
      expect(((await ours.ids()) as string[]).sort()).toEqual(['a', 'b']);
      expect(await theirs.length()).toBe(2);
      expect(((await ours.all()) as Array<{ id: string }>).map((s) => s.id).sort()).toEqual(['a', 'b']);
      await ours.clear();
      expect(await theirs.length()).toBe(0);
    });
  });
}

describe('connect-redis as a store of the sessionkit middleware', () => {
  it('keeps, renews and ends sessions', async () => {
    const p = `${prefix}${++n}:`;
    const store = new ConnectRedisStore({ client, prefix: p });
    const app = express();
    app.use(session({ ...options, store, rolling: true }));
    routes(app);
    app.get('/regenerate', (req, res, next) => req.session.regenerate((err) => (err ? next(err) : res.send('new'))));

    const cookie = cookieOf(await request(app).get('/login/cy').expect('in'));
    const { body } = await request(app).get('/data').set('Cookie', cookie);
    expect(body.data).toEqual({ user: { name: 'cy', roles: ['reader'] } });
    expect(JSON.parse((await client.get(`${p}${body.id}`))!).user.name).toBe('cy');

    // An unmodified request touches: connect-redis renews the key's expiry.
    await client.expire(`${p}${body.id}`, 60);
    await request(app).get('/data').set('Cookie', cookie).expect(200);
    expect(await client.ttl(`${p}${body.id}`)).toBeGreaterThan(maxAge / 1000 - 10);

    await request(app).get('/set/a/1').set('Cookie', cookie).expect('set');
    expect(JSON.parse((await client.get(`${p}${body.id}`))!).a).toBe('1');

    const renewed = cookieOf(await request(app).get('/regenerate').set('Cookie', cookie).expect('new'));
    expect(await client.exists(`${p}${body.id}`)).toBe(0);
    expect((await request(app).get('/data').set('Cookie', renewed)).body.id).not.toBe(body.id);

    await request(app).get('/logout').set('Cookie', renewed).expect('out');
    expect(await store.length()).toBe(0);
  });
});
