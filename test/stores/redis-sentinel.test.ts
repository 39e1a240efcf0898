/** RedisStore behind Redis Sentinel, with both drivers, on a private master and sentinel. */
import { afterAll, beforeAll } from 'vitest';
import { createSentinel } from 'redis';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/stores/redis.js';
import { runConformance, type ConformanceStore } from './conformance.js';
import { freePort, removeDir, startRedisServer, startSentinel, type RedisServer } from '../helpers/redis.js';

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
  async create(options) {
    const client = createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: '127.0.0.1', port: sentinel.port }] });
    client.on('error', () => {});
    await client.connect();
    const store = new RedisStore({ client, prefix: `s${++n}:`, ...options }) as unknown as ConformanceStore;
    quitters.set(store, () => client.close());
    return store;
  },
  async dispose(store) {
    await store.clear!();
    await quitters.get(store)?.();
  },
});

runConformance({
  name: 'RedisStore through Sentinel (ioredis)',
  async create(options) {
    const client = new Redis({ sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'mymaster' });
    client.on('error', () => {});
    const store = new RedisStore({ client, prefix: `s${++n}:`, ...options }) as unknown as ConformanceStore;
    quitters.set(store, () => client.quit());
    return store;
  },
  async dispose(store) {
    await store.clear!();
    await quitters.get(store)?.();
  },
});
