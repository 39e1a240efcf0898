/**
 * The lifecycle of a store-backed session (timeouts, rotation, regenerate({ keepData }), the
 * meta beside the data, the events), through a real Express app, on any store: run by
 * test/unit/lifecycle.test.ts on MemoryStore and by test/stores/lifecycle.test.ts on every
 * store against its real server. The clock is Date alone, faked and moved by each test.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import express from 'express';
import request from 'supertest';
import session, { type SessionEvents, type SessionOptions, type SessionRecord, type StoreContract } from '../../src/index.js';

export interface LifecycleTarget {
  name: string;
  create(): Promise<StoreContract>;
  dispose?(store: StoreContract): Promise<void>;
}

type Recorded = Array<{ [E in keyof SessionEvents]: [E, SessionEvents[E]] }[keyof SessionEvents]>;

const EVENTS = ['created', 'regenerated', 'destroyed', 'expired', 'conflict'] as const;
const MINUTE = 60_000;

/** What the cases keep in a session. */
interface Data {
  user?: string;
  n?: number;
  role?: string;
  slow?: string;
}
const data = (req: express.Request) => req.session as unknown as Data;

/** The app every case drives: log in, read, count, promote (regenerate keeping the data), log out. */
export function lifecycleApp(store: StoreContract, options: SessionOptions = {}) {
  const middleware = session({
    secret: 'lifecycle', resave: false, saveUninitialized: false, store, cookie: { maxAge: 24 * 60 * MINUTE }, ...options,
  });
  const events: Recorded = [];
  for (const name of EVENTS) middleware.on(name, (payload) => events.push([name, payload] as Recorded[number]));
  const gates: Array<{ entered: () => void; release: Promise<void> }> = [];
  const app = express();
  app.use(middleware);
  app.post('/login', (req, res) => {
    data(req).user = 'ann';
    res.json({ id: req.sessionID });
  });
  app.get('/me', (req, res) => {
    res.json({
      user: data(req).user ?? null,
      id: req.sessionID,
      json: JSON.stringify(req.session),
      keys: Object.keys(req.session),
      hasMeta: '_sessionkit' in req.session,
    });
  });
  app.get('/count', (req, res) => {
    const sess = data(req);
    sess.n = (sess.n ?? 0) + 1;
    res.json({ n: sess.n });
  });
  app.post('/promote', async (req, res, next) => {
    try {
      await req.session.regenerate({ keepData: true });
      data(req).role = 'admin';
      res.json({ id: req.sessionID, user: req.session.user ?? null });
    } catch (err) {
      next(err);
    }
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.json({ out: true })));
  });
  app.get('/slow', async (req, res) => {
    const gate = gates.shift()!;
    gate.entered();
    await gate.release;
    data(req).slow = 'kept';
    res.json({ id: req.sessionID });
  });
  app.use((err: Error & { code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: err.code ?? err.message });
  });
  /** The next /slow request waits in its handler until `release()`; `entered` resolves once it is there. */
  const gate = () => {
    let release!: () => void;
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    gates.push({ entered, release: new Promise<void>((resolve) => (release = resolve)) });
    return { inHandler, release };
  };
  return { app, middleware, events, gate };
}

/** The session cookie of a response, as a Cookie header value; undefined when it set none. */
export function cookieOf(res: { headers: Record<string, unknown> }): string | undefined {
  const set = res.headers['set-cookie'] as string[] | undefined;
  return set?.find((c) => c.startsWith('connect.sid='))?.split(';')[0];
}

/** The session ID a Cookie header value carries. */
export function idOf(cookie: string): string {
  const value = decodeURIComponent(cookie.slice('connect.sid='.length));
  return value.slice(2, value.lastIndexOf('.'));
}

/** The record a store holds for `sid`, as its get() answers. */
export function recordIn(store: StoreContract, sid: string): Promise<SessionRecord | null> {
  return new Promise((resolve, reject) => store.get(sid, (err, value) => (err ? reject(err) : resolve(value ?? null))));
}

