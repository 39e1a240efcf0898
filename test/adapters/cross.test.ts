import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express, { type Express, type RequestHandler } from 'express';
import session from '../../src/index.js';
import { cookieSession } from '../../src/cookie-session/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import type { FrontOptions } from '../../src/fronts/hooks.js';
import { deleteByPrefix, nodeRedis, uniquePrefix, type NodeRedisClient } from '../helpers/redis.js';
import { Client, fronts, type Running } from './fronts.js';

const expressSession = createRequire(import.meta.url)('express-session') as (options: object) => RequestHandler;
const secret = 'a secret of at least thirty-two characters, for sealing';
const prefix = uniquePrefix('adapters-cross');
let redis: NodeRedisClient;

beforeAll(async () => {
  redis = await nodeRedis();
});
afterAll(async () => {
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

type Data = { who?: string; views?: number };

/** The Express side of the move: login, the dashboard and logout, on the middleware given. */
function expressApp(middleware: RequestHandler): Express {
  const app = express();
  app.use(middleware);
  app.post('/login', (req, res, next) => {
    req.session.regenerate((err) => {
      if (err) return next(err);
      (req.session as unknown as Data).who = String(req.query.user);
      res.json({ id: req.session.id });
    });
  });
  app.get('/dashboard', (req, res) => {
    const data = req.session as unknown as Data;
    if (!data.who) res.status(401).json({ user: null });
    else res.json({ user: data.who, views: data.views ?? 0, id: req.session.id });
  });
  return app;
}

function listen(app: Express): Promise<Running> {
  const server = createServer(app);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) });
  }));
}

const base = { secret, resave: false, saveUninitialized: false };
const setups: Array<{ name: string; make(): { middleware: RequestHandler; options: FrontOptions } }> = [
  {
    name: 'session() on RedisStore',
    make() {
      const store = new RedisStore({ client: redis, prefix: `${prefix}a:` });
      return { middleware: session({ ...base, store }) as RequestHandler, options: { ...base, store } };
    },
  },
  {
    name: 'express-session on RedisStore',
    make() {
      const store = new RedisStore({ client: redis, prefix: `${prefix}b:` });
      return { middleware: expressSession({ ...base, store }), options: { ...base, store } };
    },
  },
  {
    name: 'cookieSession() (sealed)',
    make: () => ({ middleware: cookieSession({ secret }) as RequestHandler, options: { sealed: true, secret } }),
  },
];

for (const setup of setups) {
  describe(`logged in under Express with ${setup.name}, continued on every front`, () => {
    let servers: Array<{ name: string; running: Running }>;
    let home: Running;
    beforeAll(async () => {
      const { middleware, options } = setup.make();
      home = await listen(expressApp(middleware));
      servers = [];
      for (const front of fronts) servers.push({ name: front.name, running: await front.start(options) });
    });
    afterAll(async () => {
      await home.close();
      for (const { running } of servers) await running.close();
    });

    it('keeps the same session across Express, web, Hono, Fastify and Koa, and logs out from the last', async () => {
      let client = new Client(home.url);
      const login = await client.call('/login?user=alice', 'POST');
      expect(login.status).toBe(200);
      let views = 0;
      for (const { name, running } of servers) {
        client = client.fork(running.url);
        const dashboard = await client.call('/dashboard');
        expect({ name, ...dashboard.body }).toEqual({ name, user: 'alice', views, id: login.body.id });
        expect((await client.call('/views')).body.views).toBe(++views);
        client = client.fork(home.url);
        expect((await client.call('/dashboard')).body).toEqual({ user: 'alice', views, id: login.body.id });
      }
      client = client.fork(servers.at(-1)!.running.url);
      await client.call('/logout', 'POST');
      client = client.fork(home.url);
      expect((await client.call('/dashboard')).status).toBe(401);
    });
  });
}
