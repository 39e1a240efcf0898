import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import express from 'express';
import request from 'supertest';
import session from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import type { SessionRecord } from '../../src/index.js';
import { record, runConformance, type ConformanceStore } from './conformance.js';
import { commandsOf, deleteByPrefix, ioredis, nodeRedis, uniquePrefix, type NodeRedisClient } from '../helpers/redis.js';

const base = uniquePrefix('redis');
let admin: NodeRedisClient;
let n = 0;
/** Each store gets its own client, so breaking one breaks nothing else. */
const clientOf = new Map<ConformanceStore, { quit(): Promise<unknown> | void }>();

beforeAll(async () => {
  admin = await nodeRedis();
});
// Registered before the suites, so it runs after their own cleanup.
afterAll(async () => {
  await deleteByPrefix(admin, base);
  await admin.quit();
});

async function cleanup(store: ConformanceStore) {
  const s = store as unknown as RedisStore;
  await deleteByPrefix(admin, s.prefix);
  await deleteByPrefix(admin, s.userPrefix);
  await Promise.resolve(clientOf.get(store)?.quit()).catch(() => {});
}

runConformance({
  name: 'RedisStore (node-redis)',
  userIndex: true,
  async create(options) {
    const client = await nodeRedis();
    let store: ConformanceStore;
    try {
      store = new RedisStore({ client, prefix: `${base}nr${++n}:`, ...options }) as unknown as ConformanceStore;
    } catch (err) {
      // Options the store refuses: the client is closed here, as no dispose will.
      await Promise.resolve(client.quit()).catch(() => {});
      throw err;
    }
    clientOf.set(store, { quit: () => (client.isOpen ? client.quit() : undefined) });
    return store;
  },
  dispose: cleanup,
  async breakStore(store) {
    (store as unknown as RedisStore & { client: NodeRedisClient }).client.destroy();
  },
});

runConformance({
  name: 'RedisStore (ioredis)',
  userIndex: true,
  async create(options) {
    const client = await ioredis();
    let store: ConformanceStore;
    try {
      store = new RedisStore({ client, prefix: `${base}io${++n}:`, ...options }) as unknown as ConformanceStore;
    } catch (err) {
      // Options the store refuses: the client is closed here, as no dispose will.
      await Promise.resolve(client.quit()).catch(() => {});
      throw err;
    }
    clientOf.set(store, { quit: () => (client.status === 'end' ? undefined : client.quit()) });
    return store;
  },
  dispose: cleanup,
  async breakStore(store) {
    ((store as unknown as RedisStore).client as import('ioredis').Redis).disconnect();
  },
});

