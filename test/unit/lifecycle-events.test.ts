/**
 * The lifecycle's edges on MemoryStore: a store that refuses a login (SessionLimitError) fails
 * the response; a listener that throws never breaks a request; the events name the store's
 * user; bad lifecycle options throw at setup; every front hands out the same events.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import request from 'supertest';
import Fastify from 'fastify';
import Koa from 'koa';
import { Hono } from 'hono';
import session, { MemoryStore, SessionLimitError, type SessionEvents, type SessionRecord } from '../../src/index.js';
import sessionkitFastify from '../../src/fronts/fastify.js';
import { session as koaSession } from '../../src/fronts/koa.js';
import { session as honoSession } from '../../src/fronts/hono.js';
import { getSession, sessionEvents } from '../../src/fronts/web.js';
import type { FrontOptions } from '../../src/fronts/hooks.js';
import { cookieOf, idOf, lifecycleApp, recordIn } from './lifecycle-cases.js';

/** A store at its limit for ann (while `refusing`): it refuses to file a session of hers, as one with `onLimit: 'refuse'` does. */
class FullStore extends MemoryStore {
  refusing = true;

  override set(sid: string, record: SessionRecord): Promise<void>;
  override set(sid: string, record: SessionRecord, callback: (err?: unknown) => void): void;
  override set(sid: string, record: SessionRecord, callback?: (err?: unknown) => void): Promise<void> | void {
    if (this.refusing && record.user === 'ann') {
      const err = new SessionLimitError('ann', 3);
      if (callback) return void setImmediate(callback, err);
      return Promise.reject(err);
    }
    return callback ? super.set(sid, record, callback) : super.set(sid, record);
  }
}

/** A MemoryStore that names each record's user, as sessionkit's stores with a `userId` option do. */
class IndexingStore extends MemoryStore {
  get indexesUsers(): boolean {
    return true;
  }

  userIdOf(record: SessionRecord): string | undefined {
    return typeof record.user === 'string' ? record.user : undefined;
  }
}

afterEach(() => vi.restoreAllMocks());

describe('session(): lifecycle edges', () => {
  it('a login the store refuses (SessionLimitError) is answered as an error, without a cookie or an event', async () => {
    const { app, events } = lifecycleApp(new FullStore(), {});
    const res = await request(app).post('/login').expect(500, { error: 'ESESSIONLIMIT' });
    expect(cookieOf(res)).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('a regenerate({ keepData: true }) the store refuses is answered as an error; the old ID is gone', async () => {
    const store = new FullStore();
    store.refusing = false;
    const { app, events } = lifecycleApp(store, {});
    const cookie = cookieOf(await request(app).post('/login').expect(200))!;
    store.refusing = true;
    const res = await request(app).post('/promote').set('Cookie', cookie).expect(500, { error: 'ESESSIONLIMIT' });
    expect(cookieOf(res)).toBeUndefined();
    expect(await recordIn(store, idOf(cookie))).toBeNull();
    expect(events.map(([name]) => name)).toEqual(['created']);
  });

  it('a listener that throws is reported as a warning; the request goes on', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const { app, middleware } = lifecycleApp(new MemoryStore(), {});
    middleware.on('created', () => {
      throw new Error('listener broke');
    });
    const res = await request(app).post('/login').expect(200);
    expect(cookieOf(res)).toBeDefined();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('listener broke'), 'SessionkitWarning');
  });

  it('names the user in the events and writes meta when the store indexes users', async () => {
    const store = new IndexingStore();
    const { app, events } = lifecycleApp(store, {});
    const cookie = cookieOf(await request(app).post('/login').expect(200))!;
    expect(events).toEqual([['created', { sessionId: idOf(cookie), userId: 'ann' }]]);
    expect((await recordIn(store, idOf(cookie)))!._sessionkit).toMatchObject({ created: expect.any(Number), seen: expect.any(Number) });
    const promoted = cookieOf(await request(app).post('/promote').set('Cookie', cookie).expect(200))!;
    await request(app).post('/logout').set('Cookie', promoted).expect(200);
    expect(events.slice(1)).toEqual([
      ['regenerated', { sessionId: idOf(promoted), previousId: idOf(cookie), keepData: true, rotated: false, userId: 'ann' }],
      ['destroyed', { sessionId: idOf(promoted), userId: 'ann' }],
    ]);
  });

  it('a plain regenerate() fires regenerated (not created) once the new session is stored', async () => {
    const { app, events } = lifecycleApp(new MemoryStore(), {});
    app.post('/relogin', (req, res) => {
      req.session.regenerate(() => {
        (req.session as unknown as { user: string }).user = 'bob';
        res.json({ id: req.sessionID });
      });
    });
    const cookie = cookieOf(await request(app).post('/login').expect(200))!;
    const fresh = cookieOf(await request(app).post('/relogin').set('Cookie', cookie).expect(200))!;
    expect(events).toEqual([
      ['created', { sessionId: idOf(cookie) }],
      ['regenerated', { sessionId: idOf(fresh), previousId: idOf(cookie), keepData: false, rotated: false }],
    ]);
  });

  it('refuses bad lifecycle options at setup, naming them', () => {
    const base = { secret: 's', resave: false, saveUninitialized: false };
    expect(() => session({ ...base, absoluteTimeout: -1 })).toThrow(/absoluteTimeout/);
    expect(() => session({ ...base, idleTimeout: Number.NaN })).toThrow(/idleTimeout/);
    expect(() => session({ ...base, rotateEvery: '1h' as unknown as number })).toThrow(/rotateEvery/);
    expect(() => session({ ...base, rotateGrace: 0 })).toThrow(/rotateGrace/);
    expect(() => session({ ...base, devices: 'yes' as unknown as boolean })).toThrow(/devices/);
    expect(() => session({ ...base, devices: { userAgent: 1 as unknown as boolean } })).toThrow(/devices\.userAgent/);
    expect(() => session({ ...base, devices: { agent: true } as unknown as boolean })).toThrow(/devices/);
    expect(() => session({ ...base, absoluteTimeout: 1000, idleTimeout: 500, rotateEvery: 100, devices: { ip: false } })).not.toThrow();
  });
});

