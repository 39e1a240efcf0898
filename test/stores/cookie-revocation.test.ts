/**
 * Revocable sealed cookies on real stores: sessionkit's and express-session's, on the shared
 * Redis and PostgreSQL servers. Two instances of the app share each store, as two processes
 * would: a revocation on one ends the user's cookies on both.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import express from 'express';
import pg from 'pg';
import request from 'supertest';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cookieSession, type CookieSessionMiddleware, type RevocationStore } from '../../src/cookie-session/index.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { PostgresStore } from '../../src/stores/sql/postgres.js';
import { deleteByPrefix, ioredis, nodeRedis, uniquePrefix } from '../helpers/redis.js';
import { POSTGRES_URL, uniqueTable } from '../helpers/sql.js';

const require = createRequire(import.meta.url);
const expressSession = require('express-session');
const PGSimpleStore = require('connect-pg-simple')(expressSession);

const SECRET = randomBytes(32).toString('base64');
const DAY = 24 * 60 * 60 * 1000;
const prefix = uniquePrefix('cookie-revocation');
const admin = await nodeRedis();
const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
const tables: string[] = [];
const schemas: string[] = [];

afterAll(async () => {
  await deleteByPrefix(admin, prefix);
  await admin.quit();
  for (const table of tables) await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_users"`);
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

interface Case {
  name: string;
  /** The store, and how to make its next reads fail (undefined: in memory, nothing to break). */
  make(): Promise<{ store: RevocationStore; breakIt?: () => Promise<void>; close: () => Promise<void> }>;
}

let n = 0;
const cases: Case[] = [
  {
    name: 'sessionkit MemoryStore',
    make: async () => ({ store: new MemoryStore(), close: async () => {} }),
  },
  {
    name: 'sessionkit RedisStore (node-redis)',
    make: async () => {
      const client = await nodeRedis();
      const store = new RedisStore({ client, prefix: `${prefix}nr${++n}:` });
      return { store, breakIt: async () => void client.destroy(), close: async () => void (client.isOpen && (await client.quit())) };
    },
  },
  {
    name: 'sessionkit RedisStore (ioredis, with a user index)',
    make: async () => {
      const client = await ioredis();
      const store = new RedisStore({ client, prefix: `${prefix}io${++n}:`, userId: (d) => d.user });
      return { store, breakIt: async () => void client.disconnect(), close: async () => void client.disconnect() };
    },
  },
  {
    name: 'sessionkit PostgresStore',
    make: async () => {
      const tableName = uniqueTable('ckrev');
      tables.push(tableName);
      const store = new PostgresStore({ connectionString: POSTGRES_URL, tableName, pruneInterval: false });
      return { store, breakIt: () => store.close(), close: () => store.close() };
    },
  },
  {
    name: 'connect-redis (an express-session store)',
    make: async () => {
      const client = await nodeRedis();
      const store = new ConnectRedisStore({ client, prefix: `${prefix}cr${++n}:` });
      return { store, breakIt: async () => void client.destroy(), close: async () => void (client.isOpen && (await client.quit())) };
    },
  },
  {
    name: 'connect-pg-simple (an express-session store)',
    make: async () => {
      // Its own schema: connect-pg-simple names its table's constraint session_pkey whatever the table.
      const schemaName = uniqueTable('ckrevpgs');
      schemas.push(schemaName);
      await pool.query(`CREATE SCHEMA "${schemaName}"`);
      const ownPool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
      const store = new PGSimpleStore({ pool: ownPool, schemaName, createTableIfMissing: true, pruneSessionInterval: false });
      let ended = false;
      const end = async () => {
        if (!ended) await ownPool.end();
        ended = true;
      };
      return { store, breakIt: end, close: end };
    },
  },
];

