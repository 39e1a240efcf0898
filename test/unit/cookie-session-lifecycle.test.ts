import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import express from 'express';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  cookieSession,
  SealKeys,
  seal,
  unseal,
  type CookieSessionMiddleware,
  type CookieSessionOptions,
  type RevocationStore,
  type SessionEvents,
} from '../../src/cookie-session/index.js';
import { kLifecycle } from '../../src/core/session.js';
import { MemoryStore } from '../../src/stores/memory.js';

const require = createRequire(import.meta.url);
const expressSession: { MemoryStore: new () => RevocationStore } = require('express-session');

const SECRET = randomBytes(32).toString('base64');
const KEYS = new SealKeys(SECRET);
const AAD = Buffer.from('sessionkit/cookie:session');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2030, 0, 10, 9, 0, 0);

/** Moves the clock the middleware reads (Date only: sockets and timers keep real time). */
function at(ms: number): void {
  vi.setSystemTime(ms);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'], now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A browser's cookie jar, kept by hand so that the test's clock never makes it drop a cookie itself. */
class Browser {
  cookies = new Map<string, string>();
  /** The Set-Cookie values of the last response. */
  last: string[] = [];

  constructor(readonly headers: Record<string, string> = {}) {}

  get header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** The sealed value of the session cookie (one chunk: these sessions are small). */
  get sealed(): string {
    const value = this.cookies.get('session');
    if (!value) throw new Error('no session cookie');
    return value.slice(value.indexOf('.') + 1);
  }

  /** What the session cookie holds, opened with the test's secret. */
  get payload(): { i: string; e: number; s: Record<string, unknown>; m?: Record<string, unknown> } {
    const opened = unseal(this.sealed, KEYS, AAD);
    if (!opened) throw new Error('the session cookie does not open');
    return JSON.parse(opened.text);
  }

  async send(app: express.Express, method: 'get' | 'post', path: string, body?: object): Promise<request.Response> {
    let req = request(app)[method](path);
    if (this.cookies.size) req = req.set('Cookie', this.header);
    for (const [k, v] of Object.entries(this.headers)) req = req.set(k, v);
    const res = await (body ? req.send(body) : req);
    const header = res.headers['set-cookie'] as unknown;
    this.last = Array.isArray(header) ? header : header ? [String(header)] : [];
    for (const line of this.last) {
      const pair = line.split(';')[0]!;
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      if (line.includes('Expires=Thu, 01 Jan 1970')) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
    return res;
  }

  get(app: express.Express, path = '/'): Promise<request.Response> {
    return this.send(app, 'get', path);
  }

  post(app: express.Express, path: string, body?: object): Promise<request.Response> {
    return this.send(app, 'post', path, body);
  }

  /** Whether the last response cleared the session cookie. */
  get cleared(): boolean {
    return this.last.some((line) => line.startsWith('session=;') && line.includes('Expires=Thu, 01 Jan 1970'));
  }

  /** A copy of this browser, holding the same cookies from now on (a stolen or replayed cookie). */
  copy(): Browser {
    const other = new Browser(this.headers);
    other.cookies = new Map(this.cookies);
    return other;
  }
}

type Events = { [E in keyof SessionEvents]: SessionEvents[E][] };

function listen(sessions: CookieSessionMiddleware): Events {
  const events: Events = { created: [], regenerated: [], destroyed: [], expired: [], conflict: [], revoked: [] };
  for (const name of Object.keys(events) as (keyof SessionEvents)[]) {
    sessions.on(name, (payload: unknown) => (events[name] as unknown[]).push(payload));
  }
  return events;
}

/** An app whose routes log in, touch, change, regenerate and destroy; the middleware and its events beside it. */
function makeApp(options: Partial<CookieSessionOptions> = {}) {
  const sessions = cookieSession({ secret: SECRET, ...options });
  const events = listen(sessions);
  const app = express();
  app.set('trust proxy', false);
  app.use(express.json());
  app.use(sessions);
  app.get('/', (req, res) => {
    const s = req.session as unknown as Record<string, unknown>;
    res.json({ id: req.sessionID, user: s.user ?? null, json: JSON.stringify(req.session), keys: Object.keys(s) });
  });
  app.post('/login', (req, res) => {
    (req.session as unknown as Record<string, unknown>).user = req.body.user;
    res.json({ id: req.sessionID });
  });
  app.post('/set', (req, res) => {
    Object.assign(req.session as object, req.body);
    res.json({ id: req.sessionID });
  });
  app.post('/regenerate', async (req, res) => {
    const before = req.sessionID;
    const keepData = req.body.keepData === true;
    const life = (req as unknown as Record<symbol, { regenerate(s: unknown, o?: { keepData?: boolean }): Promise<void> }>)[kLifecycle]!;
    await life.regenerate(req.session, { keepData });
    res.json({ before, after: req.sessionID, user: (req.session as unknown as Record<string, unknown>).user ?? null });
  });
  app.post('/regenerate/plain', async (req, res) => {
    const before = req.sessionID;
    await req.session!.regenerate();
    res.json({ before, after: req.sessionID });
  });
  app.post('/destroy', async (req, res) => {
    await req.session!.destroy();
    res.json({ destroyed: true });
  });
  app.post('/save-then-change', async (req, res) => {
    (req.session as unknown as Record<string, unknown>).user = req.body.user;
    await req.session!.save();
    (req.session as unknown as Record<string, unknown>).n = 1;
    res.json({ id: req.sessionID });
  });
  app.post('/null', (req, res) => {
    req.session = null as never;
    res.end();
  });
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: err.message });
  });
  return { app, sessions, events };
}