const count = (events: Recorded, name: keyof SessionEvents) => events.filter(([n]) => n === name).length;

export function lifecycleCases(target: LifecycleTarget): void {
  describe(`${target.name}: session lifecycle`, () => {
    let store: StoreContract;
    let now = Date.UTC(2031, 0, 6, 9, 0, 0);
    const advance = (ms: number) => vi.setSystemTime((now += ms));

    beforeAll(async () => {
      store = await target.create();
      // Each case makes its own middleware over the one store, and each listens for connect and disconnect.
      store.setMaxListeners(0);
    });
    afterAll(async () => {
      await target.dispose?.(store);
    });
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(now);
    });
    afterEach(() => {
      vi.useRealTimers();
      // Each case starts a day later: nothing of one case is within another's timeouts.
      now += 24 * 60 * MINUTE;
    });

    it('absoluteTimeout ends a session however active it is; the old record is destroyed; expired fires once', async () => {
      // A browser-session cookie: no expiry to cap, so the store still holds the record at the end.
      const { app, events } = lifecycleApp(store, { absoluteTimeout: 10 * MINUTE, cookie: {} });
      const cookie = cookieOf(await request(app).post('/login').expect(200))!;
      for (let i = 0; i < 4; i++) {
        advance(2 * MINUTE);
        // Activity, a write, a cookie sent back as the client likes: none of it extends the session.
        await request(app).get('/count').set('Cookie', cookie).expect(200, { n: i + 1 });
        expect((await request(app).get('/me').set('Cookie', cookie).expect(200)).body.user).toBe('ann');
      }
      advance(2 * MINUTE);
      const ended = await request(app).get('/me').set('Cookie', cookie).expect(200);
      expect(ended.body.user).toBeNull();
      expect(ended.body.id).not.toBe(idOf(cookie));
      expect(await recordIn(store, idOf(cookie))).toBeNull();
      expect(events.filter(([n]) => n === 'expired')).toEqual([['expired', { sessionId: idOf(cookie), reason: 'absolute' }]]);
      // Coming back with it again: no session, and no second event.
      expect((await request(app).get('/me').set('Cookie', cookie).expect(200)).body.user).toBeNull();
      expect(count(events, 'expired')).toBe(1);
    });

    it('absoluteTimeout caps the cookie and the stored record to the time the session has left', async () => {
      const { app } = lifecycleApp(store, { absoluteTimeout: 10 * MINUTE });
      const end = now + 10 * MINUTE;
      const login = await request(app).post('/login').expect(200);
      const expires = (header: unknown) => new Date(/Expires=([^;]+)/.exec((header as string[])[0]!)![1]!).getTime();
      expect(expires(login.headers['set-cookie'])).toBe(Math.floor(end / 1000) * 1000);
      const cookie = cookieOf(login)!;
      advance(6 * MINUTE);
      await request(app).get('/count').set('Cookie', cookie).expect(200, { n: 1 });
      expect(new Date(String((await recordIn(store, idOf(cookie)))!.cookie.expires)).getTime()).toBe(end);
      advance(4 * MINUTE);
      expect((await request(app).get('/me').set('Cookie', cookie).expect(200)).body.user).toBeNull();
    });

    it('idleTimeout keeps an active session and ends an idle one', async () => {
      const { app, events } = lifecycleApp(store, { idleTimeout: 5 * MINUTE });
      const cookie = cookieOf(await request(app).post('/login').expect(200))!;
      // Twenty minutes of reads (never a change) four minutes apart: alive throughout.
      for (let i = 0; i < 5; i++) {
        advance(4 * MINUTE);
        expect((await request(app).get('/me').set('Cookie', cookie).expect(200)).body.user).toBe('ann');
      }
      advance(5 * MINUTE + 1000);
      expect((await request(app).get('/me').set('Cookie', cookie).expect(200)).body.user).toBeNull();
      expect(events.filter(([n]) => n === 'expired')).toEqual([['expired', { sessionId: idOf(cookie), reason: 'idle' }]]);
      expect(await recordIn(store, idOf(cookie))).toBeNull();
    });

    it('refreshing `seen` turns a touch into a save of the record, no more often than allowed', async () => {
      const { app } = lifecycleApp(store, { idleTimeout: 30 * MINUTE });
      const cookie = cookieOf(await request(app).post('/login').expect(200))!;
      const created = now;
      const meta = async () => (await recordIn(store, idOf(cookie)))!._sessionkit as { created: number; seen: number };
      expect(await meta()).toEqual({ created, seen: created });
      advance(30_000);
      await request(app).get('/me').set('Cookie', cookie).expect(200);
      expect((await meta()).seen).toBe(created);
      advance(31_000);
      await request(app).get('/me').set('Cookie', cookie).expect(200);
      expect(await meta()).toEqual({ created, seen: now });
    });

    it('rotateEvery gives a new ID with the same data; the old ID serves within the grace and is dead after', async () => {
      const { app, events } = lifecycleApp(store, { rotateEvery: 10 * MINUTE, rotateGrace: 10_000 });
      const old = cookieOf(await request(app).post('/login').expect(200))!;
      advance(5 * MINUTE);
      const early = await request(app).get('/me').set('Cookie', old).expect(200);
      expect(cookieOf(early)).toBeUndefined();
      advance(5 * MINUTE);
      const rotated = await request(app).get('/me').set('Cookie', old).expect(200);
      const fresh = cookieOf(rotated)!;
      expect(idOf(fresh)).not.toBe(idOf(old));
      expect(rotated.body).toMatchObject({ user: 'ann', id: idOf(fresh) });
      expect(events.filter(([n]) => n === 'regenerated')).toEqual([
        ['regenerated', { sessionId: idOf(fresh), previousId: idOf(old), keepData: true, rotated: true }],
      ]);
      // A request still carrying the old ID (sent before the rotation's answer arrived).
      advance(5000);
      const late = await request(app).get('/me').set('Cookie', old).expect(200);
      expect(late.body).toMatchObject({ user: 'ann', id: idOf(fresh) });
      expect(cookieOf(late)).toBe(fresh);
      advance(5001);
      expect((await request(app).get('/me').set('Cookie', old).expect(200)).body.user).toBeNull();
      expect((await request(app).get('/me').set('Cookie', fresh).expect(200)).body.user).toBe('ann');
      expect(count(events, 'regenerated')).toBe(1);
      expect(count(events, 'created')).toBe(1);
    });

    it('a save that raced with a rotation lands on the new ID', async () => {
      const { app, gate } = lifecycleApp(store, { rotateEvery: 10 * MINUTE, rotateGrace: 10_000 });
      const old = cookieOf(await request(app).post('/login').expect(200))!;
      advance(10 * MINUTE - 1000);
      const slow = gate();
      const pending = request(app).get('/slow').set('Cookie', old).then((res) => res);
      await slow.inHandler;
      advance(1000);
      const fresh = cookieOf(await request(app).get('/me').set('Cookie', old).expect(200))!;
      expect(idOf(fresh)).not.toBe(idOf(old));
      slow.release();
      expect((await pending).status).toBe(200);
      const stored = (await recordIn(store, idOf(fresh)))!;
      expect(stored).toMatchObject({ user: 'ann', slow: 'kept' });
    });

    it('regenerate({ keepData: true }) keeps the data and creation under a new ID; the old ID is dead at once', async () => {
      const { app, events } = lifecycleApp(store, { idleTimeout: 60 * MINUTE });
      const old = cookieOf(await request(app).post('/login').expect(200))!;
      const created = ((await recordIn(store, idOf(old)))!._sessionkit as { created: number }).created;
      advance(MINUTE);
      const promoted = await request(app).post('/promote').set('Cookie', old).expect(200);
      const fresh = cookieOf(promoted)!;
      expect(idOf(fresh)).not.toBe(idOf(old));
      expect(promoted.body).toEqual({ id: idOf(fresh), user: 'ann' });
      expect(await recordIn(store, idOf(old))).toBeNull();
      expect((await request(app).get('/me').set('Cookie', old).expect(200)).body.user).toBeNull();
      const stored = (await recordIn(store, idOf(fresh)))!;
      expect(stored).toMatchObject({ user: 'ann', role: 'admin' });
      expect((stored._sessionkit as { created: number }).created).toBe(created);
      expect(events.filter(([n]) => n === 'regenerated')).toEqual([
        ['regenerated', { sessionId: idOf(fresh), previousId: idOf(old), keepData: true, rotated: false }],
      ]);
      expect(count(events, 'created')).toBe(1);
    });

    it('fires created, destroyed and conflict exactly once per operation', async () => {
      const { app, events, gate } = lifecycleApp(store, {});
      const cookie = cookieOf(await request(app).post('/login').expect(200))!;
      await request(app).get('/count').set('Cookie', cookie).expect(200);
      expect(events).toEqual([['created', { sessionId: idOf(cookie) }]]);
      // Two overlapping requests: the slow one's save meets the other's write and merges.
      const slow = gate();
      const pending = request(app).get('/slow').set('Cookie', cookie).then((res) => res);
      await slow.inHandler;
      await request(app).get('/count').set('Cookie', cookie).expect(200, { n: 2 });
      slow.release();
      expect((await pending).status).toBe(200);
      expect(await recordIn(store, idOf(cookie))).toMatchObject({ user: 'ann', n: 2, slow: 'kept' });
      expect(events.filter(([n]) => n === 'conflict')).toEqual([['conflict', { sessionId: idOf(cookie) }]]);
      await request(app).post('/logout').set('Cookie', cookie).expect(200);
      expect(events.filter(([n]) => n === 'destroyed')).toEqual([['destroyed', { sessionId: idOf(cookie) }]]);
      expect(events.map(([n]) => n)).toEqual(['created', 'conflict', 'destroyed']);
    });

    it('keeps the meta out of req.session and its JSON, and in the stored record', async () => {
      const { app } = lifecycleApp(store, { idleTimeout: 60 * MINUTE, devices: true });
      const cookie = cookieOf(await request(app).post('/login').set('User-Agent', 'lifecycle-test/1.0').expect(200))!;
      const me = (await request(app).get('/me').set('Cookie', cookie).expect(200)).body;
      expect(me.hasMeta).toBe(false);
      expect(me.keys).toEqual(['cookie', 'user']);
      expect(me.json).not.toContain('_sessionkit');
      const meta = (await recordIn(store, idOf(cookie)))!._sessionkit as Record<string, unknown>;
      expect(meta).toMatchObject({ created: now, seen: now, ua: 'lifecycle-test/1.0' });
      expect(meta.ip).toMatch(/127\.0\.0\.1|::1/);
    });

    it('a record with meta, saved by a server with the options off, keeps its meta', async () => {
      const on = lifecycleApp(store, { idleTimeout: 60 * MINUTE });
      const off = lifecycleApp(store, {});
      const cookie = cookieOf(await request(on.app).post('/login').expect(200))!;
      const before = (await recordIn(store, idOf(cookie)))!._sessionkit;
      advance(MINUTE);
      await request(off.app).get('/count').set('Cookie', cookie).expect(200, { n: 1 });
      await request(off.app).get('/count').set('Cookie', cookie).expect(200, { n: 2 });
      const after = (await recordIn(store, idOf(cookie)))!;
      expect(after).toMatchObject({ user: 'ann', n: 2 });
      expect(after._sessionkit).toEqual(before);
      expect((await request(off.app).get('/me').set('Cookie', cookie).expect(200)).body.hasMeta).toBe(false);
    });

    it('writes no meta without a lifecycle option: the record is express-session\'s', async () => {
      const { app } = lifecycleApp(store, {});
      const cookie = cookieOf(await request(app).post('/login').expect(200))!;
      await request(app).get('/count').set('Cookie', cookie).expect(200);
      expect(Object.keys((await recordIn(store, idOf(cookie)))!)).toEqual(['cookie', 'user', 'n']);
    });
  });
}
