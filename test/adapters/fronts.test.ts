import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { MemoryStore } from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { PostgresStore } from '../../src/stores/sql/postgres.js';
import { POSTGRES_URL, uniqueTable } from '../helpers/sql.js';
import pg from 'pg';
import type { FrontOptions } from '../../src/fronts/hooks.js';
import { deleteByPrefix, nodeRedis, uniquePrefix, type NodeRedisClient } from '../helpers/redis.js';
import { Client, fronts, type Running } from './fronts.js';

type Callback = (err?: unknown, value?: unknown) => void;
interface PlainStore {
  get(id: string, cb: Callback): void;
  set(id: string, data: unknown, cb?: Callback): void;
  destroy(id: string, cb?: Callback): void;
}
/** express-session's own MemoryStore: a store with no conditional writes and no user index. */
const ExpressSessionMemoryStore = (createRequire(import.meta.url)('express-session') as { MemoryStore: new () => PlainStore }).MemoryStore;

const secret = 'a secret of at least thirty-two characters, for sealing';
const base = { secret, resave: false, saveUninitialized: false } as const;
const whoOf = (data: unknown) => (data as { who?: string }).who;
const prefix = uniquePrefix('adapters');
let redis: NodeRedisClient;
let n = 0;

beforeAll(async () => {
  redis = await nodeRedis();
});
/** The PostgreSQL stores made, closed and their tables dropped at the end. */
const postgresStores: Array<{ store: PostgresStore; table: string }> = [];
afterAll(async () => {
  await deleteByPrefix(redis, prefix);
  await redis.quit();
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
  for (const { store, table } of postgresStores) {
    await store.close();
    await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_users"`);
  }
  await admin.end();
});

interface Kind {
  name: string;
  make(): FrontOptions;
  /** A server-side store with conditional writes: overlapping writers and late writers are tested. */
  atomic: boolean;
  userIndex: boolean;
  cookie: string;
}

const kinds: Kind[] = [
  { name: 'MemoryStore', atomic: true, userIndex: true, cookie: 'connect.sid', make: () => ({ ...base, store: new MemoryStore({ userId: whoOf }) }) },
  {
    name: 'RedisStore', atomic: true, userIndex: true, cookie: 'connect.sid',
    make: () => ({ ...base, store: new RedisStore({ client: redis, prefix: `${prefix}${++n}:`, userId: whoOf }) }),
  },
  {
    name: 'PostgresStore', atomic: true, userIndex: true, cookie: 'connect.sid',
    make() {
      const table = uniqueTable('fronts');
      const store = new PostgresStore({ connectionString: POSTGRES_URL, tableName: table, pruneInterval: false, userId: whoOf });
      postgresStores.push({ store, table });
      return { ...base, store };
    },
  },
  { name: "express-session's MemoryStore", atomic: false, userIndex: false, cookie: 'connect.sid', make: () => ({ ...base, store: new ExpressSessionMemoryStore() as never }) },
  { name: 'sealed cookie', atomic: false, userIndex: false, cookie: 'session', make: () => ({ sealed: true, secret }) },
];

type StoreLike = { get(id: string, cb: (err: unknown, value?: unknown) => void): void };
function stored(options: FrontOptions, id: string): Promise<unknown> {
  const store = (options as { store?: StoreLike }).store!;
  return new Promise((resolve, reject) => store.get(id, (err, value) => (err ? reject(err) : resolve(value ?? null))));
}

