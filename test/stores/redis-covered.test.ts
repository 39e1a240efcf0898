import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/stores/redis/index.js';
import { record } from './conformance.js';
import { commandsOf, deleteByPrefix, ioredis, nodeRedis, uniquePrefix, type NodeRedisClient } from '../helpers/redis.js';

// The user's set must outlive each of its sessions whatever touches and saves skip its PEXPIRE:
// through a restart (a new store), another process (another store on the same keys), and a set
// emptied and made anew meanwhile.

const base = uniquePrefix('redis-covered');
let admin: NodeRedisClient;
let n = 0;
const clients: Array<{ quit(): Promise<unknown> }> = [];
const stores: RedisStore[] = [];
const uid = (d: unknown) => (d as { uid?: string }).uid;

beforeAll(async () => {
  admin = await nodeRedis();
});
afterAll(async () => {
  for (const store of stores) store.close();
  for (const client of clients) await client.quit().catch(() => {});
  await deleteByPrefix(admin, base);
  await admin.quit();
});

for (const driver of ['node-redis', 'ioredis'] as const) {
  describe(`RedisStore user set expiry (${driver})`, () => {
    /** Stores on one prefix, each with a client of its own, as processes of one app. */
    async function processes(count: number, options: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}): Promise<RedisStore[]> {
      const prefix = `${base}${++n}:`;
      const out: RedisStore[] = [];
      for (let i = 0; i < count; i++) {
        const client = driver === 'node-redis' ? await nodeRedis() : await ioredis();
        clients.push(client);
        const store = new RedisStore({ client, prefix, userId: uid, ...options });
        stores.push(store);
        out.push(store);
      }
      return out;
    }


    /** The set's expiry is at least the session's (both in ms left; -1 is none, so forever). */
    async function expectOutlives(store: RedisStore, sid: string, user: string) {
      const session = await admin.pTTL(store.prefix + sid);
      const set = await admin.pTTL(store.userPrefix + user);
      expect(session).toBeGreaterThan(0);
      expect(await admin.sIsMember(store.userPrefix + user, sid)).toBe(1);
      if (set !== -1) expect(set).toBeGreaterThanOrEqual(session);
    }

    it('touches and re-saves a filed session in fewer commands once the set is known to outlive it, and the set still does', async () => {
      const [a] = await processes(1);
      await a.set('s', record({ uid: 'u' }, 60_000));
      expect(await commandsOf(a, driver, () => a.touch('s', record({ uid: 'u' }, 60_000)))).toEqual(['PEXPIRE']);
      expect(await commandsOf(a, driver, () => a.set('s', record({ uid: 'u', n: 2 }, 60_000)))).toEqual(['SET', 'SADD']);
      await expectOutlives(a, 's', 'u');
      // Past the set's expiry: both PEXPIREs again.
      expect(await commandsOf(a, driver, () => a.touch('s', record({ uid: 'u' }, 120_000)))).toEqual(['PEXPIRE', 'PEXPIRE']);
      await expectOutlives(a, 's', 'u');
      expect(await admin.pTTL(a.userPrefix + 'u')).toBeGreaterThan(175_000);
    });

    it('a new store (a restart) and another store send the set its PEXPIRE before they skip it', async () => {
      const [a, b] = await processes(2);
      await a.set('s', record({ uid: 'u' }, 60_000));
      expect(await commandsOf(b, driver, () => b.touch('s', record({ uid: 'u' }, 100_000)))).toEqual(['PEXPIRE', 'PEXPIRE']);
      await expectOutlives(a, 's', 'u');
      // a's memory is of a shorter set expiry than the session's now: a touch within it is one
      // command, and what b did leaves the set outliving the session.
      expect(await commandsOf(a, driver, () => a.touch('s', record({ uid: 'u' }, 60_000)))).toEqual(['PEXPIRE']);
      await expectOutlives(a, 's', 'u');
      expect(await commandsOf(a, driver, () => a.touch('s', record({ uid: 'u' }, 100_000)))).toEqual(['PEXPIRE', 'PEXPIRE']);
      await expectOutlives(a, 's', 'u');
    });

    it('a set emptied and made anew by another store still outlives the session the first store touches', async () => {
      const [a, b] = await processes(2);
      await a.set('s', record({ uid: 'u' }, 60_000));
      // b: the session moves to another user, a listing drops it (the set is gone), and it comes back.
      await b.set('s', record({ uid: 'other' }, 60_000));
      expect(await b.listUserSessions('u')).toEqual([]);
      expect(await admin.exists(a.userPrefix + 'u')).toBe(0);
      await b.set('s', record({ uid: 'u' }, 60_000));
      // a still remembers the old set: within its memory it skips the set, which outlives the session.
      expect(await commandsOf(a, driver, () => a.touch('s', record({ uid: 'u' }, 60_000)))).toEqual(['PEXPIRE']);
      await expectOutlives(a, 's', 'u');
      // A touch to a life up to 1.2 times the saved one is still covered by the new set's headroom.
      await a.touch('s', record({ uid: 'u' }, 72_000));
      await expectOutlives(a, 's', 'u');
      // A re-save that finds the session gone from the set files it and gives the set its expiry.
      await admin.del(a.userPrefix + 'u');
      expect(await commandsOf(a, driver, () => a.set('s', record({ uid: 'u' }, 60_000)))).toEqual(['SET', 'SADD', 'PEXPIRE', 'PEXPIRE']);
      await expectOutlives(a, 's', 'u');
      expect(await admin.pTTL(a.userPrefix + 'u')).toBeGreaterThan(85_000);
    });

    it('forgets a set it removed sessions from, and never skips with a ttl function', async () => {
      const [a] = await processes(1);
      await a.set('s', record({ uid: 'u' }, 60_000));
      await a.set('t', record({ uid: 'u' }, 60_000));
      await a.destroySession('t');
      expect(await commandsOf(a, driver, () => a.touch('s', record({ uid: 'u' }, 60_000)))).toEqual(['PEXPIRE', 'PEXPIRE']);
      expect(await a.destroyUserSessions('u')).toBe(1);
      expect(await admin.exists(a.userPrefix + 'u')).toBe(0);
      expect(await commandsOf(a, driver, () => a.set('s', record({ uid: 'u' }, 60_000)))).toEqual(['SET', 'SADD', 'PEXPIRE', 'PEXPIRE']);
      await expectOutlives(a, 's', 'u');
      const [fn] = await processes(1, { ttl: () => 60 });
      await fn.set('f', record({ uid: 'v' }));
      expect(await commandsOf(fn, driver, () => fn.touch('f', record({ uid: 'v' })))).toEqual(['PEXPIRE', 'PEXPIRE']);
      // A re-save of a filed session: the set has its expiry (NX only follows a SADD that added one).
      expect(await commandsOf(fn, driver, () => fn.set('f', record({ uid: 'v' })))).toEqual(['SET', 'SADD', 'PEXPIRE']);
      await expectOutlives(fn, 'f', 'v');
    });

    it('ends a user\'s sessions and drops them and the stale entries from the set in the round trip of the DELs', async () => {
      const [a] = await processes(1);
      const ids = Array.from({ length: 150 }, (_, i) => `m${i}`);
      await Promise.all(ids.map((id) => a.set(id, record({ uid: 'many' }))));
      await a.set('moved', record({ uid: 'many' }));
      await a.set('moved', record({ uid: 'else' }));
      const ending = await commandsOf(a, driver, async () => expect(await a.destroyUserSessions('many', { except: 'm3' })).toBe(149));
      expect(ending).toEqual(['SMEMBERS', 'MGET', 'MGET', 'DEL', 'DEL', 'SREM']);
      expect(await admin.sMembers(a.userPrefix + 'many')).toEqual(['m3']);
      expect((await a.ids()).sort()).toEqual(['m3', 'moved']);
    });
  });
}