/** Seals a payload as a seal of this library would look before seals carried meta. */
function olderSeal(payload: { i: string; e: number; s: Record<string, unknown> }): string {
  return `1.${seal(JSON.stringify(payload), KEYS, AAD)}`;
}

describe('cookieSession absoluteTimeout', () => {
  it('ends the session that long after it was created, however active, rolling included', async () => {
    const { app, events } = makeApp({ absoluteTimeout: HOUR, rolling: true, cookie: { maxAge: 24 * HOUR } });
    const browser = new Browser();
    const { body: login } = await browser.post(app, '/login', { user: 'ann' });
    for (const minutes of [20, 40, 59]) {
      at(T0 + minutes * MINUTE);
      const { body } = await browser.get(app);
      expect(body).toMatchObject({ id: login.id, user: 'ann' });
      // Each response reseals (rolling), but the seal's own expiry stays at created + absoluteTimeout.
      expect(browser.payload.e).toBe(T0 + HOUR);
      expect(browser.payload.m).toMatchObject({ created: T0, seen: T0 + minutes * MINUTE });
    }
    at(T0 + HOUR);
    const { body } = await browser.get(app);
    expect(body.user).toBeNull();
    expect(body.id).not.toBe(login.id);
    expect(browser.cleared).toBe(true);
    expect(events.expired).toEqual([{ sessionId: login.id, userId: undefined, reason: 'absolute' }]);
  });

  it('keeps a session alive until the last millisecond before', async () => {
    const { app, events } = makeApp({ absoluteTimeout: HOUR, cookie: { maxAge: 24 * HOUR } });
    const browser = new Browser();
    const { body: login } = await browser.post(app, '/login', { user: 'ann' });
    at(T0 + HOUR - 1);
    expect((await browser.get(app)).body).toMatchObject({ id: login.id, user: 'ann' });
    expect(events.expired).toEqual([]);
  });

  it('counts from the first login across regenerate({ keepData: true }), and from the new one after a plain regenerate', async () => {
    const { app, events } = makeApp({ absoluteTimeout: HOUR, cookie: { maxAge: 24 * HOUR } });
    const kept = new Browser();
    await kept.post(app, '/login', { user: 'ann' });
    at(T0 + 30 * MINUTE);
    const { body: regen } = await kept.post(app, '/regenerate', { keepData: true });
    expect(regen).toMatchObject({ user: 'ann' });
    expect(regen.after).not.toBe(regen.before);
    expect(kept.payload.m).toMatchObject({ created: T0 });
    at(T0 + HOUR);
    expect((await kept.get(app)).body.user).toBeNull();
    expect(events.expired).toEqual([{ sessionId: regen.after, userId: undefined, reason: 'absolute' }]);

    at(T0);
    const plain = new Browser();
    await plain.post(app, '/login', { user: 'bob' });
    at(T0 + 30 * MINUTE);
    await plain.post(app, '/regenerate', { keepData: false });
    await plain.post(app, '/login', { user: 'bob' });
    expect(plain.payload.m).toMatchObject({ created: T0 + 30 * MINUTE });
    at(T0 + HOUR);
    expect((await plain.get(app)).body.user).toBe('bob');
  });
});

