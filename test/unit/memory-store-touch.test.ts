/**
 * MemoryStore keeps a touch beside the saved text (no record is rewritten): what `get`,
 * `getVersioned`, `all` and `setIfVersion` then see.
 */
import { describe, expect, it } from 'vitest';
import { Cookie, MemoryStore, type SessionRecord } from '../../src/index.js';

const minute = 60_000;
const rec = (data: Record<string, unknown> = {}, maxAge = 10 * minute): SessionRecord => ({
  cookie: { originalMaxAge: maxAge, expires: new Date(Date.now() + maxAge).toISOString(), httpOnly: true, path: '/' },
  ...data,
});

describe('MemoryStore touch', () => {
  it('hands back the touched cookie in get, getVersioned and all, in the key order saved', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    await store.set('s', { user: 'ann', ...rec() });
    const touched = rec({ user: 'ann' }, 60 * minute);
    touched.cookie.secure = true;
    await store.touch('s', touched);
    const got = (await store.get('s'))!;
    expect(got.cookie).toEqual(touched.cookie);
    expect(Object.keys(got)).toEqual(['user', 'cookie']);
    expect((await store.getVersioned('s'))!.record.cookie).toEqual(touched.cookie);
    const all = (await store.all()) as Record<string, SessionRecord>;
    expect(all.s!.cookie).toEqual(touched.cookie);
  });

  it('a touched Cookie is handed back as JSON would give it back', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    await store.set('s', rec({ n: 1 }));
    const cookie = new Cookie({ maxAge: 60 * minute, sameSite: 'lax', domain: 'example.com' });
    await store.touch('s', { cookie: cookie as unknown as SessionRecord['cookie'], n: 1 });
    const got = (await store.get('s'))!;
    expect(got.cookie).toStrictEqual(JSON.parse(JSON.stringify(cookie)));
    expect(typeof got.cookie.expires).toBe('string');
    expect(Object.keys(got.cookie)).toEqual(Object.keys(JSON.parse(JSON.stringify(cookie))));
    // A cookie that is not an object leaves no session, as it would once stored and read back.
    await store.touch('s', { cookie: 'none' as never, n: 1 });
    expect(await store.get('s')).toBeNull();
  });

  it('keeps a copy of the touched cookie, and each record handed back is a copy', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    await store.set('s', rec({ n: 1 }));
    const touched = rec({ n: 1 }, 60 * minute);
    const expires = touched.cookie.expires;
    await store.touch('s', touched);
    touched.cookie.expires = 'changed';
    const first = (await store.get('s'))!;
    expect(first.cookie.expires).toBe(expires);
    first.cookie.path = '/elsewhere';
    expect((await store.get('s'))!.cookie.path).toBe('/');
  });

  it('a touch keeps the version: a conditional write made with the version loaded before it succeeds', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    await store.set('s', rec({ n: 1 }));
    const before = (await store.getVersioned('s'))!;
    await store.touch('s', rec({ n: 1 }, 60 * minute));
    expect((await store.getVersioned('s'))!.version).toBe(before.version);
    const written = await store.setIfVersion('s', before.version, rec({ n: 2 }, 5 * minute));
    expect(written.written).toBe(true);
    // The write's own cookie replaces the touched one.
    expect((await store.get('s'))!).toMatchObject({ n: 2, cookie: { originalMaxAge: 5 * minute } });
  });

  it('a conflict hands back the current record with its touched cookie', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    await store.set('s', rec({ n: 1 }));
    const stale = (await store.getVersioned('s'))!.version;
    await store.set('s', rec({ n: 2 }));
    await store.touch('s', rec({ n: 2 }, 60 * minute));
    const result = await store.setIfVersion('s', stale, rec({ n: 3 }));
    expect(result.written).toBe(false);
    const current = (result as { current: { record: SessionRecord } }).current.record;
    expect(current).toMatchObject({ n: 2, cookie: { originalMaxAge: 60 * minute } });
  });

  it('the touched expiry decides when the session is gone; a touch never revives an expired one', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    await store.set('s', rec({ n: 1 }));
    await store.touch('s', rec({ n: 1 }, -1000));
    expect(await store.get('s')).toBeNull();
    expect(store.sessions.has('s')).toBe(false);

    await store.set('old', rec({ n: 1 }, -1000));
    await store.touch('old', rec({ n: 1 }));
    expect(await store.get('old')).toBeNull();
    const result = await store.setIfVersion('old', JSON.stringify(rec({ n: 1 }, -1000)), rec({ n: 2 }));
    expect(result).toEqual({ written: false, current: null });
  });

  it('a text put in sessions directly is read, touched and swept by its own expiry', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    store.sessions.set('live', JSON.stringify(rec({ n: 1 })));
    store.sessions.set('dead', JSON.stringify(rec({ n: 1 }, -1000)));
    store.sessions.set('broken', '{"cookie":');
    expect(await store.prune()).toBe(2);
    expect([...store.sessions.keys()]).toEqual(['live']);
    await store.touch('live', rec({ n: 1 }, -1000));
    expect(await store.get('live')).toBeNull();

    // Replacing the text of a touched session directly: the new text and its expiry count.
    await store.set('replaced', rec({ n: 1 }));
    await store.touch('replaced', rec({ n: 1 }, 60 * minute));
    store.sessions.set('replaced', JSON.stringify(rec({ n: 2 }, -1000)));
    expect(await store.get('replaced')).toBeNull();
  });
});
