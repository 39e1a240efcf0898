/**
 * Switching libraries logs nobody out: cookies and records written by express-session are
 * read by sessionkit and the reverse; any express-session store works unmodified.
 */
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import { inherits } from 'node:util';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session, { MemoryStore, Store } from '../../src/index.js';
import { TestStore } from './harness.js';

const require = createRequire(import.meta.url);
const expressSession = require('express-session');
const memorystore = require('memorystore');

const minute = 60_000;
type Factory = (options: any) => any;

function app(factory: Factory, store: unknown, extra: Record<string, unknown> = {}) {
  const a = express();
  a.use(factory({ secret: ['current', 'previous'], resave: false, saveUninitialized: false, store, cookie: { maxAge: 10 * minute }, ...extra }));
  a.get('/login/:user', (req: any, res) => {
    req.session.user = { id: req.params.user, roles: ['admin'] };
    req.session.visits = 0;
    res.send('in');
  });
  a.get('/visit', (req: any, res) => {
    req.session.visits = (req.session.visits ?? 0) + 1;
    res.json({ id: req.sessionID, user: req.session.user ?? null, visits: req.session.visits, maxAge: req.session.cookie.originalMaxAge });
  });
  a.get('/view', (req: any, res) => res.json({ id: req.sessionID, user: req.session.user ?? null, visits: req.session.visits ?? null }));
  a.get('/regenerate', (req: any, res) => req.session.regenerate(() => {
    req.session.user = { id: 'again' };
    res.json({ id: req.sessionID });
  }));
  a.get('/reload', (req: any, res, next) => req.session.reload((err: unknown) => (err ? next(err) : res.json({ user: req.session.user }))));
  a.get('/logout', (req: any, res) => req.session.destroy(() => res.send('out')));
  return a;
}

function cookieOf(res: request.Response): string {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined;
  expect(header, 'a session cookie is set').toBeTruthy();
  return header![0]!.split(';')[0]!;
}

const libs: Array<[string, Factory]> = [['express-session', expressSession], ['sessionkit', session as Factory]];

describe('cookies and records move between express-session and sessionkit', () => {
  const stores: Array<[string, () => any]> = [
    ['a third-party store (extends express-session Store)', () => new TestStore()],
    ["express-session's MemoryStore", () => new expressSession.MemoryStore()],
    ["sessionkit's MemoryStore", () => new MemoryStore()],
    ['the memorystore package', () => new (memorystore(expressSession))({ checkPeriod: 0 })],
  ];
  for (const [storeName, makeStore] of stores) {
    for (const [fromName, from] of libs) {
      const [toName, to] = libs.find(([name]) => name !== fromName)!;
      it(`${fromName} -> ${toName}, sharing ${storeName}`, async () => {
        const store = makeStore();
        const first = app(from, store);
        const second = app(to, store);
        const login = await request(first).get('/login/alice').expect(200);
        const cookie = cookieOf(login);

        const seen = await request(second).get('/visit').set('Cookie', cookie).expect(200);
        expect(seen.body.user).toEqual({ id: 'alice', roles: ['admin'] });
        expect(seen.body.visits).toBe(1);
        // originalMaxAge, taken from maxAge as the session was created (both libraries read it back
        // a millisecond later on a busy machine), carried over from the other library.
        expect(seen.body.maxAge).toBeGreaterThan(10 * minute - 1000);
        expect(seen.body.maxAge).toBeLessThanOrEqual(10 * minute);

        // And back: the change made by the second library is read by the first.
        const back = await request(first).get('/view').set('Cookie', cookie).expect(200);
        expect(back.body).toMatchObject({ id: seen.body.id, visits: 1 });
        await request(second).get('/reload').set('Cookie', cookie).expect(200, { user: { id: 'alice', roles: ['admin'] } });

        // A regenerated session (new cookie) from one is read by the other; logout ends it for both.
        const regenerated = await request(second).get('/regenerate').set('Cookie', cookie).expect(200);
        const newCookie = cookieOf(regenerated);
        expect((await request(first).get('/view').set('Cookie', newCookie)).body.user).toEqual({ id: 'again' });
        expect((await request(first).get('/view').set('Cookie', cookie)).body.user).toBeNull();
        await request(first).get('/logout').set('Cookie', newCookie).expect('out');
        expect((await request(second).get('/view').set('Cookie', newCookie)).body.user).toBeNull();
        store.close?.();
        store.stopInterval?.();
      });
    }
  }

  it('a cookie signed by express-session with a rotated-out secret is still read', async () => {
    const store = new TestStore();
    const old = app(expressSession, store, { secret: 'previous' });
    const cookie = cookieOf(await request(old).get('/login/bob'));
    const current = app(session as Factory, store, { rolling: true });
    const res = await request(current).get('/view').set('Cookie', cookie).expect(200);
    expect(res.body.user).toEqual({ id: 'bob', roles: ['admin'] });
    // Re-signed with the first secret, which express-session (with both secrets) accepts too.
    const resigned = cookieOf(res);
    expect(resigned).not.toBe(cookie);
    const es = app(expressSession, store, { secret: ['current'] });
    expect((await request(es).get('/view').set('Cookie', resigned)).body.user).toEqual({ id: 'bob', roles: ['admin'] });
  });
});