describe('cookieSession idleTimeout', () => {
  it('keeps an active session that changes nothing alive, resealing once its seen is stale', async () => {
    const { app, events } = makeApp({ idleTimeout: 10 * MINUTE, cookie: { maxAge: 24 * HOUR } });
    const browser = new Browser();
    const { body: login } = await browser.post(app, '/login', { user: 'ann' });
    // seen is refreshed every tenth of the idle timeout (a minute here): not before.
    at(T0 + 59_999);
    await browser.get(app);
    expect(browser.last).toEqual([]);
    at(T0 + MINUTE);
    await browser.get(app);
    expect(browser.last).toHaveLength(1);
    expect(browser.payload.m).toMatchObject({ created: T0, seen: T0 + MINUTE });
    // Eight minutes apart, for an hour: each request reseals, none finds the session idle.
    for (let t = T0 + 9 * MINUTE; t <= T0 + HOUR; t += 8 * MINUTE) {
      at(t);
      const { body } = await browser.get(app);
      expect(body).toMatchObject({ id: login.id, user: 'ann' });
      expect(browser.payload.m).toMatchObject({ seen: t });
    }
    expect(events.expired).toEqual([]);
  });

  it('ends a session no request brought for longer than the idle timeout, and a replayed older cookie by its own seen', async () => {
    const { app, events } = makeApp({ idleTimeout: 10 * MINUTE, cookie: { maxAge: 24 * HOUR } });
    const browser = new Browser();
    const { body: login } = await browser.post(app, '/login', { user: 'ann' });
    const replay = browser.copy();
    at(T0 + 10 * MINUTE);
    expect((await browser.get(app)).body.user).toBe('ann'); // exactly the idle timeout: still alive
    at(T0 + 15 * MINUTE);
    expect((await browser.get(app)).body.user).toBe('ann');
    // The copy still holds the first seal, last seen at T0: the newer seal's activity does not extend it.
    const { body: replayed } = await replay.get(app);
    expect(replayed.user).toBeNull();
    expect(replay.cleared).toBe(true);
    expect(events.expired).toEqual([{ sessionId: login.id, userId: undefined, reason: 'idle' }]);
    at(T0 + 25 * MINUTE + 1);
    expect((await browser.get(app)).body.user).toBeNull();
    expect(events.expired).toHaveLength(2);
    expect(events.expired[1]).toMatchObject({ sessionId: login.id, reason: 'idle' });
  });

  it('writes no cookie for a new session nobody wrote to, timeouts or not', async () => {
    const { app, events } = makeApp({ idleTimeout: 10 * MINUTE, absoluteTimeout: HOUR });
    const browser = new Browser();
    await browser.get(app);
    expect(browser.last).toEqual([]);
    expect(events.created).toEqual([]);
  });
});

