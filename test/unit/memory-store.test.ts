/**
 * MemoryStore beyond the conformance suite: the sweep timer, `max` with least-recently-used
 * eviction, serialized copies, and both call forms of every method.
 */
import express from 'express';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import session, { MemoryStore, type SessionRecord } from '../../src/index.js';

const minute = 60_000;
const rec = (data: Record<string, unknown> = {}, maxAge = 10 * minute): SessionRecord => ({
  cookie: { originalMaxAge: maxAge, expires: new Date(Date.now() + maxAge).toISOString(), httpOnly: true, path: '/' },
  ...data,
});
const cb = <T>(fn: (done: (err?: unknown, value?: T) => void) => unknown) =>
  new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));

const stores: MemoryStore[] = [];
function fresh(options?: ConstructorParameters<typeof MemoryStore>[0]) {
  const store = new MemoryStore(options);
  stores.push(store);
  return store;
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

describe('MemoryStore', () => {
  it('sweeps expired sessions with a timer that does not keep the process alive', async () => {
    const store = fresh({ checkPeriod: 20 });
    const timer = (store as unknown as { timer: NodeJS.Timeout }).timer;
    expect(timer.hasRef()).toBe(false);
    await store.set('short', rec({}, 30));
    await store.set('long', rec());
    expect(store.sessions.size).toBe(2);
    // Swept without anyone asking for it (waiting for the sweep, however slow the machine).
    for (let i = 0; i < 200 && store.sessions.size > 1; i++) await new Promise((r) => setTimeout(r, 25));
    expect([...store.sessions.keys()]).toEqual(['long']);
    store.close();
    expect((store as unknown as { timer?: NodeJS.Timeout }).timer).toBeUndefined();
    expect(fresh({ checkPeriod: 0 }) as unknown as { timer?: unknown }).toHaveProperty('timer', undefined);
  });

  it('evicts the least recently used session beyond max', async () => {
    const store = fresh({ max: 3, checkPeriod: 0 });
    for (const id of ['a', 'b', 'c']) await store.set(id, rec({ id }));
    await store.get('a'); // a is now the most recently used
    await store.touch('b', rec({ id: 'b' })); // and then b
    await store.set('d', rec({ id: 'd' }));
    expect(((await store.ids()) as string[]).sort()).toEqual(['a', 'b', 'd']);
    await store.set('e', rec({ id: 'e' }));
    expect(((await store.ids()) as string[]).sort()).toEqual(['b', 'd', 'e']);
    expect(await store.length()).toBe(3);
  });

  it('keeps serialized copies: changing a session or a loaded record never changes the store', async () => {
    const store = fresh({ checkPeriod: 0 });
    const original = rec({ list: [1], nested: { n: 1 } });
    await store.set('copy', original);
    (original.list as number[]).push(2);
    const loaded = (await store.get('copy'))!;
    expect(loaded.list).toEqual([1]);
    (loaded.nested as { n: number }).n = 99;
    expect(((await store.get('copy'))!.nested as { n: number }).n).toBe(1);

    const app = express();
    app.use(session({ secret: 'copies', resave: false, saveUninitialized: false, store }));
    app.get('/save', (req: any, res) => {
      req.session.items = ['saved'];
      res.send('ok');
    });
    app.get('/mutate', async (req: any, res) => {
      req.session.items.push('unsaved');
      req.session.extra = true;
      const during = await store.get(req.sessionID);
      req.session.destroy(() => res.json(during));
    });
    const cookie = ((await request(app).get('/save')).headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    const during = (await request(app).get('/mutate').set('Cookie', cookie)).body;
    expect(during.items).toEqual(['saved']);
    expect(during.extra).toBeUndefined();
  });

  it('offers Promise and callback forms of every method', async () => {
    const store = fresh({ checkPeriod: 0 });
    await store.set('p', rec({ via: 'promise' }));
    await cb((done) => store.set('c', rec({ via: 'callback' }), done));
    expect((await store.get('c'))!.via).toBe('callback');
    expect((await cb<SessionRecord | null | undefined>((done) => store.get('p', done)))!.via).toBe('promise');
    await store.touch('p', rec({}, 20 * minute));
    await cb((done) => store.touch('c', rec({}, 20 * minute), done));
    expect((await store.get('p'))!.cookie.originalMaxAge).toBe(20 * minute);
    expect((await store.get('p'))!.via).toBe('promise');
    expect(Object.keys(await store.all()).sort()).toEqual(['c', 'p']);
    expect(Object.keys(await cb<Record<string, SessionRecord>>((done) => store.all(done))).sort()).toEqual(['c', 'p']);
    expect((await cb<string[]>((done) => store.ids(done))).sort()).toEqual(['c', 'p']);
    expect(await store.length()).toBe(2);
    expect(await cb<number>((done) => store.length(done))).toBe(2);
    await store.destroy('p');
    await cb((done) => store.destroy('c', done));
    expect(await store.length()).toBe(0);
    await store.set('x', rec());
    await cb((done) => store.clear(done));
    expect(await store.length()).toBe(0);
    await store.set('y', rec());
    await store.clear();
    expect(await cb<number>((done) => store.length(done))).toBe(0);
    // The helpers of express-session's Store, in both forms.
    await store.set('helper', rec({ h: 1 }));
    expect(((await store.load('helper')) as any).h).toBe(1);
    expect((await cb<any>((done) => store.load('helper', done))).h).toBe(1);
    expect(await store.load('missing')).toBeUndefined();
  });

  it('forgets the users of evicted and destroyed sessions (no unbounded index)', async () => {
    const store = fresh({ max: 2, checkPeriod: 0, userId: (data) => data.user as string });
    await store.set('s1', rec({ user: 'u1' }));
    await store.set('s2', rec({ user: 'u2' }));
    await store.set('s3', rec({ user: 'u3' }));
    await store.destroy('s2');
    const users = (store as unknown as { users: Map<unknown, unknown> }).users;
    expect([...users.values()]).toEqual(['s3']);
    expect((await store.listUserSessions('u3')).map((s) => s.id)).toEqual(['s3']);
  });
});
