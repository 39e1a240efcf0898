/**
 * The store conformance suite, written once and run by every store in this package:
 * `runConformance({ name, create })` in a `<store>.test.ts` file beside this one.
 *
 * Each `create()` must return a fresh store isolated from every other test file running at
 * the same time (its own key prefix, table or file), because test files run in parallel
 * against the same Redis, PostgreSQL and MariaDB.
 */
import { afterAll, describe, expect, it } from 'vitest';
import express from 'express';
import request from 'supertest';
import session from '../../src/index.js';
import type { SessionRecord, Store, UserIndexOptions, UserSession } from '../../src/index.js';
import { SessionLimitError } from '../../src/errors.js';
import { isUserIndexStore, META_KEY, type SessionMeta } from '../../src/stores/contract.js';

export interface ConformanceStore extends Store {
  ids?(callback?: any): any;
  getVersioned?(sid: string): Promise<unknown>;
  setIfVersion?(sid: string, version: string, record: SessionRecord): Promise<unknown>;
  listUserSessions?(userId: string | number): Promise<UserSession[]>;
  destroyUserSessions?(userId: string | number, options?: { except?: string | string[] }): Promise<number>;
  destroySession?(sid: string): Promise<void>;
  userIdOf?(record: SessionRecord): string | undefined;
  close?(): unknown;
}

export interface StoreUnderTest {
  name: string;
  /** A fresh, isolated, empty store; `userId` (and the limit's options) are passed to the store's options. */
  create(options?: UserIndexOptions): Promise<ConformanceStore>;
  /**
   * The store implements UserIndexStore with `maxSessionsPerUser` and `onLimit`: runs the cases
   * of destroySession, the listing's device fields and the limits.
   */
  userIndex?: boolean;
  /** Releases what `create` made (connections, tables); the store's own close() is also called if present. */
  dispose?(store: ConformanceStore): Promise<void>;
  /** Makes the store fail its next operations (e.g. closes its client), to check errors surface. */
  breakStore?(store: ConformanceStore): Promise<void>;
}

const minute = 60_000;

export function record(data: Record<string, unknown> = {}, maxAge = 10 * minute): SessionRecord {
  return {
    cookie: {
      originalMaxAge: maxAge,
      expires: new Date(Date.now() + maxAge).toISOString(),
      httpOnly: true,
      path: '/',
    },
    ...data,
  } as SessionRecord;
}

