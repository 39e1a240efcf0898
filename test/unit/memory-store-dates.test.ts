/**
 * MemoryStore writes a touched Cookie's expiry as JSON would: the ISO text it builds itself
 * must be the built-in one for every time, and a Date with methods of its own is asked.
 */
import { describe, expect, it } from 'vitest';
import { Cookie, MemoryStore, type SessionRecord } from '../../src/index.js';
import { isoText } from '../../src/stores/memory.js';

const LAST = 253402300800000; // 10000-01-01T00:00:00.000Z

describe('MemoryStore ISO dates', () => {
  it('isoText is toISOString from 1970 to 9999', () => {
    const edges = [
      0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, LAST - 1,
      Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2000, 2, 1), Date.UTC(2100, 1, 28, 12), Date.UTC(2100, 2, 1),
      Date.UTC(2024, 11, 31, 23, 59, 59, 999), Date.UTC(2025, 0, 1), Date.UTC(1999, 11, 31, 23, 59, 59, 990),
    ];
    for (const time of edges) expect(isoText(time), String(time)).toBe(new Date(time).toISOString());
    let seed = 12345;
    const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 20_000; i++) {
      const time = i % 2 ? Math.floor(random() * LAST) : Date.now() + Math.floor((random() - 0.5) * 1e11);
      expect(isoText(time)).toBe(new Date(time).toISOString());
    }
  });

  it('a touched cookie keeps the expiry JSON would write, for dates outside 1970-9999 and invalid ones too', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const saved = { cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }, n: 1 } as unknown as SessionRecord;
    for (const expires of [new Date(Date.now() + 60_000), new Date(LAST + 86_400_000), new Date(-1), new Date(Number.NaN)]) {
      await store.set('s', saved);
      const cookie = new Cookie({ httpOnly: true });
      cookie.expires = expires;
      await store.touch('s', { cookie: cookie as unknown as SessionRecord['cookie'], n: 1 });
      const got = await store.get('s');
      const json = JSON.parse(JSON.stringify(cookie)) as Record<string, unknown>;
      if (expires.getTime() > Date.now() || Number.isNaN(expires.getTime())) expect(got?.cookie).toStrictEqual(json);
      else expect(got).toBeNull();
    }
  });

  it('a Date with a toJSON or toISOString of its own is asked for its text', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const saved = { cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }, n: 1 } as unknown as SessionRecord;
    const own = new Date(Date.now() + 60_000);
    own.toJSON = () => own.toISOString().replace('Z', '+00:00');
    class Dated extends Date {
      override toISOString(): string {
        return super.toISOString().replace('.', ',');
      }
    }
    for (const expires of [own, new Dated(Date.now() + 60_000)]) {
      await store.set('s', saved);
      const cookie = new Cookie({ httpOnly: true });
      cookie.expires = expires;
      await store.touch('s', { cookie: cookie as unknown as SessionRecord['cookie'], n: 1 });
      const got = await store.get('s');
      expect(got?.cookie.expires).toBe(JSON.parse(JSON.stringify(cookie)).expires);
      expect(got?.cookie.expires).not.toBe(new Date(expires.getTime()).toISOString());
    }
  });
});
