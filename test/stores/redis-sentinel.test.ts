/** RedisStore behind Redis Sentinel, with both drivers, on a private master and sentinel. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSentinel } from 'redis';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/stores/redis/index.js';
import { record, runConformance, type ConformanceStore } from './conformance.js';
import { freePort, redisCli, removeDir, startRedisServer, startSentinel, type RedisServer } from '../helpers/redis.js';

let master: RedisServer;
let sentinel: RedisServer;
let n = 0;
const quitters = new Map<ConformanceStore, () => unknown>();

beforeAll(async () => {
  master = await startRedisServer(await freePort());
  sentinel = await startSentinel(await freePort(), master.port);
});
// Registered before the suites, so the servers stop after the suites' own cleanup.
afterAll(async () => {
  await sentinel?.kill();
  await master?.kill();
  for (const s of [sentinel, master]) if (s) removeDir(s.dir);
});

runConformance({
  name: 'RedisStore through Sentinel (node-redis)',
  userIndex: true,
  async create(options) {
    const client = createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: '127.0.0.1', port: sentinel.port }] });
    client.on('error', () => {});
    await client.connect();
    let store: ConformanceStore;
    try {
      store = new RedisStore({ client, prefix: `s${++n}:`, ...options }) as unknown as ConformanceStore;
    } catch (err) {
      // Options the store refuses: the client is closed here, as no dispose will.
      await Promise.resolve(client.close()).catch(() => {});
      throw err;
    }
    quitters.set(store, () => client.close());
    return store;
  },
  async dispose(store) {
    await store.clear!();
    await quitters.get(store)?.();
  },
});

// ioredis through Sentinel is an ordinary ioredis client, which redis.test.ts runs through the
// whole suite; here, that it finds the master.
describe('RedisStore through Sentinel (ioredis)', () => {
  it('reads and writes on the master the sentinel names', async () => {
    const client = new Redis({ sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'mymaster' });
    client.on('error', () => {});
    try {
      const store = new RedisStore({ client, prefix: `s${++n}:` });
      await store.set('a', record({ x: 1 }));
      const loaded = (await store.getVersioned('a'))!;
      expect((await store.setIfVersion('a', loaded.version, record({ x: 2 }))).written).toBe(true);
      expect(await redisCli(master.port, 'GET', `s${n}:a`)).toContain('"x":2');
      expect(await store.ids()).toEqual(['a']);
      await store.clear();
      store.close();
    } finally {
      await client.quit();
    }
  });
});