function cb<T>(fn: (done: (err?: unknown, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

/** A record of user `user` whose meta says it was created `created` ms ago (none: no meta). */
function login(user: string, created?: number, device: Partial<SessionMeta> = {}): SessionRecord {
  const data: Record<string, unknown> = { user: { id: user } };
  if (created !== undefined) {
    const at = Date.now() - created;
    data[META_KEY] = { created: at, seen: at, ...device } satisfies SessionMeta;
  }
  return record(data);
}

const byUser = (data: SessionRecord) => (data as any).user?.id;

/** A UserIndexStore's `indexesUsers` (not on ConformanceStore: some stores had it protected before). */
const indexes = (store: ConformanceStore) => (store as unknown as { indexesUsers: boolean }).indexesUsers;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function idsOf(all: unknown): string[] {
  if (Array.isArray(all)) return all.map((s) => (s as { id: string }).id).sort();
  return Object.keys(all as object).sort();
}

export function runConformance(sut: StoreUnderTest): void {
  const made: ConformanceStore[] = [];
  async function fresh(options?: Parameters<StoreUnderTest['create']>[0]) {
    const store = await sut.create(options);
    made.push(store);
    return store;
  }
  afterAll(async () => {
    for (const store of made) {
      await sut.dispose?.(store);
      await store.close?.();
    }
  });

  describe(`${sut.name}: store contract`, () => {
    it('round-trips nested data and unicode, in Promise and callback forms', async () => {
      const store = await fresh();
      const data = {
        user: { id: 42, name: 'Zoë 😀 ß 漢字', roles: ['admin', 'user'], nested: { deep: [1, { x: null }] } },
        text: 'line\nbreak "quotes" \\ back\u2028slash',
        flag: false,
        count: 0,
      };
      await store.set('rt-promise', record(data));
      const viaPromise = (await store.get('rt-promise')) as SessionRecord;
      expect(viaPromise).toMatchObject(data);
      expect(viaPromise.cookie.originalMaxAge).toBe(10 * minute);

      await cb((done) => store.set('rt-callback', record(data), done));
      const viaCallback = await cb<SessionRecord>((done) => store.get('rt-callback', done));
      expect(viaCallback).toMatchObject(data);
    });

    it('returns no session for an unknown id', async () => {
      const store = await fresh();
      expect(await store.get('no-such-session')).toBeFalsy();
      expect(await cb((done) => store.get('no-such-session-2', done))).toBeFalsy();
    });

    it('never returns an expired session', async () => {
      const store = await fresh();
      await store.set('expired', record({ a: 1 }, -1000));
      expect(await store.get('expired')).toBeFalsy();
      await store.set('short', record({ a: 1 }, 1100));
      expect(await store.get('short')).toBeTruthy();
      await sleep(2100);
      expect(await store.get('short')).toBeFalsy();
    });

    it('touch renews the expiry of an existing session and creates none', async () => {
      const store = await fresh();
      await store.set('touched', record({ a: 1 }, 1500));
      await cb((done) => store.touch!('touched', record({ a: 1 }, 10 * minute), done));
      await store.touch!('never-existed', record({ b: 1 }, 10 * minute));
      await sleep(2100);
      expect(await store.get('touched')).toMatchObject({ a: 1 });
      expect(await store.get('never-existed')).toBeFalsy();
    });

    it('destroys a session, in Promise and callback forms', async () => {
      const store = await fresh();
      await store.set('d1', record({ a: 1 }));
      await store.set('d2', record({ a: 2 }));
      await store.destroy('d1');
      await cb((done) => store.destroy('d2', done));
      await store.destroy('never-existed');
      expect(await store.get('d1')).toBeFalsy();
      expect(await store.get('d2')).toBeFalsy();
    });

    it('lists, counts and clears live sessions (all, ids, length, clear)', async () => {
      const store = await fresh();
      await Promise.all(['s1', 's2', 's3'].map((id, i) => store.set(id, record({ i }))));
      await store.set('gone', record({ i: 9 }, -1000));
      expect(idsOf(await store.all!())).toEqual(['s1', 's2', 's3']);
      expect(idsOf(await cb((done) => store.all!(done)))).toEqual(['s1', 's2', 's3']);
      expect(((await store.ids!()) as string[]).sort()).toEqual(['s1', 's2', 's3']);
      expect(await store.length!()).toBe(3);
      expect(await cb((done) => store.length!(done))).toBe(3);
      await store.clear!();
      expect(await store.length!()).toBe(0);
      await cb((done) => store.clear!(done));
    });

    it('handles concurrent use', async () => {
      const store = await fresh();
      const ids = Array.from({ length: 50 }, (_, i) => `c${i}`);
      await Promise.all(ids.map((id, i) => store.set(id, record({ i }))));
      const got = await Promise.all(ids.map((id) => store.get(id) as Promise<SessionRecord>));
      got.forEach((r, i) => expect(r.i).toBe(i));
      expect(await store.length!()).toBe(50);
      await Promise.all(ids.slice(0, 25).map((id) => store.destroy(id)));
      expect(await store.length!()).toBe(25);
    });

    it('keeps odd session ids and keys apart and safe', async () => {
      const store = await fresh();
      const odd = ["x'; DROP TABLE sessions; --", 'a*b?c[d]', 'ключ 😀', 'with space', '%_\\'];
      for (const [i, id] of odd.entries()) await store.set(id, record({ i }));
      for (const [i, id] of odd.entries()) expect(await store.get(id)).toMatchObject({ i });
      await store.set('proto', record({ ['__proto__']: { polluted: true }, constructor: { x: 1 } }));
      const got = (await store.get('proto')) as Record<string, unknown>;
      expect(got).toBeTruthy();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    if (sut.breakStore) {
      it('surfaces errors to callbacks and promises', async () => {
        const store = await fresh();
        await sut.breakStore!(store);
        await expect(store.get('x')).rejects.toBeTruthy();
        await expect(cb((done) => store.set('x', record(), done))).rejects.toBeTruthy();
      });
    }
  });

  describe(`${sut.name}: through the middleware`, () => {
    function app(store: ConformanceStore) {
      const a = express();
      a.use(session({ secret: 'conformance', resave: false, saveUninitialized: false, store, cookie: { maxAge: 10 * minute } }));
      a.get('/set/:key', async (req, res) => {
        await sleep(Number(req.query.delay ?? 0));
        (req.session as any)[req.params.key] = req.params.key;
        res.send('ok');
      });
      a.get('/profile', (req, res) => {
        (req.session as any).profile = { tags: ['a'], address: { city: 'Lyon' } };
        res.send('ok');
      });
      a.get('/deep', async (req, res) => {
        // Changes deep inside a nested object, with no assignment to a top-level key.
        await sleep(30);
        (req.session as any).profile.tags.push('b');
        (req.session as any).profile.address.city = 'Paris';
        res.send('ok');
      });
      a.get('/login/:user', (req, res) => {
        (req.session as any).user = { id: req.params.user };
        res.send('ok');
      });
      a.get('/slow', async (req, res) => {
        (req.session as any).slow = true;
        await sleep(300);
        res.send('slow');
      });
      a.get('/logout', (req, res, next) => {
        req.session.destroy((err) => (err ? next(err) : res.send('out')));
      });
      a.get('/data', (req, res) => {
        const { cookie: _c, ...data } = req.session as any;
        res.json({ id: req.sessionID, data });
      });
      return a;
    }

    it('keeps a session across requests and ends it on destroy', async () => {
      const store = await fresh();
      const agent = request.agent(app(store));
      await agent.get('/set/a').expect(200);
      const first = await agent.get('/data');
      expect(first.body.data).toEqual({ a: 'a' });
      expect(await store.get(first.body.id)).toMatchObject({ a: 'a' });
      await agent.get('/logout').expect('out');
      expect(await store.get(first.body.id)).toBeFalsy();
    });

    it('keeps every change of 30 overlapping requests that set different keys', async () => {
      const store = await fresh();
      const agent = request.agent(app(store));
      await agent.get('/set/start').expect(200);
      const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
      await Promise.all(keys.map((k, i) => agent.get(`/set/${k}?delay=${(i * 7) % 50}`).expect(200)));
      const { body } = await agent.get('/data');
      for (const k of keys) expect(body.data[k]).toBe(k);
      expect(Object.keys(body.data)).toHaveLength(31);
    });

    it('saves changes deep inside nested objects, alongside overlapping changes to other keys', async () => {
      const store = await fresh();
      const agent = request.agent(app(store));
      await agent.get('/profile').expect(200);
      const keys = Array.from({ length: 10 }, (_, i) => `n${i}`);
      await Promise.all([
        agent.get('/deep').expect(200),
        ...keys.map((k, i) => agent.get(`/set/${k}?delay=${i * 6}`).expect(200)),
      ]);
      const { body } = await agent.get('/data');
      expect(body.data.profile).toEqual({ tags: ['a', 'b'], address: { city: 'Paris' } });
      for (const k of keys) expect(body.data[k]).toBe(k);
      expect(await store.get(body.id)).toMatchObject({ profile: { tags: ['a', 'b'] }, n9: 'n9' });
    });

    it('does not bring a session back when a slow request ends after logout', async () => {
      const store = await fresh();
      const agent = request.agent(app(store));
      await agent.get('/login/alice').expect(200);
      const { body } = await agent.get('/data');
      // .then() sends the request now (a supertest request starts when it is awaited).
      const slow = agent.get('/slow').then((r) => r);
      await sleep(100);
      await agent.get('/logout').expect('out');
      await slow;
      await sleep(50);
      expect(await store.get(body.id)).toBeFalsy();
      const after = await agent.get('/data');
      expect(after.body.data.user).toBeUndefined();
    });

    it('lists and ends the sessions of a user (the user index)', async () => {
      const store = await fresh({ userId: (data) => (data as any).user?.id });
      const a = app(store);
      const laptop = request.agent(a);
      const phone = request.agent(a);
      const bobs = request.agent(a);
      await laptop.get('/login/alice').expect(200);
      await phone.get('/login/alice').expect(200);
      await bobs.get('/login/bob').expect(200);
      const laptopId = (await laptop.get('/data')).body.id;
      const phoneId = (await phone.get('/data')).body.id;

      const listed = await store.listUserSessions!('alice');
      expect(listed.map((s) => s.id).sort()).toEqual([laptopId, phoneId].sort());
      for (const s of listed) {
        expect(s.data.user).toEqual({ id: 'alice' });
        expect(s.expires).toBeInstanceOf(Date);
      }

      // A session whose user changes leaves the old user's list.
      await phone.get('/login/carol').expect(200);
      expect((await store.listUserSessions!('alice')).map((s) => s.id)).toEqual([laptopId]);
      expect((await store.listUserSessions!('carol')).map((s) => s.id)).toEqual([phoneId]);

      // Log out other devices: every alice session but the laptop's.
      await phone.get('/login/alice').expect(200);
      expect(await store.destroyUserSessions!('alice', { except: laptopId })).toBe(1);
      expect((await store.listUserSessions!('alice')).map((s) => s.id)).toEqual([laptopId]);
      expect((await phone.get('/data')).body.data.user).toBeUndefined();
      expect((await laptop.get('/data')).body.data.user).toEqual({ id: 'alice' });

      // A destroyed session is never listed; bob is untouched.
      await laptop.get('/logout').expect('out');
      expect(await store.listUserSessions!('alice')).toEqual([]);
      expect(await store.listUserSessions!('bob')).toHaveLength(1);
      expect(await store.destroyUserSessions!('bob')).toBe(1);
      expect(await store.listUserSessions!('bob')).toEqual([]);
    });
  });

  if (sut.userIndex) runUserIndexCases(sut, fresh);
}

function runUserIndexCases(sut: StoreUnderTest, fresh: (options?: UserIndexOptions) => Promise<ConformanceStore>): void {
  describe(`${sut.name}: user index, devices and limits`, () => {
    async function live(store: ConformanceStore, ids: string[]): Promise<string[]> {
      const got = await Promise.all(ids.map((id) => store.get(id)));
      return ids.filter((_, i) => got[i]);
    }
    const listed = async (store: ConformanceStore, user: string) => (await store.listUserSessions!(user)).map((s) => s.id).sort();

    it('rejects a bad maxSessionsPerUser or onLimit with a TypeError', async () => {
      for (const bad of [0, -1, 1.5, Infinity, NaN, '3']) {
        await expect(fresh({ userId: byUser, maxSessionsPerUser: bad as number })).rejects.toThrow(/maxSessionsPerUser/);
        await expect(fresh({ userId: byUser, maxSessionsPerUser: bad as number })).rejects.toBeInstanceOf(TypeError);
      }
      await expect(fresh({ maxSessionsPerUser: 3 })).rejects.toThrow(/userId/);
      await expect(fresh({ userId: byUser, maxSessionsPerUser: 3, onLimit: 'drop' as 'refuse' })).rejects.toThrow(/onLimit/);
      await expect(fresh({ userId: byUser, onLimit: 'refuse' })).rejects.toThrow(/onLimit/);
      const ok = await fresh({ userId: byUser, maxSessionsPerUser: 1, onLimit: 'refuse' });
      expect(indexes(ok)).toBe(true);
    });

    it('is a UserIndexStore: indexesUsers and userIdOf', async () => {
      const store = await fresh({ userId: byUser });
      expect(isUserIndexStore(store)).toBe(true);
      expect(indexes(store)).toBe(true);
      expect(store.userIdOf!(login('42'))).toBe('42');
      expect(store.userIdOf!(record({ n: 1 }))).toBeUndefined();
      const plain = await fresh();
      expect(indexes(plain)).toBe(false);
      expect(plain.userIdOf!(login('42'))).toBeUndefined();
    });

    it('lists the devices of a user from the meta, without the meta in the data', async () => {
      const store = await fresh({ userId: byUser });
      await store.set('phone', login('alice', 5000, { ua: 'Phone/1.0', ip: '203.0.113.7' }));
      await store.set('old', login('alice'));
      const sessions = await store.listUserSessions!('alice');
      const phone = sessions.find((s) => s.id === 'phone')!;
      const stored = (await store.get('phone')) as SessionRecord;
      expect(phone.createdAt).toEqual(new Date(stored[META_KEY].created));
      expect(phone.lastSeenAt).toEqual(new Date(stored[META_KEY].seen));
      expect(phone.userAgent).toBe('Phone/1.0');
      expect(phone.ip).toBe('203.0.113.7');
      expect(phone.data).toEqual({ user: { id: 'alice' }, cookie: stored.cookie });
      expect(META_KEY in phone.data).toBe(false);
      const old = sessions.find((s) => s.id === 'old')!;
      expect(old.createdAt).toBeNull();
      expect(old.lastSeenAt).toBeNull();
      expect('userAgent' in old || 'ip' in old).toBe(false);
    });

    it('destroySession ends one device and drops it from its user', async () => {
      const store = await fresh({ userId: byUser, maxSessionsPerUser: 2, onLimit: 'refuse' });
      await store.set('laptop', login('alice', 2000));
      await store.set('phone', login('alice', 1000));
      await store.destroySession!('phone');
      await store.destroySession!('never-existed');
      expect(await store.get('phone')).toBeFalsy();
      expect(await listed(store, 'alice')).toEqual(['laptop']);
      // Its place is free again.
      await store.set('tablet', login('alice', 0));
      expect(await listed(store, 'alice')).toEqual(['laptop', 'tablet']);
    });

    it('10 concurrent logins of one user with a limit of 3 (evict-oldest) leave exactly 3', async () => {
      const store = await fresh({ userId: byUser, maxSessionsPerUser: 3 });
      const ids = Array.from({ length: 10 }, (_, i) => `e${i}`);
      await Promise.all(ids.map((id, i) => store.set(id, login('alice', 10_000 - i))));
      expect(await live(store, ids)).toHaveLength(3);
      expect((await listed(store, 'alice')).sort()).toEqual((await live(store, ids)).sort());
      // Logins by conditional writes of anonymous sessions, all at once.
      const anon = Array.from({ length: 10 }, (_, i) => `a${i}`);
      await Promise.all(anon.map((id) => store.set(id, record({ n: 1 }))));
      const versions = await Promise.all(anon.map(async (id) => ((await store.getVersioned!(id)) as { version: string }).version));
      const results = await Promise.all(anon.map((id, i) => store.setIfVersion!(id, versions[i]!, login('bob', 100 - i))));
      expect(results.every((r) => (r as { written: boolean }).written)).toBe(true);
      expect(await live(store, anon)).toHaveLength(3);
      expect(await listed(store, 'bob')).toHaveLength(3);
      expect(await listed(store, 'alice')).toHaveLength(3);
    });

    it('10 concurrent logins of one user with a limit of 3 (refuse): 3 are written, 7 fail with SessionLimitError', async () => {
      const store = await fresh({ userId: byUser, maxSessionsPerUser: 3, onLimit: 'refuse' });
      const ids = Array.from({ length: 10 }, (_, i) => `r${i}`);
      const results = await Promise.allSettled(ids.map((id, i) => store.set(id, login('alice', 10_000 - i))));
      const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
      expect(refused).toHaveLength(7);
      for (const err of refused) {
        expect(err).toBeInstanceOf(SessionLimitError);
        expect(err).toMatchObject({ code: 'ESESSIONLIMIT', status: 409, userId: 'alice', limit: 3 });
      }
      const written = ids.filter((_, i) => results[i]!.status === 'fulfilled');
      expect((await live(store, ids)).sort()).toEqual(written.sort());
      expect(await listed(store, 'alice')).toEqual(written.sort());
      // In the callback form too; and a refused conditional write leaves the session as it was.
      await expect(cb((done) => store.set('r-late', login('alice', 0), done))).rejects.toBeInstanceOf(SessionLimitError);
      expect(await store.get('r-late')).toBeFalsy();
      await store.set('anon', record({ n: 1 }));
      const { version } = (await store.getVersioned!('anon')) as { version: string };
      await expect(store.setIfVersion!('anon', version, login('alice', 0))).rejects.toBeInstanceOf(SessionLimitError);
      expect(await store.get('anon')).toMatchObject({ n: 1 });
      expect(((await store.get('anon')) as SessionRecord).user).toBeUndefined();
    });

    it('10 concurrent logins by conditional writes with a limit of 3 (refuse): the 7 refused stay as they were', async () => {
      const store = await fresh({ userId: byUser, maxSessionsPerUser: 3, onLimit: 'refuse' });
      const anon = Array.from({ length: 10 }, (_, i) => `q${i}`);
      await Promise.all(anon.map((id, i) => store.set(id, record({ n: i }))));
      const versions = await Promise.all(anon.map(async (id) => ((await store.getVersioned!(id)) as { version: string }).version));
      const results = await Promise.allSettled(anon.map((id, i) => store.setIfVersion!(id, versions[i]!, { ...login('alice', 0), n: i })));
      const written = anon.filter((_, i) => results[i]!.status === 'fulfilled');
      expect(written).toHaveLength(3);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SessionLimitError);
        else expect(r.value).toMatchObject({ written: true });
      }
      expect(await listed(store, 'alice')).toEqual(written.sort());
      for (const [i, id] of anon.entries()) {
        const now = (await store.get(id)) as SessionRecord;
        expect(now).toMatchObject({ n: i });
        expect(now.user?.id).toBe(written.includes(id) ? 'alice' : undefined);
      }
    });

    it('evicts the oldest by meta.created (a record without meta first); re-saves and touches never count', async () => {
      const store = await fresh({ userId: byUser, maxSessionsPerUser: 3 });
      await store.set('legacy', login('alice'));
      await store.set('a', login('alice', 3000));
      await store.set('b', login('alice', 1000));
      // Re-saves of filed sessions, by both writes, and touches: nothing is evicted.
      await store.set('a', { ...login('alice', 3000), changed: 1 });
      const { version } = (await store.getVersioned!('b')) as { version: string };
      expect(await store.setIfVersion!('b', version, { ...login('alice', 1000), changed: 2 })).toMatchObject({ written: true });
      await store.touch!('legacy', login('alice'));
      expect(await listed(store, 'alice')).toEqual(['a', 'b', 'legacy']);
      await store.set('c', login('alice', 0));
      expect(await listed(store, 'alice')).toEqual(['a', 'b', 'c']);
      expect(await store.get('legacy')).toBeFalsy();
      await store.set('d', login('alice', 2000));
      expect(await listed(store, 'alice')).toEqual(['b', 'c', 'd']);
      await store.set('e', login('alice', 0));
      expect(await listed(store, 'alice')).toEqual(['b', 'c', 'e']);
      expect(await store.get('d')).toBeFalsy();
      // Another user is untouched.
      await store.set('bob1', login('bob', 0));
      expect(await listed(store, 'alice')).toEqual(['b', 'c', 'e']);
    });

    it('stale entries (destroyed, expired, another user now) never count toward the limit', async () => {
      const store = await fresh({ userId: byUser, maxSessionsPerUser: 2, onLimit: 'refuse' });
      await store.set('kept', login('alice', 5000));
      await store.set('destroyed', login('alice', 4000));
      await store.destroy('destroyed');
      await expect(store.set('x1', login('alice', 0))).resolves.toBeUndefined();
      await store.set('x1', login('carol', 0)); // now another user's
      await store.set('short', { ...login('alice', 3000), cookie: record({}, 1100).cookie });
      await expect(store.set('x2', login('alice', 0))).rejects.toBeInstanceOf(SessionLimitError);
      await sleep(1300);
      await store.set('x2', login('alice', 0));
      expect(await listed(store, 'alice')).toEqual(['kept', 'x2']);
      await expect(store.set('x3', login('alice', 0))).rejects.toBeInstanceOf(SessionLimitError);
      expect(await listed(store, 'carol')).toEqual(['x1']);
    });

    it('through the middleware: 10 concurrent logins with a limit of 3 leave 3 logged-in devices', async () => {
      const store = await fresh({ userId: byUser, maxSessionsPerUser: 3 });
      const a = express();
      a.use(session({ secret: 'conformance', resave: false, saveUninitialized: false, store, cookie: { maxAge: 10 * minute } }));
      a.get('/login/:user', (req, res) => {
        (req.session as any).user = { id: req.params.user };
        res.send('ok');
      });
      a.get('/me', (req, res) => res.json({ user: (req.session as any).user?.id ?? null }));
      const agents = Array.from({ length: 10 }, () => request.agent(a));
      await Promise.all(agents.map((agent) => agent.get('/login/alice').expect(200)));
      expect(await store.listUserSessions!('alice')).toHaveLength(3);
      const users = await Promise.all(agents.map(async (agent) => (await agent.get('/me')).body.user));
      expect(users.filter((u) => u === 'alice')).toHaveLength(3);
      expect(users.filter((u) => u === null)).toHaveLength(7);
    });
  });
}
