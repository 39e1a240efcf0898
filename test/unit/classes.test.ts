/**
 * The exported classes used directly behave like express-session's: the same operations on
 * each library's Cookie, Session, Store and MemoryStore give the same observations.
 */
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import sessionkit from '../../src/index.js';
import { NOW } from './harness.js';

const require = createRequire(import.meta.url);
const expressSession = require('express-session');
const libs = { 'express-session': expressSession, sessionkit } as Record<string, any>;

afterEach(() => vi.useRealTimers());

/** Runs `probe` with each library under the same frozen clock and compares what it returns. */
function same(name: string, probe: (lib: any) => unknown) {
  it(name, () => {
    const out: Record<string, unknown> = {};
    for (const [libName, lib] of Object.entries(libs)) {
      vi.useFakeTimers({ toFake: ['Date'], now: NOW });
      out[libName] = observe(() => probe(lib));
      vi.useRealTimers();
    }
    expect(out.sessionkit).toEqual(out['express-session']);
  });
}

function observe(fn: () => unknown): unknown {
  try {
    return JSON.parse(JSON.stringify({ value: fn() ?? null }));
  } catch (err) {
    return { threw: (err as Error).constructor.name, message: (err as Error).message };
  }
}

function describeCookie(c: any) {
  const ownKeys = Object.keys(c);
  return { ownKeys, json: c.toJSON(), data: c.data, maxAge: c.maxAge, originalMaxAge: c.originalMaxAge, expires: c.expires ?? null };
}

describe('Cookie', () => {
  same('defaults', (lib) => describeCookie(new lib.Cookie()));
  for (const options of [
    { maxAge: 60_000 },
    { maxAge: 0 },
    { maxAge: null },
    { expires: new Date(NOW + 5000) },
    { expires: new Date(NOW + 5000), maxAge: 1000 },
    { originalMaxAge: 1234, expires: new Date(NOW + 5000) },
    { path: '/app', domain: 'example.com', httpOnly: false, secure: true, sameSite: 'strict', priority: 'high', partitioned: true },
    { data: { ignored: true }, custom: 'kept' },
  ]) {
    same(`new Cookie(${JSON.stringify(options)})`, (lib) => describeCookie(new lib.Cookie(options)));
  }
  same('maxAge counts down and originalMaxAge stays', (lib) => {
    const c = new lib.Cookie({ maxAge: 10_000 });
    vi.setSystemTime(NOW + 4000);
    return describeCookie(c);
  });
  same('setting maxAge, expires and resetting', (lib) => {
    const c = new lib.Cookie({ maxAge: 10_000 });
    const steps = [];
    c.maxAge = 5000;
    steps.push(describeCookie(c));
    c.expires = new Date(NOW + 20_000);
    steps.push(describeCookie(c));
    c.expires = null;
    steps.push(describeCookie(c));
    c.maxAge = null;
    steps.push(describeCookie(c));
    c.maxAge = new Date(NOW + 7000);
    steps.push(describeCookie(c));
    return steps;
  });
  same('serialize', (lib) => [
    new lib.Cookie().serialize('sid', 'value'),
    new lib.Cookie({ maxAge: 1000, sameSite: true, priority: 'low', partitioned: true, secure: true }).serialize('sid', 's:a.b'),
    new lib.Cookie({ expires: new Date(NOW + 1000), domain: 'x.test', httpOnly: false, sameSite: 'none' }).serialize('sid', 'v v'),
  ]);
  same('a non-object option throws', (lib) => new lib.Cookie('secure'));
  same('a bad maxAge throws', (lib) => {
    const c = new lib.Cookie();
    c.maxAge = '1d';
  });
});

describe('Session', () => {
  const req = (lib: any) => ({ sessionID: 'the-id', sessionStore: new lib.MemoryStore() });
  same('data keys are enumerable, id and req are not', (lib) => {
    const r = req(lib);
    const s = new lib.Session(r, { a: 1, nested: { b: [2] }, id: 'forged', touch: 'shadow', req: 'x' });
    s.cookie = new lib.Cookie({ maxAge: 1000 });
    const forIn: string[] = [];
    for (const key in s) forIn.push(key);
    return { keys: Object.keys(s), forIn, id: s.id, reqIsReq: s.req === r, json: s, touchIsMethod: typeof s.touch };
  });
  same('touch and resetMaxAge restore maxAge and chain', (lib) => {
    const s = new lib.Session(req(lib));
    s.cookie = new lib.Cookie({ maxAge: 10_000 });
    vi.setSystemTime(NOW + 3000);
    const before = s.cookie.maxAge;
    const chained = s.touch() === s && s.resetMaxAge() === s;
    return { before, after: s.cookie.maxAge, chained };
  });
});

describe('Store and MemoryStore', () => {
  it('Store is an EventEmitter that can be subclassed both ways', () => {
    for (const lib of Object.values(libs)) {
      const store = new lib.Store();
      expect(typeof store.on).toBe('function');
      expect(typeof store.regenerate).toBe('function');
      expect(typeof store.load).toBe('function');
      expect(typeof store.createSession).toBe('function');
    }
  });

  it('MemoryStore answers the same in callback form', async () => {
    const results: Record<string, unknown[]> = {};
    for (const [name, lib] of Object.entries(libs)) {
      vi.useFakeTimers({ toFake: ['Date'], now: NOW });
      const store = new lib.MemoryStore();
      const seen: unknown[] = [];
      const call = (method: string, ...args: unknown[]) =>
        new Promise((resolve) => store[method](...args, (err: unknown, value: unknown) => resolve([err ?? null, value ?? null])));
      const record = (maxAge: number, data: object) => ({ cookie: { originalMaxAge: maxAge, expires: new Date(Date.now() + maxAge), path: '/', httpOnly: true }, ...data });
      seen.push(await call('set', 'a', record(60_000, { n: 1 })));
      seen.push(await call('set', 'expired', record(-1, { n: 2 })));
      seen.push(await call('get', 'a'));
      seen.push(await call('get', 'expired'));
      seen.push(await call('get', 'missing'));
      seen.push(await call('length'));
      seen.push(await call('all'));
      seen.push(await call('touch', 'a', record(120_000, { ignored: true })));
      seen.push(await call('get', 'a'));
      const loaded: any = await call('load', 'a');
      seen.push([loaded[0], loaded[1] && { n: loaded[1].n, isSession: loaded[1] instanceof lib.Session, cookie: loaded[1].cookie instanceof lib.Cookie }]);
      seen.push(await call('destroy', 'a'));
      seen.push(await call('length'));
      seen.push(await call('clear'));
      results[name] = JSON.parse(JSON.stringify(seen));
      store.close?.();
    }
    expect(results.sessionkit).toEqual(results['express-session']);
  });
});