describe('cookieSession: what the client cannot do', () => {
  it('a changed or foreign seal is no session: no timeout, no event, the cookie cleared', async () => {
    const { app, events } = makeApp({ absoluteTimeout: HOUR, idleTimeout: 10 * MINUTE });
    const browser = new Browser();
    await browser.post(app, '/login', { user: 'ann' });
    const value = browser.cookies.get('session')!;
    const flipped = value.slice(0, -3) + (value.at(-3) === 'A' ? 'B' : 'A') + value.slice(-2);
    const forged = new Browser();
    forged.cookies.set('session', flipped);
    expect((await forged.get(app)).body.user).toBeNull();
    expect(forged.cleared).toBe(true);

    // A seal made with another secret, claiming a session created in the future and seen now.
    const otherKeys = new SealKeys(randomBytes(32));
    const text = JSON.stringify({ i: 'forged', e: T0 + 100 * HOUR, s: { cookie: { originalMaxAge: null }, user: 'ann' }, m: { created: T0 + 50 * HOUR, seen: T0 + 50 * HOUR } });
    const foreign = new Browser();
    foreign.cookies.set('session', `1.${seal(text, otherKeys, AAD)}`);
    const { body } = await foreign.get(app);
    expect(body.user).toBeNull();
    expect(body.id).not.toBe('forged');
    expect(foreign.cleared).toBe(true);
    expect(events.expired).toEqual([]);
    expect(events.revoked).toEqual([]);
  });

  it('never shows the meta on req.session', async () => {
    const { app } = makeApp({ absoluteTimeout: HOUR, devices: true });
    const browser = new Browser({ 'User-Agent': 'TestBrowser/1.0' });
    await browser.post(app, '/login', { user: 'ann' });
    const { body } = await browser.get(app);
    expect(body.keys).toEqual(['cookie', 'user']);
    expect(body.json).not.toContain('_sessionkit');
    expect(body.json).not.toContain('TestBrowser');
    expect(browser.payload.s).not.toHaveProperty('_sessionkit');
  });
});

describe('cookieSession devices', () => {
  it('seals the user agent (256 characters at most) and the client IP', async () => {
    const { app } = makeApp({ devices: true });
    const ua = 'Mozilla/5.0 ' + 'x'.repeat(300);
    const browser = new Browser({ 'User-Agent': ua });
    await browser.post(app, '/login', { user: 'ann' });
    expect(browser.payload.m).toEqual({ created: T0, seen: T0, ua: ua.slice(0, 256), ip: expect.stringMatching(/127\.0\.0\.1|::1/) });
  });

  it('keeps only what it is asked for; with proxy: true the IP is the first X-Forwarded-For', async () => {
    const uaOnly = makeApp({ devices: { ip: false } });
    const one = new Browser({ 'User-Agent': 'UA/1' });
    await one.post(uaOnly.app, '/login', { user: 'ann' });
    expect(one.payload.m).toEqual({ created: T0, seen: T0, ua: 'UA/1' });

    const proxied = makeApp({ devices: { userAgent: false }, proxy: true });
    const two = new Browser({ 'User-Agent': 'UA/2', 'X-Forwarded-For': '203.0.113.7, 10.0.0.1' });
    await two.post(proxied.app, '/login', { user: 'bob' });
    expect(two.payload.m).toEqual({ created: T0, seen: T0, ip: '203.0.113.7' });
  });

  it('writes no meta at all without a feature that needs it', async () => {
    const { app } = makeApp({});
    const browser = new Browser({ 'User-Agent': 'UA/1' });
    await browser.post(app, '/login', { user: 'ann' });
    expect(browser.payload).not.toHaveProperty('m');
  });
});