for (const front of fronts) {
  describe(`sessionkit/${front.name}`, () => {
    for (const kind of kinds) {
      describe(kind.name, () => {
        let options: FrontOptions;
        let server: Running;
        beforeAll(async () => {
          options = kind.make();
          server = await front.start(options);
        });
        afterAll(() => server.close());

        it('counts views in one session', async () => {
          const client = new Client(server.url);
          const first = await client.call('/views');
          expect(first.body.views).toBe(1);
          expect(first.cookies.some((c) => c.startsWith(`${kind.cookie}=`))).toBe(true);
          expect((await client.call('/views')).body.views).toBe(2);
          const third = await client.call('/views');
          expect(third.body).toEqual({ views: 3, id: first.body.id });
        });

        it('logs in with a new ID, shows the dashboard, logs out', async () => {
          const client = new Client(server.url);
          const before = await client.call('/views');
          expect((await client.call('/dashboard')).status).toBe(401);
          const login = await client.call('/login?user=alice', 'POST');
          expect(login.status).toBe(200);
          expect(login.body.id).not.toBe(before.body.id);
          if (kind.cookie === 'connect.sid') expect(await stored(options, before.body.id as string)).toBeNull();
          const dashboard = await client.call('/dashboard');
          expect(dashboard.body).toMatchObject({ user: 'alice', id: login.body.id });
          const logout = await client.call('/logout', 'POST');
          expect(logout.status).toBe(200);
          expect((await client.call('/dashboard')).status).toBe(401);
          if (kind.cookie === 'connect.sid') expect(await stored(options, login.body.id as string)).toBeNull();
        });

        if (front.name === 'koa') {
          it('destroys the session when ctx.session is set to null', async () => {
            const client = new Client(server.url);
            const login = await client.call('/login?user=alice', 'POST');
            const replay = client.fork();
            await client.call('/logout?null', 'POST');
            expect((await client.call('/dashboard')).status).toBe(401);
            if (kind.cookie === 'connect.sid') {
              expect(await stored(options, login.body.id as string)).toBeNull();
              expect((await replay.call('/dashboard')).status).toBe(401);
            }
          });
        }

        it('gives a fresh session for a forged or unreadable cookie', async () => {
          for (const value of ['s%3Aforged.c2lnbmF0dXJl', 'garbage', '%E0%A4%A']) {
            const client = new Client(server.url);
            client.jar.set(kind.cookie, value);
            const res = await client.call('/views');
            expect(res.status).toBe(200);
            expect(res.body.views).toBe(1);
            expect(client.jar.get(kind.cookie)).not.toBe(value);
          }
        });

        if (kind.atomic) {
          it('keeps all of 30 overlapping writers', async () => {
            const client = new Client(server.url);
            await client.call('/views');
            const writes = Array.from({ length: 30 }, (_, i) => client.fork().call(`/write?key=${i}&wait=${(i * 7) % 40}`, 'POST'));
            const answers = await Promise.all(writes);
            expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
            expect((await client.call('/keys')).body.keys).toBe(30);
          });

          it('does not bring a session back when a slow request ends after logout', async () => {
            const client = new Client(server.url);
            const login = await client.call('/login?user=alice', 'POST');
            const slow = client.fork().call('/slow?wait=200', 'POST');
            await new Promise((resolve) => setTimeout(resolve, 50));
            await client.call('/logout', 'POST');
            expect((await slow).status).toBe(200);
            expect(await stored(options, login.body.id as string)).toBeNull();
            expect((await client.call('/dashboard')).status).toBe(401);
          });
        }

        if (kind.userIndex) {
          it("logs out the user's other devices", async () => {
            const user = `bob${front.name}${kind.name.length}`;
            const devices = [new Client(server.url), new Client(server.url), new Client(server.url)];
            for (const device of devices) await device.call(`/login?user=${user}`, 'POST');
            const [here, ...others] = devices;
            expect(((await here!.call('/list')).body.ids as string[]).length).toBe(3);
            expect((await here!.call('/others', 'POST')).body.ended).toBe(2);
            for (const other of others) expect((await other.call('/dashboard')).status).toBe(401);
            expect((await here!.call('/dashboard')).body.user).toBe(user);
            expect(((await here!.call('/list')).body.ids as string[]).length).toBe(1);
          });
        }
      });
    }

    it('answers with an error, and no session cookie, when the store fails to save a login', async () => {
      class FailingStore extends ExpressSessionMemoryStore {
        failing = false;
        set(id: string, data: unknown, cb?: Callback): void {
          if (this.failing) setImmediate(() => cb?.(new Error('store unavailable')));
          else super.set(id, data, cb);
        }
      }
      const store = new FailingStore();
      const server = await front.start({ ...base, store: store as never });
      try {
        const client = new Client(server.url);
        await client.call('/views');
        const before = client.jar.get('connect.sid');
        store.failing = true;
        const login = await client.call('/login?user=alice', 'POST');
        expect(login.status).toBe(500);
        expect(login.cookies).toEqual([]);
        expect(client.jar.get('connect.sid')).toBe(before);
        store.failing = false;
        expect((await client.call('/dashboard')).status).toBe(401);
      } finally {
        await server.close();
      }
    });
  });
}