function app(sessions: CookieSessionMiddleware) {
  const a = express();
  a.use(express.json());
  a.use(sessions);
  a.get('/', (req, res) => res.json({ user: (req.session as unknown as { user?: string }).user ?? null }));
  a.post('/login', (req, res) => {
    (req.session as unknown as { user: string }).user = req.body.user;
    res.json({ id: req.sessionID });
  });
  a.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: err.message });
  });
  return a;
}

async function login(a: express.Express, user: string): Promise<string> {
  const res = await request(a).post('/login').send({ user }).expect(200);
  const header = (res.headers['set-cookie'] as unknown as string[])[0]!;
  return header.split(';')[0]!;
}

async function userOf(a: express.Express, cookie: string): Promise<{ status: number; user: string | null; setCookie: unknown }> {
  const res = await request(a).get('/').set('Cookie', cookie);
  return { status: res.status, user: res.body.user ?? null, setCookie: res.headers['set-cookie'] };
}

beforeEach(() => {
  // The clock the middleware reads (Date only), a step at a time from now, so that a login and
  // a revocation never share a millisecond; the servers keep their own time.
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
});
afterEach(() => {
  vi.useRealTimers();
});

const tick = () => vi.setSystemTime(Date.now() + 1);

describe.each(cases)('cookieSession revocation on $name', ({ make }) => {
  it('ends the user’s cookies on every instance sharing the store, and only theirs', async () => {
    const { store, close } = await make();
    try {
      const options = { secret: SECRET, cookie: { maxAge: 7 * DAY }, revocation: { store, userId: (d: Record<string, unknown>) => d.user as string } };
      const one = cookieSession(options);
      const two = cookieSession(options);
      const revoked: unknown[] = [];
      two.on('revoked', (e) => revoked.push(e));
      const appOne = app(one);
      const appTwo = app(two);
      const ann = await login(appOne, 'ann');
      const annPhone = await login(appTwo, 'ann');
      const bob = await login(appOne, 'bob');
      tick();
      expect((await userOf(appTwo, ann)).user).toBe('ann');
      await one.revokeUserCookies('ann');
      tick();
      for (const cookie of [ann, annPhone]) {
        const seen = await userOf(appTwo, cookie);
        expect(seen.user).toBeNull();
        expect(String(seen.setCookie)).toContain('Expires=Thu, 01 Jan 1970');
      }
      expect(revoked).toHaveLength(2);
      expect(revoked[0]).toMatchObject({ userId: 'ann' });
      expect((await userOf(appOne, ann)).user).toBeNull();
      expect((await userOf(appTwo, bob)).user).toBe('bob');
      const again = await login(appTwo, 'ann');
      tick();
      expect((await userOf(appOne, again)).user).toBe('ann');

      // The record itself, read back through the store's own get.
      const record = await new Promise<Record<string, unknown>>((resolve, reject) =>
        store.get('sessionkit:revoked:ann', (err, r) => (err ? reject(err) : resolve(r as Record<string, unknown>))));
      expect(typeof record.epoch).toBe('number');
      expect((record.cookie as { originalMaxAge: number }).originalMaxAge).toBe(7 * DAY);
    } finally {
      await close();
    }
  });

});

// In memory there is nothing to break: a failing store's get is covered by the unit tests.
describe.each(cases.slice(1))('cookieSession revocation on a failing $name', ({ make }) => {
  it('fails the request, never lets the cookie through', async () => {
    const { store, breakIt, close } = await make();
    try {
      const sessions = cookieSession({ secret: SECRET, revocation: { store, userId: (d) => d.user as string } });
      const a = app(sessions);
      const ann = await login(a, 'ann');
      tick();
      await sessions.revokeUserCookies('ann');
      tick();
      expect((await userOf(a, ann)).user).toBeNull();
      const bob = await login(a, 'bob');
      await breakIt!();
      for (const cookie of [ann, bob]) {
        const seen = await userOf(a, cookie);
        expect(seen.status).toBe(500);
        expect(seen.user).toBeNull();
        expect(seen.setCookie).toBeUndefined();
      }
    } finally {
      await close();
    }
  });
});