describe('cookieSession: seals without meta (written before seals carried one)', () => {
  const older = (sealedAt: number, maxAge: number | null, user = 'ann') =>
    olderSeal({ i: 'older-id', e: sealedAt + (maxAge ?? 24 * HOUR), s: { cookie: { originalMaxAge: maxAge, path: '/', httpOnly: true }, user } });

  it('keep working, and stay without meta when no feature needs one', async () => {
    const { app } = makeApp({ cookie: { maxAge: 24 * HOUR } });
    const browser = new Browser();
    browser.cookies.set('session', older(T0 - HOUR, 24 * HOUR));
    expect((await browser.get(app)).body).toMatchObject({ id: 'older-id', user: 'ann' });
    await browser.post(app, '/set', { n: 1 });
    expect(browser.payload).not.toHaveProperty('m');
    expect(browser.payload.s).toMatchObject({ user: 'ann', n: 1 });
  });

  it('with absoluteTimeout count as created when they were sealed, and get their meta on the next response', async () => {
    const { app, events } = makeApp({ absoluteTimeout: 2 * HOUR, cookie: { maxAge: 24 * HOUR } });
    const recent = new Browser();
    recent.cookies.set('session', older(T0 - 30 * MINUTE, 24 * HOUR));
    expect((await recent.get(app)).body).toMatchObject({ id: 'older-id', user: 'ann' });
    expect(recent.payload.m).toEqual({ created: T0 - 30 * MINUTE, seen: T0 });
    at(T0 + 90 * MINUTE);
    expect((await recent.get(app)).body.user).toBeNull();

    at(T0);
    const stale = new Browser();
    stale.cookies.set('session', older(T0 - 3 * HOUR, 24 * HOUR));
    expect((await stale.get(app)).body.user).toBeNull();
    expect(events.expired).toEqual([
      { sessionId: 'older-id', userId: undefined, reason: 'absolute' },
      { sessionId: 'older-id', userId: undefined, reason: 'absolute' },
    ]);
  });

  it('without a maxAge count from their ttl, and are never idle on their first request', async () => {
    const { app } = makeApp({ idleTimeout: 10 * MINUTE, absoluteTimeout: 2 * HOUR, ttl: 24 * HOUR });
    const browser = new Browser();
    browser.cookies.set('session', older(T0 - HOUR, null));
    expect((await browser.get(app)).body.user).toBe('ann');
    expect(browser.payload.m).toEqual({ created: T0 - HOUR, seen: T0 });
  });
});

describe('cookieSession regenerate({ keepData: true })', () => {
  it('gives a new ID with the same data, meta and cookie; the old cookie is replaced', async () => {
    const { app, events } = makeApp({ devices: true, cookie: { maxAge: HOUR } });
    const browser = new Browser({ 'User-Agent': 'UA/1' });
    const { body: login } = await browser.post(app, '/login', { user: 'ann' });
    at(T0 + MINUTE);
    const { body } = await browser.post(app, '/regenerate', { keepData: true });
    expect(body).toEqual({ before: login.id, after: expect.any(String), user: 'ann' });
    expect(body.after).not.toBe(login.id);
    expect(browser.payload).toMatchObject({ i: body.after, s: { user: 'ann' }, m: { created: T0, seen: T0 + MINUTE, ua: 'UA/1' } });
    expect((await browser.get(app)).body).toMatchObject({ id: body.after, user: 'ann' });
    expect(events.regenerated).toEqual([{ sessionId: body.after, previousId: login.id, userId: undefined, keepData: true, rotated: false }]);
    expect(events.created).toHaveLength(1);
  });

  it('a plain regenerate empties the session and starts a new meta', async () => {
    const { app, events } = makeApp({ absoluteTimeout: HOUR });
    const browser = new Browser();
    const { body: login } = await browser.post(app, '/login', { user: 'ann' });
    at(T0 + MINUTE);
    const { body } = await browser.post(app, '/regenerate/plain');
    expect(body.after).not.toBe(login.id);
    expect(browser.payload.s).not.toHaveProperty('user');
    expect(browser.payload.m).toEqual({ created: T0 + MINUTE, seen: T0 + MINUTE });
    expect(events.regenerated).toEqual([{ sessionId: body.after, previousId: login.id, userId: undefined, keepData: false, rotated: false }]);
  });
});

