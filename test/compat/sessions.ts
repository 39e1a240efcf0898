/**
 * The kinds of session the real clients of the session API (passport, connect-flash,
 * csrf-sync) are run on: `session()` on every sessionkit store, each opened against the real
 * servers with a key prefix or table of its own, and `cookieSession()`. And a small cookie jar
 * for driving an app through supertest as a browser would, with a way to send an old cookie.
 */
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';
import request from 'supertest';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import session, { MemoryStore } from '../../src/index.js';
import { cookieSession } from '../../src/cookie-session/index.js';
import { SQLiteStore } from '../../src/stores/sql/sqlite.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { PostgresStore } from '../../src/stores/sql/postgres.js';
import { MySQLStore } from '../../src/stores/sql/mysql.js';
import { deleteByPrefix, ioredis, nodeRedis, uniquePrefix } from '../helpers/redis.js';
import { MYSQL_URL, POSTGRES_URL, uniqueTable } from '../helpers/sql.js';

const require = createRequire(import.meta.url);
export const expressSession: (options: any) => any = require('express-session');

export const secret = 'compat tests: a secret of at least thirty-two characters';
/** One cookie name for every kind, so a flow reads the same on each. */
export const cookieName = 'sid';

/** What every kind's sessions share: express-session's recommended settings. */
export const sessionOptions = {
  secret, name: cookieName, resave: false, saveUninitialized: false, cookie: { maxAge: 600_000 },
};

export interface OpenedStore {
  store: any;
  close(): Promise<void>;
}

export interface StoreKind {
  name: string;
  open(tag: string): Promise<OpenedStore>;
}

/** Every sessionkit store, on the real servers, apart from every other test by prefix, table or file. */
export const storeKinds: StoreKind[] = [
  {
    name: 'MemoryStore',
    async open() {
      const store = new MemoryStore();
      return { store, close: async () => store.close() };
    },
  },
  {
    name: 'SQLiteStore',
    async open(tag) {
      const dir = mkdtempSync(join(tmpdir(), `sessionkit-compat-${tag}-`));
      const store = new SQLiteStore({ path: join(dir, 'sessions.db'), pruneInterval: false });
      return {
        store,
        close: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  ...(['node-redis', 'ioredis'] as const).map((driver): StoreKind => ({
    name: `RedisStore (${driver})`,
    async open(tag) {
      const client = driver === 'node-redis' ? await nodeRedis() : await ioredis();
      const store = new RedisStore({ client, prefix: uniquePrefix(`compat-${tag}`) });
      return {
        store,
        close: async () => {
          store.close();
          const admin = await nodeRedis();
          try {
            await deleteByPrefix(admin, store.prefix);
            await deleteByPrefix(admin, store.userPrefix);
          } finally {
            await admin.quit();
          }
          await client.quit();
        },
      };
    },
  })),
  {
    name: 'PostgresStore',
    async open(tag) {
      const tableName = uniqueTable(`c${tag}`);
      const store = new PostgresStore({ connectionString: POSTGRES_URL, tableName, pruneInterval: false });
      return {
        store,
        close: async () => {
          await store.close();
          const admin = new pg.Client({ connectionString: POSTGRES_URL });
          await admin.connect();
          try {
            await admin.query(`DROP TABLE IF EXISTS "${tableName}_users", "${tableName}"`);
          } finally {
            await admin.end();
          }
        },
      };
    },
  },
  {
    name: 'MySQLStore',
    async open(tag) {
      const tableName = uniqueTable(`c${tag}`);
      const store = new MySQLStore({ uri: MYSQL_URL, tableName, pruneInterval: false });
      return {
        store,
        close: async () => {
          await store.close();
          const admin = await mysql.createConnection(MYSQL_URL);
          try {
            await admin.query(`DROP TABLE IF EXISTS \`${tableName}_users\`, \`${tableName}\``);
          } finally {
            await admin.end();
          }
        },
      };
    },
  },
];

/**
 * Stores written for express-session, which sessionkit uses through their plain get/set/
 * destroy/touch (without the conditional writes of its own stores).
 */
export const otherStoreKinds: StoreKind[] = [
  {
    name: 'memorystore (an express-session store)',
    async open() {
      const MemoryStoreModule = require('memorystore')(expressSession);
      const store = new MemoryStoreModule({ checkPeriod: 600_000 });
      return { store, close: async () => store.stopInterval() };
    },
  },
  {
    name: 'connect-redis (an express-session store)',
    async open(tag) {
      const client = await nodeRedis();
      const prefix = uniquePrefix(`compat-${tag}-connect-redis`);
      const store = new ConnectRedisStore({ client, prefix });
      return {
        store,
        close: async () => {
          await deleteByPrefix(client, prefix);
          await client.quit();
        },
      };
    },
  },
];

/** The two session middlewares a store is used with: the same flow runs on both and must agree. */
export const factories = [
  { name: 'express-session', session: expressSession },
  { name: 'sessionkit', session: (options: any) => session(options) },
] as const;

/** sessionkit's cookie-only sessions, with the same settings where they mean something there. */
export function cookieOnly() {
  return cookieSession({ secret, name: cookieName, cookie: { maxAge: 600_000 } });
}

/** What `store` holds for the session `id`, through the callback every express-session store takes. */
export function stored(store: any, id: string): Promise<any> {
  return new Promise((resolve, reject) => {
    store.get(id, (err: unknown, data: unknown) => (err ? reject(err) : resolve(data)));
  });
}

/** The session ID in a signed session cookie's value (`s:<id>.<signature>`). */
export function idOf(value: string): string {
  const text = decodeURIComponent(value);
  return text.slice(2, text.lastIndexOf('.'));
}

/**
 * A browser's cookies for one app: responses update it (a cookie set in the past is
 * removed), and a snapshot of it can be sent later, as a copy an attacker kept would be.
 */
export class Browser {
  cookies = new Map<string, string>();

  constructor(private readonly app: any) {}

  /** The Cookie header this browser sends (or `jar`'s, a snapshot taken earlier). */
  header(jar: Map<string, string> = this.cookies): string {
    return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  snapshot(): Map<string, string> {
    return new Map(this.cookies);
  }

  /** Sends a request with this browser's cookies (or `jar`), and keeps what the response sets unless a jar was given. */
  async send(method: 'get' | 'post', path: string, form?: Record<string, string>, jar?: Map<string, string>) {
    let req = request(this.app)[method](path).redirects(0);
    const cookie = this.header(jar);
    if (cookie) req = req.set('Cookie', cookie);
    if (form) req = req.type('form').send(form);
    const res = await req;
    const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    if (!jar) {
      for (const line of set) {
        const [pair, ...attributes] = line.split(';');
        const eq = pair!.indexOf('=');
        const name = pair!.slice(0, eq).trim();
        const expires = attributes.map((a) => a.trim()).find((a) => /^expires=/i.test(a));
        const gone = expires !== undefined && Date.parse(expires.slice(8)) <= Date.now();
        if (gone) this.cookies.delete(name);
        else this.cookies.set(name, pair!.slice(eq + 1).trim());
      }
    }
    return Object.assign(res, { setsCookie: set.length > 0 });
  }

  get(path: string, jar?: Map<string, string>) {
    return this.send('get', path, undefined, jar);
  }

  post(path: string, form: Record<string, string> = {}, jar?: Map<string, string>) {
    return this.send('post', path, form, jar);
  }
}