describe('stores', () => {
  it('the unmodified memorystore package works with sessionkit', async () => {
    const MemoryStoreFromNpm = memorystore(session);
    const store = new MemoryStoreFromNpm({ checkPeriod: 0 });
    expect(store).toBeInstanceOf(Store);
    const a = app(session as Factory, store);
    const cookie = cookieOf(await request(a).get('/login/carol').expect(200));
    expect((await request(a).get('/visit').set('Cookie', cookie)).body).toMatchObject({ user: { id: 'carol' }, visits: 1 });
    expect((await request(a).get('/visit').set('Cookie', cookie)).body.visits).toBe(2);
    const regenerated = cookieOf(await request(a).get('/regenerate').set('Cookie', cookie));
    expect((await request(a).get('/view').set('Cookie', regenerated)).body.user).toEqual({ id: 'again' });
    await request(a).get('/logout').set('Cookie', regenerated).expect('out');
    expect(await new Promise((r) => store.length((_: unknown, n: number) => r(n)))).toBe(0);
    store.stopInterval();
  });

  it('a legacy store written with Store.call(this) and util.inherits works', async () => {
    const calls: string[] = [];
    function LegacyStore(this: any) {
      Store.call(this);
      this.sessions = Object.create(null);
    }
    inherits(LegacyStore, Store);
    LegacyStore.prototype.get = function (sid: string, cb: any) {
      calls.push('get');
      const text = this.sessions[sid];
      setImmediate(cb, null, text ? JSON.parse(text) : null);
    };
    LegacyStore.prototype.set = function (sid: string, sess: unknown, cb: any) {
      calls.push('set');
      this.sessions[sid] = JSON.stringify(sess);
      setImmediate(cb);
    };
    LegacyStore.prototype.destroy = function (sid: string, cb: any) {
      calls.push('destroy');
      delete this.sessions[sid];
      setImmediate(cb);
    };
    const store = new (LegacyStore as any)();
    expect(store).toBeInstanceOf(Store);
    expect(store).toBeInstanceOf(EventEmitter);
    const a = app(session as Factory, store);
    const cookie = cookieOf(await request(a).get('/login/dave'));
    expect((await request(a).get('/visit').set('Cookie', cookie)).body).toMatchObject({ user: { id: 'dave' }, visits: 1 });
    await request(a).get('/logout').set('Cookie', cookie).expect('out');
    expect(Object.keys(store.sessions)).toEqual([]);
    expect(calls).toEqual(['set', 'get', 'set', 'get', 'destroy']);
    // The base-class helpers are there for code that calls them directly.
    await new Promise<void>((resolve) => store.set('x', { cookie: { originalMaxAge: null }, a: 1 }, resolve));
    const loaded = await new Promise<any>((resolve, reject) => store.load('x', (err: unknown, s: unknown) => (err ? reject(err) : resolve(s))));
    expect(loaded.a).toBe(1);
    expect(loaded.cookie.originalMaxAge).toBeNull();
  });

  it('the middleware needs only get, set, destroy, touch and on: no base-class helpers, no mutation', async () => {
    const data = new Map<string, string>();
    const calls: string[] = [];
    const events = new EventEmitter();
    const store = {
      get(sid: string, cb: any) {
        calls.push('get');
        const text = data.get(sid);
        cb(null, text ? JSON.parse(text) : undefined);
      },
      set(sid: string, sess: unknown, cb: any) {
        calls.push('set');
        data.set(sid, JSON.stringify(sess));
        cb();
      },
      destroy(sid: string, cb: any) {
        calls.push('destroy');
        data.delete(sid);
        cb();
      },
      touch(sid: string, sess: any, cb: any) {
        calls.push('touch');
        const text = data.get(sid);
        if (text) data.set(sid, JSON.stringify({ ...JSON.parse(text), cookie: sess.cookie }));
        cb();
      },
      on: events.on.bind(events),
    };
    const before = Object.keys(store);
    const a = app(session as Factory, Object.freeze(store), { unset: 'destroy' });
    a.get('/unset', (req: any, res) => {
      req.session = null;
      res.send('unset');
    });
    const cookie = cookieOf(await request(a).get('/login/erin'));
    await request(a).get('/view').set('Cookie', cookie).expect(200);
    await request(a).get('/reload').set('Cookie', cookie).expect(200);
    const regenerated = cookieOf(await request(a).get('/regenerate').set('Cookie', cookie));
    await request(a).get('/unset').set('Cookie', regenerated).expect('unset');
    const third = cookieOf(await request(a).get('/login/erin'));
    await request(a).get('/logout').set('Cookie', third).expect('out');
    expect(calls).toEqual(['set', 'get', 'touch', 'get', 'get', 'touch', 'get', 'destroy', 'set', 'get', 'destroy', 'set', 'get', 'destroy',
      // unset: 'destroy' destroys a destroyed session again at the end, as express-session does.
      'destroy']);
    expect(Object.keys(store)).toEqual(before);
    expect(data.size).toBe(0);
    // Disconnect and connect events are followed.
    events.emit('disconnect');
    expect((await request(a).get('/view').set('Cookie', third)).body).toEqual({});
    events.emit('connect');
    expect((await request(a).get('/view').set('Cookie', third)).body).toMatchObject({ user: null });
  });

  it('third-party stores get whole-record saves, as express-session gives them', async () => {
    const store = new TestStore();
    const a = app(session as Factory, store);
    a.get('/one-key', (req: any, res) => {
      req.session.visits = 99;
      res.send('changed one key');
    });
    const cookie = cookieOf(await request(a).get('/login/frank'));
    store.calls = [];
    await request(a).get('/one-key').set('Cookie', cookie).expect(200);
    const set = store.calls.find((c: any) => c[0] === 'set') as [string, string, any];
    expect(set[2]).toMatchObject({ user: { id: 'frank', roles: ['admin'] }, visits: 99, cookie: { originalMaxAge: 10 * minute, path: '/' } });
  });
});