describe('cookieSession events', () => {
  it('created once, on the first seal, not on later writes', async () => {
    const { app, events } = makeApp({});
    const browser = new Browser();
    await browser.get(app);
    expect(events.created).toEqual([]);
    const { body } = await browser.post(app, '/login', { user: 'ann' });
    await browser.post(app, '/set', { n: 2 });
    await browser.get(app);
    expect(events.created).toEqual([{ sessionId: body.id, userId: undefined }]);
  });

  it('created once for a session saved in the handler and sealed again at the end; once() hears one event', async () => {
    const { app, sessions, events } = makeApp({});
    const heard: unknown[] = [];
    sessions.once('created', (e) => heard.push(e));
    const browser = new Browser();
    const { body } = await browser.post(app, '/save-then-change', { user: 'ann' });
    expect(browser.payload.s).toMatchObject({ user: 'ann', n: 1 });
    await new Browser().post(app, '/login', { user: 'bob' });
    expect(events.created).toHaveLength(2);
    expect(events.created[0]).toEqual({ sessionId: body.id, userId: undefined });
    expect(heard).toEqual([{ sessionId: body.id, userId: undefined }]);
  });

  it('destroyed for destroy() and req.session = null of a sealed session, not for one never sealed', async () => {
    const { app, events } = makeApp({});
    const one = new Browser();
    const { body: a } = await one.post(app, '/login', { user: 'ann' });
    await one.post(app, '/destroy');
    expect(one.cleared).toBe(true);
    const two = new Browser();
    const { body: b } = await two.post(app, '/login', { user: 'bob' });
    await two.post(app, '/null');
    expect(two.cleared).toBe(true);
    await new Browser().post(app, '/destroy');
    expect(events.destroyed).toEqual([{ sessionId: a.id, userId: undefined }, { sessionId: b.id, userId: undefined }]);
  });

  it('no regenerated event for a session that was never sealed: its first seal is created', async () => {
    const { app, events } = makeApp({});
    const browser = new Browser();
    const { body } = await browser.post(app, '/regenerate/plain');
    expect(events.regenerated).toEqual([]);
    expect(events.created).toEqual([{ sessionId: body.after, userId: undefined }]);
  });

  it('carries the user of revocation.userId', async () => {
    const { app, events } = makeApp({ revocation: { store: new MemoryStore(), userId: (d) => d.user as string } });
    const browser = new Browser();
    const { body } = await browser.post(app, '/login', { user: 'ann' });
    await browser.post(app, '/destroy');
    expect(events.created).toEqual([{ sessionId: body.id, userId: 'ann' }]);
    expect(events.destroyed).toEqual([{ sessionId: body.id, userId: 'ann' }]);
  });

  it('a listener that throws never breaks the request; off() stops a listener', async () => {
    const { app, sessions, events } = makeApp({});
    const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const thrower = () => {
      throw new Error('listener bug');
    };
    sessions.on('created', thrower);
    const browser = new Browser();
    const res = await browser.post(app, '/login', { user: 'ann' });
    expect(res.status).toBe(200);
    expect(browser.cookies.has('session')).toBe(true);
    expect(warning).toHaveBeenCalledWith(expect.stringContaining('listener bug'), 'SessionkitWarning');
    sessions.off('created', thrower);
    warning.mockClear();
    await new Browser().post(app, '/login', { user: 'bob' });
    expect(warning).not.toHaveBeenCalled();
    expect(events.created).toHaveLength(2);
  });
});

/** A store for revocation that counts its reads and can be made to fail. */
class FaultyStore implements RevocationStore {
  readonly inner = new MemoryStore();
  gets = 0;
  fail: 'no' | 'callback' | 'throw' = 'no';

  get(sid: string, callback: (err: unknown, record?: never) => void): void {
    this.gets++;
    if (this.fail === 'throw') throw new Error('store get threw');
    if (this.fail === 'callback') {
      setImmediate(callback, new Error('store get failed'));
      return;
    }
    this.inner.get(sid, callback as never);
  }

  set(sid: string, record: never, callback?: (err?: unknown) => void): void {
    this.inner.set(sid, record, (err) => callback?.(err));
  }
}

