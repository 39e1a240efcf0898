/**
 * MemoryStore at scale: the sweep in slices that let requests through, the expiry read from a
 * stored text without parsing it (the same answer as parsing, whatever the text), the user index
 * filed under hashed keys (users sharing a hash keep their own sessions) and ending many
 * sessions at once.
 */
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session, { MemoryStore, type SessionRecord } from '../../src/index.js';
import { userHash } from '../../src/stores/memory.js';

const minute = 60_000;
const rec = (data: Record<string, unknown> = {}, maxAge = 10 * minute): SessionRecord => ({
  cookie: { originalMaxAge: maxAge, expires: new Date(Date.now() + maxAge).toISOString(), httpOnly: true, path: '/' },
  ...data,
});

describe('MemoryStore sweep', () => {
  it('sweeps in slices: requests made during a sweep are answered before it ends', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const expired = 200_000;
    for (let i = 0; i < expired; i++) store.set(`old${i}`, rec({ i }, -1000), () => {});
    await store.set('live', rec({ n: 1 }));

    const app = express();
    app.use(session({ secret: 'sweep', resave: false, saveUninitialized: false, store }));
    app.get('/save', (req: any, res) => {
      req.session.n = 1;
      res.send('ok');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const events: string[] = [];
      const sweep = store.prune().then((removed) => {
        events.push('swept');
        return removed;
      });
      // A request issued after the sweep started, on a real server: its session is saved and
      // its response arrives while the sweep still runs.
      const during = request(server).get('/save').then((res) => {
        events.push('answered');
        return res;
      });
      const res = await during;
      expect(res.status).toBe(200);
      expect(events).toEqual(['answered']);
      expect(await sweep).toBe(expired);
      expect(events).toEqual(['answered', 'swept']);
      // What was written during the sweep is kept; every expired session is gone.
      expect(store.sessions.size).toBe(2);
      expect((await store.get('live'))!.n).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a prune() during a sweep joins it; sessions written and destroyed meanwhile count', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    for (let i = 0; i < 100_000; i++) store.set(`old${i}`, rec({}, -1000), () => {});
    await store.set('gone', rec());
    const first = store.prune();
    const second = store.prune();
    expect(second).toBe(first);
    await store.set('new', rec({}, 5 * minute));
    await store.destroy('gone');
    await store.set('new-expired', rec({}, -1000));
    const removed = await first;
    expect(removed).toBeGreaterThanOrEqual(100_000);
    expect(await store.ids()).toEqual(['new']);
    expect(await store.prune()).toBe(0);
  });
});

describe('MemoryStore expiry read from the stored text', () => {
  const soon = new Date(Date.now() + 10 * minute).toISOString();
  const past = new Date(Date.now() - minute).toISOString();
  // Each text as it might be put in `sessions` directly: the sweep must keep exactly those a read returns.
  const texts: Array<[string, string]> = [
    ['as written, live', `{"cookie":{"originalMaxAge":600000,"expires":"${soon}","path":"/"},"n":1}`],
    ['as written, expired', `{"cookie":{"originalMaxAge":600000,"expires":"${past}","path":"/"},"n":1}`],
    ['expires null', '{"cookie":{"originalMaxAge":null,"expires":null,"path":"/"},"n":1}'],
    ['no expires', '{"cookie":{"path":"/"},"n":1}'],
    ['expires not a date', '{"cookie":{"expires":"someday","path":"/"},"n":1}'],
    ['expires escaped', `{"cookie":{"expires":"\\u0032${past.slice(1)}","path":"/"},"n":1}`],
    ['a } in a string before the expires', `{"cookie":{"path":"/a}b","expires":"${past}"},"n":1}`],
    ['a } in a string after the expires', `{"cookie":{"expires":"${past}","path":"/a}b","expires2":1},"n":1}`],
    ['the expires repeated', `{"cookie":{"expires":"${soon}","expires":"${past}"},"n":1}`],
    ['a second cookie key', `{"cookie":{"expires":"${soon}"},"cookie":{"expires":"${past}"}}`],
    ['a nested object in the cookie', `{"cookie":{"x":{"expires":"${soon}"},"expires":"${past}"},"n":1}`],
    ['an expires key only in the data', `{"cookie":{"path":"/"},"token":{"expires":"${past}"}}`],
    ['the cookie not first', `{"n":1,"cookie":{"expires":"${past}"}}`],
    ['spaces', `{"cookie": {"expires": "${past}"}}`],
    ['broken', `{"cookie":{"expires":"${soon}"`],
    ['expires a number', `{"cookie":{"expires":${Date.now() - minute},"path":"/"}}`],
    ['expires 0', '{"cookie":{"expires":0,"path":"/"}}'],
    ['expires empty', '{"cookie":{"expires":"","path":"/"}}'],
    ['expires on a 31st', '{"cookie":{"expires":"2020-01-31T10:00:00.000Z","path":"/"}}'],
    ['expires on 30 February', '{"cookie":{"expires":"2999-02-30T10:00:00.000Z","path":"/"}}'],
    ['expires in year 0099', '{"cookie":{"expires":"0099-01-01T10:00:00.000Z","path":"/"}}'],
    ['expires at hour 24', '{"cookie":{"expires":"2020-01-01T24:00:00.000Z","path":"/"}}'],
    ['expires without ms', '{"cookie":{"expires":"2020-01-01T10:00:00Z","path":"/"}}'],
    ['a string with a comma before the expires', `{"cookie":{"a":"x,y","expires":"${past}"},"n":1}`],
    ['white space before a value', `{"cookie":{"a": "x,y","expires":"${past}"},"n":1}`],
    ['not an object', '"text"'],
  ];

  it('the sweep keeps exactly the texts a read hands back', async () => {
    const reader = new MemoryStore({ checkPeriod: 0 });
    const swept = new MemoryStore({ checkPeriod: 0 });
    for (const [label, text] of texts) {
      reader.sessions.set(label, text);
      swept.sessions.set(label, text);
    }
    await swept.prune();
    const read = [];
    for (const [label] of texts) if (await reader.get(label)) read.push(label);
    expect([...swept.sessions.keys()]).toEqual(read);
    expect(read).toEqual([
      'as written, live', 'expires null', 'no expires', 'expires not a date', 'an expires key only in the data',
      'expires 0', 'expires empty', 'expires on 30 February',
    ]);
  });

  it('a touch and a conditional write see the same expiry', async () => {
    for (const [label, text] of texts) {
      const store = new MemoryStore({ checkPeriod: 0 });
      store.sessions.set('s', text);
      const live = await readOnce(text);
      const write = await store.setIfVersion('s', text, rec({ written: label }));
      expect(write.written, label).toBe(live);
      const touched = new MemoryStore({ checkPeriod: 0 });
      touched.sessions.set('s', text);
      await touched.touch('s', rec({}, 5 * minute));
      expect(touched.sessions.has('s'), label).toBe(live);
    }
  });
});

async function readOnce(text: string): Promise<boolean> {
  const store = new MemoryStore({ checkPeriod: 0 });
  store.sessions.set('s', text);
  return (await store.get('s')) !== null;
}

/** Two user keys with one hash (found by search: 32 bits collide within about 100,000 keys). */
function sharedHash(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const key = `user-${i}`;
    const hash = userHash(key);
    const other = seen.get(hash);
    if (other !== undefined) return [other, key];
    seen.set(hash, key);
  }
}