describe('RedisStore: data layout and options', () => {
  const stores: RedisStore[] = [];
  const clients: Array<{ quit(): Promise<unknown> }> = [];
  afterAll(async () => {
    for (const s of stores) {
      await deleteByPrefix(admin, s.prefix);
      await deleteByPrefix(admin, s.userPrefix);
      s.close();
    }
    for (const c of clients) await c.quit();
  });
  async function make(driver: 'node-redis' | 'ioredis', options: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}) {
    const client = driver === 'node-redis' ? await nodeRedis() : await ioredis();
    clients.push(client);
    const store = new RedisStore({ client, prefix: `${base}opt${++n}:`, ...options });
    stores.push(store);
    return store;
  }

  for (const driver of ['node-redis', 'ioredis'] as const) {
    describe(driver, () => {
      it("stores connect-redis's layout: <prefix><id> holding the JSON record, expiring with the cookie", async () => {
        const store = await make(driver);
        const rec = record({ user: 'ann' }, 60_000);
        await store.set('abc', rec);
        expect(await admin.get(`${store.prefix}abc`)).toBe(JSON.stringify(rec));
        const pttl = await admin.pTTL(`${store.prefix}abc`);
        expect(pttl).toBeGreaterThan(55_000);
        expect(pttl).toBeLessThanOrEqual(60_000);
      });

      it('uses ttl (seconds, or a function) when the cookie has no expiry, and deletes a record already expired', async () => {
        const store = await make(driver, { ttl: 120 });
        await store.set('noexp', { cookie: { originalMaxAge: null, path: '/' } } as SessionRecord);
        const pttl = await admin.pTTL(`${store.prefix}noexp`);
        expect(pttl).toBeGreaterThan(115_000);
        expect(pttl).toBeLessThanOrEqual(120_000);

        const fn = await make(driver, { ttl: (sess) => ((sess as any).long ? 1000 : 10) });
        await fn.set('long', record({ long: true }));
        expect(await admin.pTTL(`${fn.prefix}long`)).toBeGreaterThan(990_000);

        await store.set('old', record({ a: 1 }));
        await store.set('old', record({ a: 2 }, -5000));
        expect(await admin.exists(`${store.prefix}old`)).toBe(0);
      });

      it('disableTTL stores without expiry and makes touch a no-op; disableTouch keeps the expiry', async () => {
        const store = await make(driver, { disableTTL: true });
        await store.set('forever', record());
        expect(await admin.pTTL(`${store.prefix}forever`)).toBe(-1);
        await store.touch('forever', record());
        expect(await admin.pTTL(`${store.prefix}forever`)).toBe(-1);

        const untouched = await make(driver, { disableTouch: true });
        await untouched.set('t', record({}, 30_000));
        await untouched.touch('t', record({}, 600_000));
        expect(await admin.pTTL(`${untouched.prefix}t`)).toBeLessThanOrEqual(30_000);
      });

      it('touch renews the expiry without rewriting the record', async () => {
        const store = await make(driver);
        const rec = record({ a: 1 }, 30_000);
        await store.set('t', rec);
        await store.touch('t', { ...record({ a: 'changed' }, 600_000) });
        expect(await admin.pTTL(`${store.prefix}t`)).toBeGreaterThan(500_000);
        expect(await admin.get(`${store.prefix}t`)).toBe(JSON.stringify(rec));
      });

      it("loads the cookie with the key's real expiry, so touchAfter skips the touches that are not due", async () => {
        const store = await make(driver);
        await store.set('t', record({ a: 1 }, 60_000));
        await store.touch('t', record({ a: 1 }, 600_000));
        const loaded = (await store.getVersioned('t'))!;
        expect(new Date(loaded.record.cookie.expires as string).getTime()).toBeGreaterThan(Date.now() + 590_000);
        expect(loaded.version).toBe(await admin.get(`${store.prefix}t`));
        await store.set('browser', { cookie: { originalMaxAge: null, expires: null, path: '/' } } as SessionRecord);
        expect((await store.getVersioned('browser'))!.record.cookie.expires).toBeNull();

        const app = express();
        app.use(session({ secret: 's', resave: false, saveUninitialized: false, store, touchAfter: 1, cookie: { maxAge: 600_000 } }));
        app.get('/login', (req, res) => {
          (req.session as any).user = 'u';
          res.send('in');
        });
        app.get('/read', (req, res) => res.send(String((req.session as any).user)));
        const cookie = String((await request(app).get('/login')).headers['set-cookie']).split(';')[0]!;
        await new Promise((r) => setTimeout(r, 1100));
        // Counted at the client: a spy on store.touch would be a wrapped method, which takes the
        // store off the conditional path (getVersioned) that reads the key's expiry.
        const client = store.client as { sendCommand(...args: unknown[]): unknown; call(...args: unknown[]): unknown };
        const sent = driver === 'node-redis' ? vi.spyOn(client, 'sendCommand') : vi.spyOn(client, 'call');
        const pexpires = () => sent.mock.calls.filter((call) => (driver === 'node-redis' ? (call[0] as string[])[0] : call[0]) === 'PEXPIRE').length;
        for (let i = 0; i < 10; i++) await request(app).get('/read').set('Cookie', cookie).expect('u');
        const touches = pexpires();
        sent.mockRestore();
        expect(touches).toBe(1);
      });

      it('getVersioned returns the exact stored text; setIfVersion writes only over it', async () => {
        const store = await make(driver);
        await store.set('v', record({ n: 1 }));
        const loaded = (await store.getVersioned('v'))!;
        expect(loaded.version).toBe(await admin.get(`${store.prefix}v`));
        expect(loaded.record.n).toBe(1);

        const next = record({ n: 2 });
        const first = await store.setIfVersion('v', loaded.version, next);
        expect(first).toEqual({ written: true, version: JSON.stringify(next) });
        expect(await admin.pTTL(`${store.prefix}v`)).toBeGreaterThan(590_000);

        // A stale version: nothing written, the current record returned for a merge.
        const stale = await store.setIfVersion('v', loaded.version, record({ n: 3 }));
        expect(stale).toMatchObject({ written: false, current: { record: { n: 2 }, version: JSON.stringify(next) } });
        expect(JSON.parse((await admin.get(`${store.prefix}v`))!).n).toBe(2);

        // A destroyed record is never recreated.
        await store.destroy('v');
        expect(await store.setIfVersion('v', JSON.stringify(next), record({ n: 4 }))).toEqual({ written: false, current: null });
        expect(await admin.exists(`${store.prefix}v`)).toBe(0);
        expect(await store.getVersioned('v')).toBeNull();
      });

      it('setIfVersion deletes a record whose new expiry has passed', async () => {
        const store = await make(driver);
        await store.set('s', record({ n: 1 }));
        const { version } = (await store.getVersioned('s'))!;
        expect(await store.setIfVersion('s', version, record({ n: 3 }, -1000))).toEqual({ written: false, current: null });
        expect(await admin.exists(`${store.prefix}s`)).toBe(0);
      });

      it('reads unparseable or foreign values as no session', async () => {
        const store = await make(driver);
        await admin.set(`${store.prefix}junk`, '{not json');
        await admin.set(`${store.prefix}nocookie`, '{"a":1}');
        expect(await store.get('junk')).toBeNull();
        expect(await store.getVersioned('nocookie')).toBeNull();
        await admin.set(`${store.prefix}x`, 'v1');
        expect(await store.setIfVersion('x', 'other', record())).toEqual({ written: false, current: null });
      });

      it('all() returns records with their id, as connect-redis; a custom serializer round-trips', async () => {
        const serializer = {
          stringify: (r: SessionRecord) => 'b64:' + Buffer.from(JSON.stringify(r)).toString('base64'),
          parse: (t: string) => JSON.parse(Buffer.from(t.slice(4), 'base64').toString()),
        };
        const store = await make(driver, { serializer });
        await store.set('one', record({ a: 1 }));
        expect((await admin.get(`${store.prefix}one`))!.startsWith('b64:')).toBe(true);
        expect(await store.get('one')).toMatchObject({ a: 1 });
        const all = (await store.all()) as Array<SessionRecord & { id: string }>;
        expect(all).toHaveLength(1);
        expect(all[0]).toMatchObject({ id: 'one', a: 1 });
        const { version } = (await store.getVersioned('one'))!;
        expect((await store.setIfVersion('one', version, record({ a: 2 }))).written).toBe(true);
        expect(await store.get('one')).toMatchObject({ a: 2 });
      });

      it('keeps a prefix with glob characters to its own keys', async () => {
        const store = await make(driver, { prefix: `${base}g[l]o*b?${++n}:` });
        const neighbour = await make(driver, { prefix: `${base}gLo-b!${n}:` });
        await store.set('a', record());
        await neighbour.set('b', record());
        expect(await store.ids()).toEqual(['a']);
        await store.clear();
        expect(await neighbour.length()).toBe(1);
      });

      it('files sessions under their user in a set outside the session prefix, living as long as the longest session', async () => {
        const store = await make(driver, { userId: (d) => (d as any).uid });
        expect(store.userPrefix).toBe(store.prefix.replace(/:$/, '-user:'));
        await store.set('long', record({ uid: 7 }, 600_000));
        await store.set('short', record({ uid: 7 }, 60_000));
        const key = `${store.userPrefix}7`;
        expect((await admin.sMembers(key)).sort()).toEqual(['long', 'short']);
        expect(await admin.pTTL(key)).toBeGreaterThan(590_000);
        await store.touch('short', record({ uid: 7 }, 900_000));
        expect(await admin.pTTL(key)).toBeGreaterThan(890_000);
        // The index is no session: not listed, counted, nor returned.
        expect((await store.ids()).sort()).toEqual(['long', 'short']);
        expect(await store.length()).toBe(2);
        await store.clear();
        expect(await admin.exists(key)).toBe(0);
      });


      it('writes, touches and conditionally writes a session and files it under its user with plain commands (a login in two round trips), but for the conditional script', async () => {
        const store = await make(driver, { userId: (d) => (d as any).uid });
        const key = `${store.userPrefix}8`;
        // Each script reaches the server once in full (EVAL), the first time it is missing there.
        await store.set('warm', record({ uid: 'w' }));
        await store.touch('warm', record({ uid: 'w' }));
        await store.setIfVersion('warm', (await store.getVersioned('warm'))!.version, record({ uid: 'w' }));
        expect(await commandsOf(store, driver, () => store.set('a', record({ uid: 8 }, 60_000)))).toEqual(['SET', 'SADD', 'PEXPIRE', 'PEXPIRE']);
        expect(await admin.pTTL(key)).toBeGreaterThan(85_000);
        expect(await admin.sMembers(key)).toEqual(['a']);
        expect(JSON.parse((await admin.get(`${store.prefix}a`))!).uid).toBe(8);
        expect(await commandsOf(store, driver, () => store.touch('a', record({ uid: 8 }, 600_000)))).toEqual(['PEXPIRE', 'PEXPIRE']);
        expect(await admin.pTTL(key)).toBeGreaterThan(890_000);
        expect(await admin.pTTL(`${store.prefix}a`)).toBeGreaterThan(590_000);
        const { version } = (await store.getVersioned('a'))!;
        expect(await commandsOf(store, driver, () => store.setIfVersion('b', version, record({ uid: 8 })))).toEqual(['EVALSHA']);
        // Not written (no session b), so not filed either.
        expect(await admin.sMembers(key)).toEqual(['a']);
        expect(await commandsOf(store, driver, () => store.setIfVersion('a', version, record({ uid: 8, n: 2 })))).toEqual(['EVALSHA']);
        expect((await store.get('a'))!.n).toBe(2);
        // Touching a session that is gone neither creates it nor files it.
        await store.touch('ghost', record({ uid: 9 }, 60_000));
        expect(await admin.exists([`${store.prefix}ghost`, `${store.userPrefix}9`])).toBe(0);
      });

      it("makes the user's set outlive its sessions: the longest expiry and half as long again, never shortened", async () => {
        const store = await make(driver, { userId: (d) => (d as any).uid });
        const key = `${store.userPrefix}5`;
        await store.set('s', record({ uid: 5 }, 60_000));
        const first = await admin.pTTL(key);
        expect(first).toBeGreaterThan(85_000);
        expect(first).toBeLessThanOrEqual(90_000);
        // A touch to a shorter expiry than the set's leaves the set alone.
        await store.touch('s', record({ uid: 5 }, 30_000));
        expect(await admin.pTTL(key)).toBeLessThanOrEqual(first);
        expect(await admin.pTTL(key)).toBeGreaterThan(80_000);
        // A longer one: extended to the new expiry and half as long again.
        await store.touch('s', record({ uid: 5 }, 100_000));
        expect(await admin.pTTL(key)).toBeGreaterThan(145_000);
        // Never shortened by a shorter session of the same user, saved or touched.
        await store.set('short', record({ uid: 5 }, 10_000));
        await store.touch('short', record({ uid: 5 }, 10_000));
        expect(await admin.pTTL(key)).toBeGreaterThan(145_000);
        const forever = await make(driver, { userId: (d) => (d as any).uid, disableTTL: true });
        await forever.set('f', record({ uid: 5 }));
        expect(await admin.pTTL(`${forever.userPrefix}5`)).toBe(-1);
      });

      it('touches and saves with scripts where the server has no PEXPIRE NX/GT (before Redis 7.0), from then on', async () => {
        const store = await make(driver, { userId: (d) => (d as any).uid });
        const key = `${store.userPrefix}6`;
        await store.set('s', record({ uid: 6 }, 60_000));
        // Injected: what Redis 6 answers to PEXPIRE … GT (or, for `fault`, any other error).
        const client = store.client as { sendCommand(...args: unknown[]): Promise<unknown>; call(...args: unknown[]): Promise<unknown> };
        const method = driver === 'node-redis' ? 'sendCommand' : 'call';
        const real = client[method].bind(client);
        let fault = "ERR wrong number of arguments for 'pexpire' command";
        const sent: string[] = [];
        const spy = vi.spyOn(client, method).mockImplementation(((...args: unknown[]) => {
          const command = (driver === 'node-redis' ? args[0] : args) as string[];
          sent.push(String(command[0]).toUpperCase());
          if (String(command[0]).toUpperCase() === 'PEXPIRE' && (command.includes('GT') || command.includes('NX')) && fault) {
            return Promise.reject(new Error(fault));
          }
          return real(...args);
        }) as never);
        try {
          // Another error fails the touch, and GT is tried again next time.
          fault = 'ERR boom';
          await expect(store.touch('s', record({ uid: 6 }, 100_000))).rejects.toThrow('boom');
          fault = "ERR wrong number of arguments for 'pexpire' command";
          await store.touch('s', record({ uid: 6 }, 100_000));
          expect(await admin.pTTL(`${store.prefix}s`)).toBeGreaterThan(95_000);
          expect(await admin.pTTL(key)).toBeGreaterThan(145_000);
          sent.length = 0;
          await store.touch('s', record({ uid: 6 }, 200_000));
          expect(sent).toEqual(['EVALSHA']);
          expect(await admin.pTTL(key)).toBeGreaterThan(295_000);
          sent.length = 0;
          await store.set('t', record({ uid: 6 }, 400_000));
          expect(sent).toEqual(['EVALSHA']);
          expect(await admin.sMembers(key)).toEqual(expect.arrayContaining(['s', 't']));
          expect(await admin.pTTL(key)).toBeGreaterThan(595_000);
        } finally {
          spy.mockRestore();
        }
      });

      it("ends a user's sessions in a few commands however many there are (MGET and DEL a hundred at a time)", async () => {
        const store = await make(driver, { userId: (d) => (d as any).uid });
        const ids = Array.from({ length: 250 }, (_, i) => `m${i}`);
        await Promise.all(ids.map((id) => store.set(id, record({ uid: 'many' }))));
        await store.set('other', record({ uid: 'someone else' }));
        // One filed session that moved to another user: listed for nobody, and dropped from the set.
        await store.set('moved', record({ uid: 'many' }));
        await store.set('moved', record({ uid: 'someone else' }));
        const listing = await commandsOf(store, driver, async () => expect(await store.listUserSessions('many')).toHaveLength(250));
        expect(listing).toEqual(['SMEMBERS', 'MGET', 'MGET', 'MGET', 'SREM']);
        expect(await admin.sIsMember(`${store.userPrefix}many`, 'moved')).toBe(0);
        const ending = await commandsOf(store, driver, async () => expect(await store.destroyUserSessions('many', { except: 'm7' })).toBe(249));
        expect(ending).toEqual(['SMEMBERS', 'MGET', 'MGET', 'MGET', 'DEL', 'DEL', 'DEL', 'SREM']);
        expect(await store.ids()).toEqual(expect.arrayContaining(['m7', 'other', 'moved']));
        expect(await store.length()).toBe(3);
        expect((await store.listUserSessions('many')).map((s) => s.id)).toEqual(['m7']);
      });
    });
  }

  it('ioredis: the commands of one tick leave corked, in one socket write, and the socket is uncorked on the next tick', async () => {
    const io = await ioredis();
    const store = new RedisStore({ client: io, prefix: `${base}cork${++n}:`, userId: (d) => (d as any).uid });
    stores.push(store);
    const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
    await Promise.all(ids.map((id, i) => store.set(id, record({ uid: i % 3, i }))));
    // Corked writes reach the socket through _writev, once per uncork.
    const stream = io.stream as import('node:net').Socket & { _writev(...args: unknown[]): void };
    const writes = vi.spyOn(stream, '_writev');
    const loading = ids.map((id) => store.get(id));
    expect(stream.writableCorked).toBe(1);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(stream.writableCorked).toBe(0);
    const loaded = await Promise.all(loading);
    expect(writes).toHaveBeenCalledTimes(1);
    writes.mockRestore();
    expect(loaded.map((r) => r!.i)).toEqual(ids.map((_, i) => i));
    // Commands sent while it is not ready wait for it, and are not corked.
    await io.quit();
    await expect(store.get('c1')).rejects.toThrow();
    expect(stream.writableCorked).toBe(0);
  });

  it('rejects bad options with a clear error', async () => {
    const client = await nodeRedis();
    clients.push(client);
    expect(() => new RedisStore({} as any)).toThrow(/client option/);
    expect(() => new RedisStore({ client: {} })).toThrow(/neither a node-redis nor an ioredis/);
    expect(() => new RedisStore({ client, ttl: -1 })).toThrow(/ttl option/);
    expect(() => new RedisStore({ client, scanCount: 0 })).toThrow(/scanCount/);
    expect(() => new RedisStore({ client, commandTimeout: -5 })).toThrow(/commandTimeout/);
    expect(() => new RedisStore({ client, prefix: 'a:', userPrefix: 'a:users:' })).toThrow(/userPrefix/);
    expect(new RedisStore({ client, prefix: 'app' }).userPrefix).toBe('sessionkit-user:app:');
    const io = await ioredis();
    clients.push(io);
    const prefixed = Object.assign(Object.create(Object.getPrototypeOf(io)), io, { options: { ...io.options, keyPrefix: 'x:' } });
    expect(() => new RedisStore({ client: prefixed })).toThrow(/keyPrefix/);
  });

  it('turns a driver that throws instead of rejecting into a failed operation, in both forms', async () => {
    // Injected: a real client rejects. PTTL is the second command of getVersioned, PEXPIRE touch's only one.
    const client = await nodeRedis();
    clients.push(client);
    const store = new RedisStore({ client, prefix: `${base}throw${++n}:`, commandTimeout: 60_000 });
    stores.push(store);
    await store.set('s', record({ a: 1 }));
    const real = client.sendCommand.bind(client);
    const spy = vi.spyOn(client, 'sendCommand').mockImplementation(((args: string[], options?: object) => {
      if (args[0] === 'PTTL' || args[0] === 'PEXPIRE') throw new Error('driver bug');
      return real(args, options);
    }) as typeof client.sendCommand);
    await expect(store.getVersioned('s')).rejects.toThrow('driver bug');
    const viaCallback = await new Promise((resolve) => store.touch('s', record({ a: 1 }), resolve));
    expect(viaCallback).toMatchObject({ message: 'driver bug' });
    spy.mockRestore();
    expect(await store.getVersioned('s')).toMatchObject({ record: { a: 1 } });
  });

  it("listens for the client's errors so an unlistened error cannot crash the process", async () => {
    const { createClient } = await import('redis');
    const client = createClient({ url: 'redis://127.0.0.1:1' });
    const store = new RedisStore({ client });
    const seen: unknown[] = [];
    store.on('error', (err) => seen.push(err));
    client.emit('error', new Error('boom'));
    expect(seen).toHaveLength(1);
    store.close();
    expect(client.listenerCount('error')).toBe(0);

    const io = await ioredis();
    clients.push(io);
    const before = [io.listenerCount('error'), io.listenerCount('ready')];
    new RedisStore({ client: io }).close();
    expect([io.listenerCount('error'), io.listenerCount('ready')]).toEqual(before);
  });
});