describe('the other fronts: the same events', () => {
  const options = (): FrontOptions => ({ secret: 'fronts', resave: false, saveUninitialized: false, store: new MemoryStore() });
  type Created = SessionEvents['created'];

  it('sessionkit/web: sessionEvents(options)', async () => {
    const opts = options();
    const created: Created[] = [];
    sessionEvents(opts).on('created', (e) => created.push(e));
    const sess = await getSession(new Request('http://localhost/login'), opts);
    (sess as unknown as { user: string }).user = 'ann';
    const res = await sess.commit(new Response('ok'));
    expect(res.headers.get('set-cookie')).toContain('connect.sid=');
    expect(created).toEqual([{ sessionId: sess.id }]);
  });

  it('hono: on the middleware', async () => {
    const middleware = honoSession(options());
    const created: Created[] = [];
    middleware.on('created', (e) => created.push(e));
    const app = new Hono();
    app.use(middleware);
    app.get('/login', (c) => {
      const sess = c.get('session' as never) as { user?: string; id: string };
      sess.user = 'ann';
      return c.text(sess.id);
    });
    const res = await app.request('/login');
    expect(created).toEqual([{ sessionId: await res.text() }]);
  });

  it('koa: on the middleware', async () => {
    const middleware = koaSession(options());
    const created: Created[] = [];
    middleware.once('created', (e) => created.push(e));
    const app = new Koa();
    app.use(middleware);
    app.use((ctx) => {
      (ctx.session as unknown as { user: string }).user = 'ann';
      ctx.body = ctx.session!.id;
    });
    const res = await request(app.callback()).get('/login').expect(200);
    expect(created).toEqual([{ sessionId: res.text }]);
  });

  it('fastify: on the plugin', async () => {
    const created: Created[] = [];
    const listener = (e: Created) => created.push(e);
    sessionkitFastify.on('created', listener);
    try {
      const app = Fastify();
      await app.register(sessionkitFastify, options());
      app.get('/login', async (req) => {
        (req.session as unknown as { user: string }).user = 'ann';
        return req.session.id;
      });
      const res = await app.inject('/login');
      expect(created).toEqual([{ sessionId: res.body }]);
      await app.close();
    } finally {
      sessionkitFastify.off('created', listener);
    }
  });
});