describe('MemoryStore user index', () => {
  it('users whose keys share a hash each list and end only their own sessions', async () => {
    const [ann, bob] = sharedHash();
    expect(userHash(ann)).toBe(userHash(bob));
    const store = new MemoryStore({ checkPeriod: 0, userId: (data) => data.user as string });
    await store.set('a1', rec({ user: ann }));
    await store.set('a2', rec({ user: ann }));
    await store.set('b1', rec({ user: bob }));
    expect((await store.listUserSessions(ann)).map((s) => s.id).sort()).toEqual(['a1', 'a2']);
    expect((await store.listUserSessions(bob)).map((s) => s.id)).toEqual(['b1']);
    // Listing a user drops no session of the other from the index.
    expect((await store.listUserSessions(bob)).map((s) => s.id)).toEqual(['b1']);
    expect(await store.destroyUserSessions(ann, { except: 'a2' })).toBe(1);
    expect((await store.listUserSessions(bob)).map((s) => s.id)).toEqual(['b1']);
    expect(await store.destroyUserSessions(bob)).toBe(1);
    expect(await store.ids()).toEqual(['a2']);
    expect((await store.listUserSessions(ann)).map((s) => s.id)).toEqual(['a2']);
  });

  it('a session logged out, re-filed, replaced as text or touched stays right in the index', async () => {
    const store = new MemoryStore({ checkPeriod: 0, userId: (data) => data.user as string | undefined });
    await store.set('s1', rec({ user: 'ann' }));
    await store.set('s2', rec({ user: 'ann' }));
    await store.set('s3', rec({ user: 'ann' }));
    await store.touch('s1', rec({ user: 'ann' }, 30 * minute));
    await store.set('s2', rec({ user: 'bob' }));
    store.sessions.set('s3', JSON.stringify(rec({ user: 'ann' })));
    expect((await store.listUserSessions('ann')).map((s) => s.id)).toEqual(['s1']);
    expect((await store.listUserSessions('bob')).map((s) => s.id)).toEqual(['s2']);
    await store.set('s1', rec({}));
    expect(await store.listUserSessions('ann')).toEqual([]);
    const users = (store as unknown as { users: Map<unknown, unknown> }).users;
    expect([...users.values()]).toEqual(['s2']);
  });

  it("ends one user's 1,000 sessions among many, and only theirs", async () => {
    const store = new MemoryStore({ checkPeriod: 0, userId: (data) => (data.user as { id?: string } | undefined)?.id });
    for (let i = 0; i < 20_000; i++) store.set(`other${i}`, rec({ user: { id: `u${i}` } }), () => {});
    for (let i = 0; i < 1000; i++) store.set(`heavy${i}`, rec({ user: { id: 'heavy' } }), () => {});
    expect((await store.listUserSessions('heavy')).length).toBe(1000);
    expect(await store.destroyUserSessions('heavy', { except: ['heavy7'] })).toBe(999);
    expect(await store.length()).toBe(20_001);
    expect((await store.listUserSessions('heavy')).map((s) => s.id)).toEqual(['heavy7']);
    expect((await store.listUserSessions('u5')).map((s) => s.id)).toEqual(['other5']);
  });
});

describe('MemoryStore touch under max', () => {
  it('a touch with no cookie object ends the session, which stays ended', async () => {
    const store = new MemoryStore({ checkPeriod: 0, max: 10 });
    await store.set('s', rec({ n: 1 }));
    await store.touch('s', { cookie: 'not an object' } as unknown as SessionRecord);
    expect(store.sessions.has('s')).toBe(false);
    expect(await store.get('s')).toBeNull();
    expect(await store.length()).toBe(0);
  });
});