describe('RedisStore: maxSessionsPerUser across processes', () => {
  const clients: Array<{ quit(): Promise<unknown> }> = [];
  const stores: RedisStore[] = [];
  afterAll(async () => {
    for (const s of stores) {
      await deleteByPrefix(admin, s.prefix);
      await deleteByPrefix(admin, s.userPrefix);
      s.close();
    }
    for (const c of clients) await c.quit();
  });
  const byUser = (data: SessionRecord) => (data as any).user?.id;
  const login = (user: string, ago: number) => {
    const at = Date.now() - ago;
    return record({ user: { id: user }, _sessionkit: { created: at, seen: at } });
  };
  /** Two stores on one prefix, one per driver, as two app processes would be. */
  async function pair(options: { maxSessionsPerUser: number; onLimit?: 'evict-oldest' | 'refuse' }) {
    const nr = await nodeRedis();
    const io = await ioredis();
    clients.push(nr, io);
    const prefix = `${base}lim${++n}:`;
    const both = [nr, io].map((client) => new RedisStore({ client, prefix, userId: byUser, ...options }));
    stores.push(...both);
    return both as [RedisStore, RedisStore];
  }

  it('10 concurrent logins through two stores, limit 3, evict-oldest: exactly 3 live sessions, the 3 filed', async () => {
    const [a, b] = await pair({ maxSessionsPerUser: 3 });
    const ids = Array.from({ length: 10 }, (_, i) => `p${i}`);
    await Promise.all(ids.map((id, i) => (i % 2 ? a : b).set(id, login('ann', 1000 - i))));
    const live = (await admin.mGet(ids.map((id) => a.prefix + id))).filter((text) => text !== null);
    expect(live).toHaveLength(3);
    expect(await admin.sCard(`${a.userPrefix}ann`)).toBe(3);
    expect((await b.listUserSessions('ann')).map((s) => s.id).sort()).toEqual((await a.listUserSessions('ann')).map((s) => s.id).sort());
  });

  it('10 concurrent logins through two stores, limit 3, refuse: 3 written, 7 SessionLimitErrors', async () => {
    const [a, b] = await pair({ maxSessionsPerUser: 3, onLimit: 'refuse' });
    const ids = Array.from({ length: 10 }, (_, i) => `p${i}`);
    const results = await Promise.allSettled(ids.map((id, i) => (i % 2 ? a : b).set(id, login('ann', 1000 - i))));
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code))
      .toEqual(Array(7).fill('ESESSIONLIMIT'));
    expect((await admin.mGet(ids.map((id) => a.prefix + id))).filter((text) => text !== null)).toHaveLength(3);
  });

  it('under a limit a touch renews a filed session but files none (only a write can, within the limit)', async () => {
    const [a] = await pair({ maxSessionsPerUser: 1, onLimit: 'refuse' });
    // Written without the store (by connect-redis, or a version before the index): live but not filed.
    const unfiled = login('ann', 0);
    await admin.set(`${a.prefix}old`, JSON.stringify(unfiled), { PX: 60_000 });
    await a.touch('old', unfiled);
    expect(await admin.sMembers(`${a.userPrefix}ann`)).toEqual([]);
    await a.set('new', login('ann', 0));
    const setTtl = await admin.pTTL(`${a.userPrefix}ann`);
    await a.touch('new', record({ user: { id: 'ann' } }, 3_600_000));
    expect(await admin.sMembers(`${a.userPrefix}ann`)).toEqual(['new']);
    expect(await admin.pTTL(`${a.userPrefix}ann`)).toBeGreaterThan(setTtl);
    // The unfiled session is no live session of the index's, but it is the user's: a plan counts only the set.
    await expect(a.set('third', login('ann', 0))).rejects.toMatchObject({ code: 'ESESSIONLIMIT' });
  });

  it('destroySession drops the session from its user\'s set at once', async () => {
    const [a] = await pair({ maxSessionsPerUser: 2 });
    await a.set('one', login('ann', 10));
    await a.set('two', login('ann', 5));
    await a.destroySession('one');
    expect(await admin.sMembers(`${a.userPrefix}ann`)).toEqual(['two']);
    expect(await admin.get(`${a.prefix}one`)).toBeNull();
  });
});