describe('cookieSession revocation', () => {
  const revocable = (store: RevocationStore, extra: Partial<CookieSessionOptions> = {}, cacheMs?: number) =>
    makeApp({ cookie: { maxAge: 7 * 24 * HOUR }, rolling: true, ...extra, revocation: { store, userId: (d) => d.user as string | undefined, cacheMs } });

  it('ends every cookie of the user issued until then, and only theirs; a later login works', async () => {
    const store = new MemoryStore();
    const { app, sessions, events } = revocable(store);
    const laptop = new Browser();
    const phone = new Browser();
    const other = new Browser();
    const anonymous = new Browser();
    const { body: l } = await laptop.post(app, '/login', { user: 'ann' });
    const { body: p } = await phone.post(app, '/login', { user: 'ann' });
    await other.post(app, '/login', { user: 'bob' });
    await anonymous.post(app, '/set', { theme: 'dark' });
    const stolen = laptop.copy();
    at(T0 + MINUTE);
    await sessions.revokeUserCookies('ann');
    at(T0 + MINUTE + 1);
    for (const browser of [laptop, phone]) {
      expect((await browser.get(app)).body.user).toBeNull();
      expect(browser.cleared).toBe(true);
    }
    expect((await stolen.get(app)).body.user).toBeNull();
    expect((await other.get(app)).body.user).toBe('bob');
    expect((await anonymous.get(app)).body.json).toContain('dark');
    expect(events.revoked).toEqual([
      { sessionId: l.id, userId: 'ann' },
      { sessionId: p.id, userId: 'ann' },
      { sessionId: l.id, userId: 'ann' },
    ]);
    const again = new Browser();
    await again.post(app, '/login', { user: 'ann' });
    at(T0 + 2 * MINUTE);
    expect((await again.get(app)).body.user).toBe('ann');
  });

  it('stores the epoch under sessionkit:revoked:<userId>, living as long as the longest seal', async () => {
    const store = new MemoryStore();
    const { sessions } = revocable(store);
    await sessions.revokeUserCookies(42);
    const record = await new Promise<Record<string, unknown> | null | undefined>((resolve, reject) =>
      store.get('sessionkit:revoked:42', (err, r) => (err ? reject(err) : resolve(r))));
    expect(record).toMatchObject({ epoch: T0, cookie: { originalMaxAge: 7 * 24 * HOUR } });
    expect(new Date((record!.cookie as { expires: string }).expires).getTime()).toBe(T0 + 7 * 24 * HOUR);

  });

  it('a revocation outlives a seal the absolute timeout bounds no longer than it, plus the cache time', async () => {
    const store = new MemoryStore();
    const { sessions } = revocable(store, { absoluteTimeout: 2 * HOUR }, 5000);
    await sessions.revokeUserCookies('ann');
    const record = await new Promise<Record<string, unknown> | null | undefined>((resolve, reject) =>
      store.get('sessionkit:revoked:ann', (err, r) => (err ? reject(err) : resolve(r))));
    expect(record).toMatchObject({ epoch: T0, cookie: { originalMaxAge: 2 * HOUR + 5000 } });
  });

  it('revokes a seal without meta by the time it was sealed', async () => {
    const store = new MemoryStore();
    const { app, sessions, events } = revocable(store);
    const browser = new Browser();
    browser.cookies.set('session', olderSeal({ i: 'older-id', e: T0 - HOUR + 7 * 24 * HOUR, s: { cookie: { originalMaxAge: 7 * 24 * HOUR }, user: 'ann' } }));
    await sessions.revokeUserCookies('ann');
    expect((await browser.get(app)).body.user).toBeNull();
    expect(events.revoked).toEqual([{ sessionId: 'older-id', userId: 'ann' }]);
  });

  it('works with an express-session store', async () => {
    const { app, sessions } = revocable(new expressSession.MemoryStore());
    const browser = new Browser();
    await browser.post(app, '/login', { user: 'ann' });
    expect((await browser.get(app)).body.user).toBe('ann');
    at(T0 + 1);
    await sessions.revokeUserCookies('ann');
    at(T0 + 2);
    expect((await browser.get(app)).body.user).toBeNull();
  });

  it('reads the store on every request of a user with cacheMs 0, never for a session of nobody', async () => {
    const store = new FaultyStore();
    const { app } = revocable(store);
    const browser = new Browser();
    await browser.post(app, '/login', { user: 'ann' });
    expect(store.gets).toBe(0);
    await browser.get(app);
    await browser.get(app);
    expect(store.gets).toBe(2);
    const anonymous = new Browser();
    await anonymous.post(app, '/set', { theme: 'dark' });
    await anonymous.get(app);
    expect(store.gets).toBe(2);
  });

  it('a store error fails the request and lets no cookie through, and leaves the cookie as it was', async () => {
    for (const fail of ['callback', 'throw'] as const) {
      const store = new FaultyStore();
      const { app, sessions } = revocable(store);
      const browser = new Browser();
      await browser.post(app, '/login', { user: 'ann' });
      const before = browser.cookies.get('session');
      store.fail = fail;
      const res = await browser.get(app);
      expect(res.status).toBe(500);
      expect(res.body.error).toMatch(/store get (failed|threw)/);
      expect(browser.last).toEqual([]);
      expect(browser.cookies.get('session')).toBe(before);
      // Revoked while the store was failing to answer: still refused once it answers.
      store.fail = 'no';
      at(T0 + 1);
      await sessions.revokeUserCookies('ann');
      store.fail = fail;
      expect((await browser.get(app)).status).toBe(500);
      store.fail = 'no';
      at(T0 + 2);
      expect((await browser.get(app)).body.user).toBeNull();
      at(T0);
    }
  });

  it('a record under the key that is not a revocation fails the request; so does a userId that throws', async () => {
    const store = new MemoryStore();
    const { app } = revocable(store);
    const browser = new Browser();
    await browser.post(app, '/login', { user: 'ann' });
    await new Promise<void>((resolve) => store.set('sessionkit:revoked:ann', { cookie: { originalMaxAge: HOUR, expires: new Date(T0 + HOUR) } } as never, () => resolve()));
    const res = await browser.get(app);
    expect(res.status).toBe(500);
    expect(res.body.error).toContain('sessionkit:revoked:ann has no epoch');

    const throwing = makeApp({ revocation: { store: new MemoryStore(), userId: () => { throw new Error('no user here'); } } });
    const two = new Browser();
    await two.post(throwing.app, '/login', { user: 'ann' });
    const failed = await two.get(throwing.app);
    expect(failed.status).toBe(500);
    expect(failed.body.error).toBe('no user here');
  });

  it('with cacheMs, another instance sees a revocation once its cached answer is older than that', async () => {
    const store = new FaultyStore();
    const one = revocable(store, {}, 10_000);
    const two = revocable(store, {}, 10_000);
    const browser = new Browser();
    await browser.post(one.app, '/login', { user: 'ann' });
    at(T0 + 1);
    expect((await browser.get(two.app)).body.user).toBe('ann');
    expect(store.gets).toBe(1);
    await one.sessions.revokeUserCookies('ann');
    at(T0 + 2);
    // This instance knows at once; the other trusts its answer for cacheMs.
    expect((await browser.copy().get(one.app)).body.user).toBeNull();
    expect((await browser.get(two.app)).body.user).toBe('ann');
    expect(store.gets).toBe(1);
    at(T0 + 10_001);
    expect((await browser.get(two.app)).body.user).toBeNull();
    expect(store.gets).toBe(2);
  });

  it('revokeUserCookies needs the option and a user ID', async () => {
    const { sessions } = makeApp({});
    await expect(sessions.revokeUserCookies('ann')).rejects.toThrow(/needs the revocation option/);
    const withOption = revocable(new MemoryStore());
    await expect(withOption.sessions.revokeUserCookies('')).rejects.toThrow(TypeError);
    await expect(withOption.sessions.revokeUserCookies(undefined as never)).rejects.toThrow(/needs a user ID/);
  });
});

describe('cookieSession lifecycle options', () => {
  it('refuses bad values with a TypeError naming the option', () => {
    const make = (options: Partial<CookieSessionOptions>) => () => cookieSession({ secret: SECRET, ...options });
    expect(make({ absoluteTimeout: 0 })).toThrow(/absoluteTimeout option must be a positive number/);
    expect(make({ idleTimeout: Number.NaN })).toThrow(/idleTimeout option/);
    expect(make({ devices: 'yes' as never })).toThrow(/devices option/);
    expect(make({ revocation: { userId: () => 'x' } as never })).toThrow(/revocation.store/);
    expect(make({ revocation: { store: new MemoryStore() } as never })).toThrow(/revocation.userId/);
    expect(make({ revocation: { store: new MemoryStore(), userId: () => 'x', cacheMs: -1 } })).toThrow(/revocation.cacheMs/);
  });
});
