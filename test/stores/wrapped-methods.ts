/**
 * What the wrapped-methods tests share: every sessionkit store on its real server (each opened
 * with a prefix, table or file of its own, and optionally as a subclass), spies put on a store
 * the way apps put them there, and one Express app whose flow is driven the same way under
 * express-session and under sessionkit.
 */
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import pg from 'pg';
import mysql from 'mysql2/promise';
import request from 'supertest';
import session, { MemoryStore } from '../../src/index.js';
import { SQLiteStore } from '../../src/stores/sql/sqlite.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { PostgresStore } from '../../src/stores/sql/postgres.js';
import { MySQLStore } from '../../src/stores/sql/mysql.js';
import { deleteByPrefix, ioredis, nodeRedis, uniquePrefix } from '../helpers/redis.js';
import { MYSQL_URL, POSTGRES_URL, uniqueTable } from '../helpers/sql.js';

const require = createRequire(import.meta.url);
const expressSession: (options: any) => any = require('express-session');

/** The two middlewares every flow runs under; their recorded calls and responses must agree. */
export const middlewares = [
  { name: 'express-session', session: expressSession },
  { name: 'sessionkit', session: (options: any) => session(options) },
] as const;

/** Makes the class a store is built from: the store's own class, or a subclass of it. */
export type Extend = (Base: any) => any;
const asIs: Extend = (Base) => Base;

export interface Opened {
  store: any;
  close(): Promise<void>;
}

export interface Kind {
  name: string;
  /** A fresh store of this kind, built from `extend(TheStoreClass)`. */
  open(tag: string, extend?: Extend): Promise<Opened>;
}

async function dropRedisKeys(store: RedisStore): Promise<void> {
  const admin = await nodeRedis();
  try {
    await deleteByPrefix(admin, store.prefix);
    await deleteByPrefix(admin, store.userPrefix);
  } finally {
    await admin.quit();
  }
}

