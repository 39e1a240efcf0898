/**
 * The Set-Cookie text of a session cookie is made from parts kept per cookie (the text before
 * and after its expiry): it must be exactly what the cookie package writes for the cookie's
 * attributes, and fail as it fails, on the first use and on every later one.
 */
import { serialize } from 'cookie';
import { describe, expect, it } from 'vitest';
import { Cookie } from '../../src/core/cookie.js';

function expected(cookie: Cookie, name: string, value: string): { text?: string; error?: string } {
  try {
    return { text: serialize(name, value, cookie.data as Parameters<typeof serialize>[2]) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function actual(cookie: Cookie, name: string, value: string): { text?: string; error?: string } {
  try {
    return { text: cookie.serialize(name, value) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('Cookie.serialize', () => {
  it('writes what the cookie package writes, for every mix of attributes, twice over', () => {
    const values = ['s:abc.def', 's:a/b+c=.sig', 'plain', 'é'];
    const names = ['connect.sid', 'sid', 'bad name'];
    const domains = [undefined, 'example.com', '.example.com', 'bad domain'];
    const paths = ['/', '/app', undefined, 'bad;path'];
    const sameSites = [undefined, true, false, 'lax', 'Strict', 'none', 'sideways'];
    const priorities = [undefined, 'low', 'HIGH', 'urgent'];
    const expiries = [undefined, null, new Date(Date.UTC(2030, 0, 2, 3, 4, 5)), new Date(NaN)];
    // A fixed sample of every mix of the attributes above.
    let seed = 20261201;
    const pick = <T>(list: T[]): T => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return list[(seed >>> 16) % list.length]!;
    };
    let checked = 0;
    for (let i = 0; i < 4000; i++) {
      const name = pick(names);
      const value = pick(values);
      const flags = pick([0, 1, 2, 3, 4, 7]);
      const cookie = new Cookie({ domain: pick(domains), path: pick(paths), sameSite: pick(sameSites), priority: pick(priorities) } as never);
      cookie.httpOnly = (flags & 1) !== 0;
      cookie.secure = (flags & 2) !== 0 ? true : flags === 4 ? 'auto' : false;
      cookie.partitioned = (flags & 4) !== 0;
      if (cookie.path === undefined) delete (cookie as { path?: string }).path;
      cookie.expires = pick(expiries);
      const want = expected(cookie, name, value);
      // Twice: the first call makes the kept parts, the second uses them.
      const first = actual(cookie, name, value);
      const second = actual(cookie, name, value);
      if (first.text !== want.text || first.error !== want.error || second.text !== want.text || second.error !== want.error) {
        expect({ cookie: cookie.data, name, value, first, second }).toEqual({ cookie: cookie.data, name, value, first: want, second: want });
      }
      checked++;
    }
    expect(checked).toBe(4000);
  });

  it('writes a new expiry each time from the same kept parts', () => {
    const cookie = new Cookie({ maxAge: 60_000, httpOnly: true, sameSite: 'lax' });
    cookie.expires = new Date(Date.UTC(2031, 5, 6));
    const first = cookie.serialize('connect.sid', 's:x.y');
    cookie.expires = new Date(Date.UTC(2032, 5, 6));
    const second = cookie.serialize('connect.sid', 's:x.y');
    expect(first).toBe('connect.sid=s%3Ax.y; Path=/; Expires=Fri, 06 Jun 2031 00:00:00 GMT; HttpOnly; SameSite=Lax');
    expect(second).toBe('connect.sid=s%3Ax.y; Path=/; Expires=Sun, 06 Jun 2032 00:00:00 GMT; HttpOnly; SameSite=Lax');
  });

  it('falls back to the cookie package for attributes that are not strings or booleans', () => {
    const cookie = new Cookie({ path: '/' });
    (cookie as { domain: unknown }).domain = 42;
    expect(actual(cookie, 'sid', 'v')).toEqual(expected(cookie, 'sid', 'v'));
  });
});
