import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster } from 'redis';
import { Cluster } from 'ioredis';
import { RedisStore } from '../../src/stores/redis/index.js';
import { record, runConformance, type ConformanceStore } from './conformance.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { redisCli } from '../helpers/redis.js';

let cluster: RedisCluster;
let n = 0;
const quitters = new Map<ConformanceStore, () => Promise<unknown> | void>();

beforeAll(async () => {
  cluster = await startRedisCluster();
});
// Registered before the suites, so the nodes stop after the suites' own cleanup.
afterAll(async () => {
  await cluster?.stop();
});

type NodeRedisCluster = ReturnType<typeof createCluster>;

async function nodeRedisCluster(): Promise<NodeRedisCluster> {
  const client = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function ioredisCluster(): Promise<Cluster> {
  const client = new Cluster(cluster.nodes, { lazyConnect: true });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Which master holds a key, by asking the node it hashes to. */
async function slotOf(key: string): Promise<number> {
  return Number((await redisCli(cluster.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', key)).trim());
}

runConformance({
  name: 'RedisStore on a Cluster (node-redis)',
  userIndex: true,
  async create(options) {
    const client = await nodeRedisCluster();
    let store: ConformanceStore;
    try {
      store = new RedisStore({ client, prefix: `sess${++n}:`, ...options }) as unknown as ConformanceStore;
    } catch (err) {
      // Options the store refuses: the client is closed here, as no dispose will.
      await Promise.resolve(client.close()).catch(() => {});
      throw err;
    }
    quitters.set(store, () => client.close());
    return store;
  },
  async dispose(store) {
    await store.clear!().catch(() => {});
    await Promise.resolve(quitters.get(store)?.()).catch(() => {});
  },
  async breakStore(store) {
    await ((store as unknown as RedisStore).client as NodeRedisCluster).close();
  },
});

runConformance({
  name: 'RedisStore on a Cluster (ioredis)',
  userIndex: true,
  async create(options) {
    const client = await ioredisCluster();
    let store: ConformanceStore;
    try {
      store = new RedisStore({ client, prefix: `sess${++n}:`, ...options }) as unknown as ConformanceStore;
    } catch (err) {
      // Options the store refuses: the client is closed here, as no dispose will.
      await Promise.resolve(client.quit()).catch(() => {});
      throw err;
    }
    quitters.set(store, () => (client.status === 'end' ? undefined : client.quit()));
    return store;
  },
  async dispose(store) {
    await store.clear!().catch(() => {});
    await Promise.resolve(quitters.get(store)?.()).catch(() => {});
  },
  async breakStore(store) {
    ((store as unknown as RedisStore).client as Cluster).disconnect();
  },
});

describe('RedisStore on a Cluster: slots', () => {
  for (const driver of ['node-redis', 'ioredis'] as const) {
    it(`${driver}: lists, counts and clears sessions spread over all three masters`, async () => {
      const client = driver === 'node-redis' ? await nodeRedisCluster() : await ioredisCluster();
      try {
        const store = new RedisStore({ client, prefix: `spread${++n}:`, scanCount: 7, userId: (d) => (d as any).uid });
        const ids = Array.from({ length: 60 }, (_, i) => `s${i}`);
        await Promise.all(ids.map((id) => store.set(id, record({ uid: 'u1' }))));
        // The keys really are on every master, so a SCAN of one node would miss some.
        const perNode = await Promise.all(cluster.nodes.map((node) => redisCli(node.port, 'DBSIZE')));
        expect(perNode.map((out) => Number(out.trim())).every((count) => count > 0)).toBe(true);
        const slots = new Set(await Promise.all(ids.slice(0, 10).map((id) => slotOf(`${store.prefix}${id}`))));
        expect(slots.size).toBeGreaterThan(1);

        expect(((await store.ids()) as string[]).sort()).toEqual([...ids].sort());
        expect(await store.length()).toBe(60);
        expect(((await store.all()) as Array<{ id: string }>).map((s) => s.id).sort()).toEqual([...ids].sort());
        // The user's set is one key in its own slot, and its sessions everywhere.
        expect((await store.listUserSessions('u1')).map((s) => s.id).sort()).toEqual([...ids].sort());
        expect(await store.destroyUserSessions('u1', { except: 's0' })).toBe(59);
        expect(await store.ids()).toEqual(['s0']);
        await store.clear();
        expect(await store.length()).toBe(0);
        store.close();
      } finally {
        await (driver === 'node-redis' ? (client as NodeRedisCluster).close() : (client as Cluster).quit());
      }
    });
  }
});