/** Every sessionkit store. */
export const kinds: Kind[] = [
  {
    name: 'MemoryStore',
    async open(_tag, extend = asIs) {
      const store = new (extend(MemoryStore))();
      return { store, close: async () => store.close() };
    },
  },
  {
    name: 'SQLiteStore',
    async open(tag, extend = asIs) {
      const dir = mkdtempSync(join(tmpdir(), `sessionkit-wrapped-${tag}-`));
      const store = new (extend(SQLiteStore))({ path: join(dir, 'sessions.db'), pruneInterval: false });
      return {
        store,
        close: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  ...(['node-redis', 'ioredis'] as const).map((driver): Kind => ({
    name: `RedisStore (${driver})`,
    async open(tag, extend = asIs) {
      const client = driver === 'node-redis' ? await nodeRedis() : await ioredis();
      const store = new (extend(RedisStore))({ client, prefix: uniquePrefix(`wrapped-${tag}`) });
      return {
        store,
        close: async () => {
          store.close();
          await dropRedisKeys(store);
          await client.quit();
        },
      };
    },
  })),
  {
    name: 'PostgresStore',
    async open(tag, extend = asIs) {
      const tableName = uniqueTable(`w${tag}`);
      const store = new (extend(PostgresStore))({ connectionString: POSTGRES_URL, tableName, pruneInterval: false });
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
    async open(tag, extend = asIs) {
      const tableName = uniqueTable(`w${tag}`);
      const store = new (extend(MySQLStore))({ uri: MYSQL_URL, tableName, pruneInterval: false });
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

export type Method = 'get' | 'set' | 'destroy' | 'touch' | 'getVersioned' | 'setIfVersion';

/** One call a spy saw: the method, the session ID, and for writes the session's data (its cookie left out). */
export interface Call {
  method: string;
  sid: string;
  data?: string;
}

/** What a spy writes down, at the moment of the call (the session object changes afterwards). */
export function callOf(method: string, args: any[]): Call {
  const call: Call = { method, sid: String(args[0]) };
  if (method === 'set' || method === 'touch' || method === 'setIfVersion') {
    const record = method === 'setIfVersion' ? args[2] : args[1];
    const { cookie: _cookie, ...data } = JSON.parse(JSON.stringify(record));
    call.data = JSON.stringify(data);
  }
  return call;
}

/**
 * Wraps `methods` on the store instance, as a spy in an app's own tests does:
 * `const set = store.set; store.set = function (...a) { calls.push(...); return set.apply(this, a) }`.
 * Returns the originals, to put back by assignment.
 */
export function wrap(store: any, methods: Method[], calls: Call[]): Record<string, Function> {
  const originals: Record<string, Function> = {};
  for (const method of methods) {
    const original = store[method];
    originals[method] = original;
    store[method] = function (this: unknown, ...a: any[]) {
      calls.push(callOf(method, a));
      return original.apply(this, a);
    };
  }
  return originals;
}

/** A subclass that overrides `get` and `set` to write each call down, then calls the store's own. */
export function spyingSubclass(calls: Call[]): Extend {
  return (Base) =>
    class SpyingStore extends Base {
      get(...a: any[]) {
        calls.push(callOf('get', a));
        return super.get(...a);
      }

      set(...a: any[]) {
        calls.push(callOf('set', a));
        return super.set(...a);
      }
    };
}

/** The calls as text, each session ID replaced by the order in which it first appeared (#0, #1...). */
export function normalised(calls: Call[]): string[] {
  const ids = new Map<string, number>();
  return calls.map(({ method, sid, data }) => {
    if (!ids.has(sid)) ids.set(sid, ids.size);
    return `${method} #${ids.get(sid)}${data === undefined ? '' : ` ${data}`}`;
  });
}

export const sessionOptions = {
  secret: 'wrapped-methods tests: a secret of at least thirty-two characters',
  name: 'sid',
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: 600_000 },
};

/**
 * The app of every flow: a login that regenerates the session (as passport does), a write, a
 * read, a page that never looks at the session, a logout that destroys it, and an error
 * handler that prints the message.
 */
export function flowApp(middleware: any) {
  const app = express();
  app.use(middleware);
  const shown = (req: express.Request) => ({ user: (req.session as any)?.user ?? null, n: (req.session as any)?.n ?? null });
  app.post('/login', (req, res, next) => {
    req.session.regenerate((err) => {
      if (err) return next(err);
      (req.session as any).user = 'alice';
      res.json(shown(req));
    });
  });
  app.post('/write', (req, res) => {
    (req.session as any).n = ((req.session as any).n ?? 0) + 1;
    res.json(shown(req));
  });
  app.get('/read', (req, res) => res.json(shown(req)));
  // save() called by the app, as passport does, then one more change for the end of the request.
  app.post('/save-then-write', (req, res, next) => {
    (req.session as any).n = ((req.session as any).n ?? 0) + 1;
    req.session.save((err) => {
      if (err) return next(err);
      (req.session as any).saved = true;
      res.json(shown(req));
    });
  });
  app.get('/reload', (req, res, next) => {
    req.session.reload((err) => (err ? next(err) : res.json(shown(req))));
  });
  app.get('/page', (_req, res) => res.send('a page that never looks at the session'));
  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.json({ loggedOut: true })));
  });
  app.get('/set/:key', async (req, res) => {
    await new Promise((r) => setTimeout(r, Number(req.query.delay ?? 0)));
    (req.session as any)[req.params.key] = true;
    res.send('ok');
  });
  app.get('/keys', (req, res) => res.json(Object.keys(req.session).filter((k) => k !== 'cookie').sort()));
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).send(err.message);
  });
  return app;
}

/** What a response showed: status, body, and whether it set a cookie (and so which session the browser holds). */
export interface Seen {
  step: string;
  status: number;
  body: unknown;
  setsCookie: boolean;
}

/** Drives `app` as one browser: each step's cookie is sent with the next. */
export class Visitor {
  private cookie: string | undefined;
  readonly seen: Seen[] = [];

  constructor(readonly app: any) {}

  async go(method: 'get' | 'post', path: string): Promise<Seen> {
    let req = request(this.app)[method](path);
    if (this.cookie) req = req.set('Cookie', this.cookie);
    const res = await req;
    const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    if (set.length) this.cookie = set[0]!.split(';')[0];
    const seen = {
      step: `${method.toUpperCase()} ${path}`,
      status: res.status,
      body: res.type === 'application/json' ? res.body : res.text,
      setsCookie: set.length > 0,
    };
    this.seen.push(seen);
    return seen;
  }

  /** The Cookie header this browser sends now. */
  get cookieHeader(): string {
    return this.cookie ?? '';
  }
}

/** Login, one write, one read, a page that never looks at the session, logout, then a read with the old cookie. */
export async function loginFlow(visitor: Visitor): Promise<void> {
  await visitor.go('post', '/login');
  await visitor.go('post', '/write');
  await visitor.go('get', '/read');
  await visitor.go('get', '/page');
  await visitor.go('post', '/logout');
  await visitor.go('get', '/read');
}
