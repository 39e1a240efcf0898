import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { parse as parseCookieHeader } from 'cookie';
import express from 'express';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cookieSession, SessionTooLargeError, type CookieSessionOptions } from '../../src/cookie-session/index.js';

const require = createRequire(import.meta.url);
const express4 = require('express4');

const SECRET = randomBytes(32).toString('base64');
const OLD_SECRET = randomBytes(32).toString('base64');

type Options = Partial<CookieSessionOptions>;

/** The session's data as the app sees it, without its cookie. */
function dataOf(sess: any): Record<string, unknown> | null {
  if (!sess) return null;
  const { cookie: _cookie, ...data } = sess;
  return data;
}

function fail(res: any, err: any): void {
  res.status(500).json({ error: err.message, name: err.name, code: err.code, size: err.size });
}

/** An Express app with the middleware and one route per session operation, each in Promise and callback form. */
function makeApp(options: Options = {}, make: () => any = express) {
  const app = make();
  app.use(express.json({ limit: '1mb' }));
  app.use(cookieSession({ secret: SECRET, ...options }));
  app.get('/', (req: any, res: any) => res.json({ id: req.sessionID, data: dataOf(req.session) }));
  app.get('/cookie-names', (req: any, res: any) => res.json(Object.keys(parseCookieHeader(req.headers.cookie ?? ''))));
  app.post('/set', (req: any, res: any) => {
    Object.assign(req.session, req.body);
    res.json({ id: req.sessionID });
  });
  app.post('/unset/:key', (req: any, res: any) => {
    delete req.session[req.params.key];
    res.json({ id: req.sessionID });
  });
  app.post('/nested', (req: any, res: any) => {
    req.session.deep.inner.count += 1;
    res.json({ id: req.sessionID });
  });
  app.post('/null', (req: any, res: any) => {
    req.session = null;
    res.end();
  });
  app.post('/replace', (req: any, res: any) => {
    req.session = { ...req.body };
    res.end();
  });
  app.post('/stream', (req: any, res: any) => {
    Object.assign(req.session, req.body);
    res.write('part one, ');
    res.end('part two');
  });
  app.post('/save/promise', async (req: any, res: any) => {
    Object.assign(req.session, req.body);
    try {
      await req.session.save();
      res.json({ saved: true });
    } catch (err) {
      fail(res, err);
    }
  });
  app.post('/save/callback', (req: any, res: any) => {
    Object.assign(req.session, req.body);
    const returned = req.session.save((err: any) => (err ? fail(res, err) : res.json({ saved: true, chained: returned === req.session })));
  });
  app.post('/regenerate/promise', async (req: any, res: any) => {
    const before = req.sessionID;
    await req.session.regenerate();
    res.json({ before, after: req.sessionID, data: dataOf(req.session) });
  });
  app.post('/regenerate/callback', (req: any, res: any) => {
    const before = req.sessionID;
    req.session.regenerate((err: any) => (err ? fail(res, err) : res.json({ before, after: req.sessionID, data: dataOf(req.session) })));
  });
  app.post('/destroy/promise', async (req: any, res: any) => {
    await req.session.destroy();
    res.json({ session: req.session ?? null });
  });
  app.post('/destroy/callback', (req: any, res: any) => {
    req.session.destroy((err: any) => (err ? fail(res, err) : res.json({ session: req.session ?? null })));
  });
  app.post('/reload/promise', async (req: any, res: any) => {
    req.session.n = 'changed';
    try {
      await req.session.reload();
      res.json({ data: dataOf(req.session) });
    } catch (err) {
      fail(res, err);
    }
  });
  app.post('/reload/callback', (req: any, res: any) => {
    req.session.n = 'changed';
    req.session.reload((err: any) => (err ? fail(res, err) : res.json({ data: dataOf(req.session) })));
  });
  app.use((err: any, _req: any, res: any, _next: any) => fail(res, err));
  return app;
}

function setCookies(res: request.Response): string[] {
  const header = res.headers['set-cookie'] as unknown;
  return Array.isArray(header) ? header : header ? [String(header)] : [];
}

/** The cookies a response sets (not the ones it clears), as name -> value. */
function liveCookies(res: request.Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const header of setCookies(res)) {
    if (header.includes('Expires=Thu, 01 Jan 1970')) continue;
    const pair = header.split(';')[0]!;
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function clearedNames(res: request.Response): string[] {
  return setCookies(res)
    .filter((header) => header.includes('Expires=Thu, 01 Jan 1970'))
    .map((header) => header.slice(0, header.indexOf('=')));
}

function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies).map(([name, value]) => `${name}=${value}`).join('; ');
}

/** Starts a session holding `data` and returns the cookies that carry it. */
async function sessionCookies(app: any, data: object): Promise<Record<string, string>> {
  const res = await request(app).post('/set').send(data).expect(200);
  const cookies = liveCookies(res);
  expect(Object.keys(cookies).length).toBeGreaterThan(0);
  return cookies;
}

async function readWith(app: any, cookie: string) {
  return (await request(app).get('/').set('Cookie', cookie).expect(200)).body as { id: string; data: Record<string, unknown> };
}

/** Moves the clock the middleware reads (Date only: sockets and timers keep real time). */
function setClock(iso: string): number {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date(iso));
  return Date.now();
}

describe('cookieSession: sealing', () => {
  it('keeps the session across requests in the cookie alone', async () => {
    const agent = request.agent(makeApp());
    const { body: set } = await agent.post('/set').send({ user: { id: 'u1', roles: ['admin'] }, n: 1 }).expect(200);
    const { body } = await agent.get('/').expect(200);
    expect(body).toEqual({ id: set.id, data: { user: { id: 'u1', roles: ['admin'] }, n: 1 } });
  });

  it('works the same under Express 4', async () => {
    const agent = request.agent(makeApp({}, express4));
    await agent.post('/set').send({ n: 4 }).expect(200);
    expect((await agent.get('/').expect(200)).body.data).toEqual({ n: 4 });
  });

  it('shows no plaintext of the data, the keys or the session ID in any Set-Cookie', async () => {
    const res = await request(makeApp()).post('/set').send({ secretNote: 'plaintext-marker-42', email: 'alice@example.com' }).expect(200);
    const headers = setCookies(res);
    expect(headers.length).toBe(1);
    for (const header of headers) {
      const value = header.split(';')[0]!.split('=')[1]!;
      const decodings = [header, Buffer.from(value.replace(/^\d+\./, ''), 'base64url').toString('latin1')];
      for (const text of decodings) {
        for (const plain of ['plaintext-marker-42', 'secretNote', 'alice@example.com', 'email', res.body.id]) {
          expect(text).not.toContain(plain);
        }
      }
    }
  });

  it('seals with a random IV: the same session sealed twice gives different cookies', async () => {
    const app = makeApp();
    const a = liveCookies(await request(app).post('/set').send({ same: 'data' }));
    const b = liveCookies(await request(app).post('/set').send({ same: 'data' }));
    expect(a.session).toBeDefined();
    expect(a.session).not.toBe(b.session);
  });

  it('opens nothing when any one character of the cookie changes', async () => {
    const app = makeApp();
    const { session: value } = await sessionCookies(app, { role: 'user' });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < value!.length; i++) {
      const c = value![i]!;
      const flipped = c === '.' ? '_' : alphabet[(alphabet.indexOf(c) + 1) % alphabet.length]!;
      const forged = value!.slice(0, i) + flipped + value!.slice(i + 1);
      const { data } = await readWith(app, `session=${forged}`);
      expect(data, `character ${i} changed`).toEqual({});
    }
  });

  it('does not open a cookie sealed with another secret, or moved to another cookie name', async () => {
    const cookies = await sessionCookies(makeApp({ secret: OLD_SECRET }), { role: 'admin' });
    expect((await readWith(makeApp(), cookieHeader(cookies))).data).toEqual({});

    const renamed = makeApp({ name: 'other' });
    expect((await readWith(renamed, `other=${cookies.session}`)).data).toEqual({});
  });

  it('treats garbage, truncated and oversized cookies as no session, without leaking errors', async () => {
    const app = makeApp();
    const { session: good } = await sessionCookies(app, { role: 'admin' });
    const inputs = [
      'session=',
      'session=1.',
      'session=%E0%A4%A',
      'session=garbage',
      'session=0.abc',
      'session=2.abc',
      'session=99.abc',
      `session=${good!.slice(0, -6)}`,
      `session=${good}AAAA`,
      `session=1.${'A'.repeat(9000)}`,
      `session=3.${'A'.repeat(3000)}; session.1=${'B'.repeat(3000)}; session.2=${'C'.repeat(3000)}`,
      `session.1=${good}`,
      `session=1.${Buffer.from('{"i":"x","e":99999999999999,"s":{"cookie":{}}}').toString('base64url')}`,
      'session="quoted"; other=1',
    ];
    for (const cookie of inputs) {
      const res = await request(app).get('/').set('Cookie', cookie);
      expect(res.status, cookie.slice(0, 40)).toBe(200);
      expect(res.body.data).toEqual({});
      expect(res.text).not.toMatch(/\bat \S+ \(|Error/);
    }
  });

  it('clears a cookie that does not open, once', async () => {
    const app = makeApp();
    const res = await request(app).get('/').set('Cookie', 'session=garbage; session.1=more').expect(200);
    expect(clearedNames(res).sort()).toEqual(['session', 'session.1']);
    expect(liveCookies(res)).toEqual({});
  });
});

describe('cookieSession: secret rotation', () => {
  it('opens cookies sealed with an older secret and reseals them with the first on the next save', async () => {
    const before = makeApp({ secret: OLD_SECRET });
    const rotated = makeApp({ secret: [SECRET, OLD_SECRET] });
    const after = makeApp({ secret: SECRET });

    const oldCookies = await sessionCookies(before, { user: 'ann' });
    // Opened with the old secret; nothing changed, so nothing is written.
    const read = await request(rotated).get('/').set('Cookie', cookieHeader(oldCookies)).expect(200);
    expect(read.body.data).toEqual({ user: 'ann' });
    expect(setCookies(read)).toEqual([]);

    const saved = await request(rotated).post('/set').set('Cookie', cookieHeader(oldCookies)).send({ n: 2 }).expect(200);
    const newCookies = liveCookies(saved);
    expect(newCookies.session).toBeDefined();
    expect((await readWith(after, cookieHeader(newCookies))).data).toEqual({ user: 'ann', n: 2 });
    expect((await readWith(after, cookieHeader(oldCookies))).data).toEqual({});
  });

  it('refuses short secrets and a missing secret at setup', () => {
    expect(() => cookieSession({ secret: 'too short' })).toThrow(/at least 32 characters/);
    expect(() => cookieSession({ secret: [SECRET, 'short'] })).toThrow(/at least 32 characters/);
    expect(() => cookieSession({} as CookieSessionOptions)).toThrow(/requires a secret/);
    expect(() => cookieSession({ secret: SECRET, maxSize: -1 })).toThrow(/maxSize/);
    expect(() => cookieSession({ secret: SECRET, ttl: 0 })).toThrow(/ttl/);
    expect(() => cookieSession({ secret: SECRET, cookie: { sameSite: 'sideways' as never } })).toThrow(/cookie.sameSite/);
  });
});

describe('cookieSession: expiry enforced by the server', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refuses a replayed cookie after maxAge, though the client keeps sending it', async () => {
    const app = makeApp({ cookie: { maxAge: 60_000 } });
    const start = setClock('2030-03-01T10:00:00Z');
    const header = cookieHeader(await sessionCookies(app, { user: 'ann' }));
    vi.setSystemTime(start + 59_000);
    expect((await readWith(app, header)).data).toEqual({ user: 'ann' });
    vi.setSystemTime(start + 60_001);
    expect((await readWith(app, header)).data).toEqual({});
  });

  it('without maxAge, sends a browser-session cookie whose seal still expires after ttl', async () => {
    const app = makeApp({ ttl: 60_000 });
    const start = setClock('2030-03-01T10:00:00Z');
    const res = await request(app).post('/set').send({ user: 'ann' }).expect(200);
    expect(setCookies(res)[0]).not.toMatch(/Expires=|Max-Age=/);
    const header = cookieHeader(liveCookies(res));
    vi.setSystemTime(start + 59_000);
    expect((await readWith(app, header)).data).toEqual({ user: 'ann' });
    vi.setSystemTime(start + 60_001);
    expect((await readWith(app, header)).data).toEqual({});
  });

  it('measures maxAge from the last write: a change extends the session, a read does not', async () => {
    const app = makeApp({ cookie: { maxAge: 60_000 } });
    const start = setClock('2030-03-01T10:00:00Z');
    const first = cookieHeader(await sessionCookies(app, { n: 1 }));
    vi.setSystemTime(start + 30_000);
    const read = await request(app).get('/').set('Cookie', first).expect(200);
    expect(setCookies(read)).toEqual([]);
    const changed = await request(app).post('/set').set('Cookie', first).send({ n: 2 }).expect(200);
    const second = cookieHeader(liveCookies(changed));
    vi.setSystemTime(start + 80_000);
    expect((await readWith(app, first)).data).toEqual({});
    expect((await readWith(app, second)).data).toEqual({ n: 2 });
  });

  it('with rolling, reseals on every response, so an active session keeps going', async () => {
    const agent = request.agent(makeApp({ rolling: true, cookie: { maxAge: 60_000 } }));
    await agent.post('/set').send({ user: 'ann' }).expect(200);
    const res = await agent.get('/').expect(200);
    expect(Object.keys(liveCookies(res))).toEqual(['session']);
    expect(setCookies(res)[0]).toMatch(/Expires=/);
    expect(res.body.data).toEqual({ user: 'ann' });
  });
});

describe('cookieSession: a key per day', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens seals made on earlier days, and none dated days ahead', async () => {
    const app = makeApp({ cookie: { maxAge: 30 * 24 * 3600 * 1000 } });
    setClock('2030-01-10T23:59:59Z');
    const dayOne = cookieHeader(await sessionCookies(app, { sealed: 'day one' }));
    vi.setSystemTime(new Date('2030-01-11T00:00:01Z'));
    const dayTwo = cookieHeader(await sessionCookies(app, { sealed: 'day two' }));
    expect(Buffer.from(dayOne.split('.')[1]!, 'base64url').readUInt16BE(1) + 1)
      .toBe(Buffer.from(dayTwo.split('.')[1]!, 'base64url').readUInt16BE(1));

    vi.setSystemTime(new Date('2030-01-20T12:00:00Z'));
    expect((await readWith(app, dayOne)).data).toEqual({ sealed: 'day one' });
    expect((await readWith(app, dayTwo)).data).toEqual({ sealed: 'day two' });

    // Seen from two days earlier, day two's seal is dated ahead: refused without deriving its key.
    vi.setSystemTime(new Date('2030-01-09T00:00:00Z'));
    expect((await readWith(app, dayTwo)).data).toEqual({});
  });
});

describe('cookieSession: writes only what changed', () => {
  it('sends no cookie for an unchanged session, and none for a new one nobody wrote to', async () => {
    const agent = request.agent(makeApp());
    expect(setCookies(await agent.get('/').expect(200))).toEqual([]);
    await agent.post('/set').send({ deep: { inner: { count: 1 } } }).expect(200);
    expect(setCookies(await agent.get('/').expect(200))).toEqual([]);
    // A change deep inside an object counts.
    expect(Object.keys(liveCookies(await agent.post('/nested').expect(200)))).toEqual(['session']);
    expect((await agent.get('/').expect(200)).body.data).toEqual({ deep: { inner: { count: 2 } } });
  });

  it('with saveUninitialized, sends a cookie for a new session', async () => {
    const res = await request(makeApp({ saveUninitialized: true })).get('/').expect(200);
    expect(Object.keys(liveCookies(res))).toEqual(['session']);
  });

  it("writes a change of the session's cookie options, such as a longer maxAge", async () => {
    const app = express();
    app.use(cookieSession({ secret: SECRET, cookie: { maxAge: 60_000 } }));
    app.post('/remember', (req: any, res: any) => {
      req.session.cookie.maxAge = 30 * 24 * 3600 * 1000;
      res.end();
    });
    app.get('/', (req: any, res: any) => res.json({ maxAge: req.session.cookie.originalMaxAge, data: dataOf(req.session) }));
    const agent = request.agent(app);
    const res = await agent.post('/remember').expect(200);
    expect(Object.keys(liveCookies(res))).toEqual(['session']);
    expect((await agent.get('/').expect(200)).body.maxAge).toBeGreaterThan(29 * 24 * 3600 * 1000);
  });

  it('sets Secure and SameSite=None for secure: auto behind a trusted proxy', async () => {
    const app = makeApp({ saveUninitialized: true, proxy: true, cookie: { secure: 'auto', sameSite: 'auto' } });
    const https = await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(200);
    expect(setCookies(https)[0]).toMatch(/; Secure/);
    expect(setCookies(https)[0]).toMatch(/SameSite=None/);
    const http = await request(app).get('/').expect(200);
    expect(setCookies(http)[0]).not.toMatch(/Secure/);
    expect(setCookies(http)[0]).toMatch(/SameSite=Lax/);
  });

  it('takes cookie options from a function of the request, and leaves requests outside the path alone', async () => {
    const app = express();
    app.use(cookieSession({
      secret: SECRET,
      cookie: (req: any) => ({ path: '/app', maxAge: req.headers['x-remember'] ? 86_400_000 : 60_000 }),
    }));
    app.use((req: any, res: any) => {
      if (req.session) req.session.seen = true;
      res.json({ hasSession: Boolean(req.session) });
    });
    const remembered = await request(app).get('/app/x').set('X-Remember', '1').expect(200);
    expect(remembered.body).toEqual({ hasSession: true });
    expect(setCookies(remembered)[0]).toMatch(/; Path=\/app;/);
    const expires = Date.parse(/Expires=([^;]+)/.exec(setCookies(remembered)[0]!)![1]!);
    expect(expires - Date.now()).toBeGreaterThan(3_600_000);
    const outside = await request(app).get('/other').expect(200);
    expect(outside.body).toEqual({ hasSession: false });
    expect(setCookies(outside)).toEqual([]);
  });

  it('saves a change made before a streamed response sent its headers', async () => {
    const agent = request.agent(makeApp());
    const res = await agent.post('/stream').send({ streamed: true }).expect(200);
    expect(res.text).toBe('part one, part two');
    expect((await agent.get('/').expect(200)).body.data).toEqual({ streamed: true });
  });

  it('takes an object assigned to req.session as the new data, as cookie-session apps do', async () => {
    const agent = request.agent(makeApp({ cookie: { maxAge: 60_000 } }));
    const { body: set } = await agent.post('/set').send({ user: 'ann', n: 1 }).expect(200);
    const res = await agent.post('/replace').send({ user: 'bob' }).expect(200);
    expect(setCookies(res)[0]).toMatch(/Expires=/);
    expect((await agent.get('/').expect(200)).body).toEqual({ id: set.id, data: { user: 'bob' } });
  });

  it('reports data that cannot be sealed as an error of the request, not a crash', async () => {
    const app = express();
    app.use(cookieSession({ secret: SECRET }));
    app.get('/', (req: any, res: any) => {
      req.session.big = BigInt(1);
      res.send('unreachable');
    });
    app.use((err: any, _req: any, res: any, _next: any) => res.status(500).send(`handled: ${err.name}`));
    const res = await request(app).get('/').expect(500);
    expect(res.text).toBe('handled: TypeError');
    expect(setCookies(res)).toEqual([]);
  });

  it('clears the cookies when the app sets req.session to null', async () => {
    const agent = request.agent(makeApp());
    await agent.post('/set').send({ user: 'ann' }).expect(200);
    const res = await agent.post('/null').expect(200);
    expect(clearedNames(res)).toEqual(['session']);
    expect((await agent.get('/cookie-names').expect(200)).body).toEqual([]);
  });
});

describe('cookieSession: chunking', () => {
  it('splits a 6 kB session of random data over cookies of at most 4096 bytes and restores it exactly', async () => {
    const blob = randomBytes(4608).toString('base64') + 'ünïcödé';
    const agent = request.agent(makeApp({ maxSize: 12 * 1024, cookie: { maxAge: 3_600_000, sameSite: 'strict', path: '/' } }));
    const res = await agent.post('/set').send({ blob, n: 1 }).expect(200);
    const headers = setCookies(res);
    expect(headers.length).toBeGreaterThanOrEqual(2);
    for (const header of headers) {
      expect(Buffer.byteLength(header)).toBeLessThanOrEqual(4096);
      expect(header).toMatch(/SameSite=Strict/);
    }
    expect(Object.keys(liveCookies(res))).toEqual(['session', 'session.1', 'session.2'].slice(0, headers.length));
    const { body } = await agent.get('/').expect(200);
    expect(body.data).toEqual({ blob, n: 1 });
  });

  it('does not open a session with a chunk missing', async () => {
    const app = makeApp({ maxSize: 16 * 1024 });
    const cookies = await sessionCookies(app, { blob: randomBytes(6000).toString('base64') });
    expect(Object.keys(cookies).length).toBeGreaterThanOrEqual(3);
    expect((await readWith(app, cookieHeader(cookies))).data).not.toEqual({});
    const { 'session.1': _dropped, ...rest } = cookies;
    expect((await readWith(app, cookieHeader(rest))).data).toEqual({});
  });

  it('clears chunks left over when the session shrinks', async () => {
    const agent = request.agent(makeApp({ maxSize: 16 * 1024 }));
    await agent.post('/set').send({ blob: randomBytes(6000).toString('base64'), small: 1 }).expect(200);
    const names = (await agent.get('/cookie-names').expect(200)).body as string[];
    expect(names.length).toBeGreaterThanOrEqual(3);

    const res = await agent.post('/unset/blob').expect(200);
    expect(Object.keys(liveCookies(res))).toEqual(['session']);
    expect(clearedNames(res).sort()).toEqual(names.filter((n) => n !== 'session').sort());
    expect((await agent.get('/cookie-names').expect(200)).body).toEqual(['session']);
    expect((await agent.get('/').expect(200)).body.data).toEqual({ small: 1 });
  });

  it('clears every chunk on destroy', async () => {
    const agent = request.agent(makeApp({ maxSize: 16 * 1024 }));
    await agent.post('/set').send({ blob: randomBytes(6000).toString('base64') }).expect(200);
    const names = (await agent.get('/cookie-names').expect(200)).body as string[];
    const res = await agent.post('/destroy/promise').expect(200);
    expect(res.body).toEqual({ session: null });
    expect(clearedNames(res).sort()).toEqual(names.sort());
    expect(liveCookies(res)).toEqual({});
    expect((await agent.get('/cookie-names').expect(200)).body).toEqual([]);
    expect((await agent.get('/').expect(200)).body.data).toEqual({});
  });

  it('fails a save above maxSize with an error naming the size, and keeps the previous session', async () => {
    const agent = request.agent(makeApp({ maxSize: 2000 }));
    await agent.post('/set').send({ user: 'ann' }).expect(200);

    const res = await agent.post('/set').send({ blob: randomBytes(3000).toString('base64') }).expect(500);
    expect(res.body.code).toBe('ESESSIONTOOLARGE');
    expect(res.body.error).toMatch(/needs \d+ bytes of cookies, over maxSize \(2000 bytes\)/);
    expect(res.body.size).toBeGreaterThan(2000);
    expect(setCookies(res)).toEqual([]);

    const saved = await agent.post('/save/promise').send({ blob: randomBytes(3000).toString('base64') }).expect(500);
    expect(saved.body.name).toBe('SessionTooLargeError');
    expect(new SessionTooLargeError(saved.body.size, 2000).message).toBe(saved.body.error);

    expect((await agent.get('/').expect(200)).body.data).toEqual({ user: 'ann' });
  });
});

describe('cookieSession: session methods, as Promises and with callbacks', () => {
  for (const mode of ['promise', 'callback']) {
    it(`save (${mode}) writes the cookie before the response`, async () => {
      const agent = request.agent(makeApp());
      const res = await agent.post(`/save/${mode}`).send({ saved: mode }).expect(200);
      expect(res.body.saved).toBe(true);
      if (mode === 'callback') expect(res.body.chained).toBe(true);
      // Written once, by save(), though the end of the request sees the session too.
      expect(Object.keys(liveCookies(res))).toEqual(['session']);
      expect(setCookies(res).length).toBe(1);
      expect((await agent.get('/').expect(200)).body.data).toEqual({ saved: mode });
    });

    it(`regenerate (${mode}) gives a new ID and empty data`, async () => {
      const agent = request.agent(makeApp());
      const { body: set } = await agent.post('/set').send({ user: 'ann' }).expect(200);
      const { body } = await agent.post(`/regenerate/${mode}`).expect(200);
      expect(body.before).toBe(set.id);
      expect(body.after).not.toBe(set.id);
      expect(body.data).toEqual({});
      expect(await agent.get('/').expect(200).then((r) => r.body)).toEqual({ id: body.after, data: {} });
    });

    it(`destroy (${mode}) ends the session`, async () => {
      const agent = request.agent(makeApp());
      await agent.post('/set').send({ user: 'ann' }).expect(200);
      const res = await agent.post(`/destroy/${mode}`).expect(200);
      expect(clearedNames(res)).toEqual(['session']);
      expect((await agent.get('/').expect(200)).body.data).toEqual({});
    });

    it(`reload (${mode}) returns to the saved session and writes nothing`, async () => {
      const agent = request.agent(makeApp());
      await agent.post('/set').send({ n: 'saved' }).expect(200);
      const res = await agent.post(`/reload/${mode}`).expect(200);
      expect(res.body.data).toEqual({ n: 'saved' });
      expect(setCookies(res)).toEqual([]);
    });
  }

  it('reload of a session never saved fails as in session()', async () => {
    const res = await request(makeApp()).post('/reload/promise').expect(500);
    expect(res.body.error).toBe('failed to load session');
  });

  it('reload after save returns to what was saved in this request', async () => {
    const app = express();
    app.use(cookieSession({ secret: SECRET }));
    app.get('/', async (req: any, res: any) => {
      req.session.n = 1;
      await req.session.save();
      req.session.n = 2;
      await req.session.reload();
      res.json(dataOf(req.session));
    });
    expect((await request(app).get('/').expect(200)).body).toEqual({ n: 1 });
  });

  it('touch returns the session and, alone, writes nothing', async () => {
    const app = express();
    app.use(cookieSession({ secret: SECRET, cookie: { maxAge: 60_000 } }));
    app.post('/set', (req: any, res: any) => {
      req.session.n = 1;
      res.end();
    });
    app.get('/', (req: any, res: any) => {
      const same = req.session.touch().touch().touch() === req.session;
      res.json({ same });
    });
    const agent = request.agent(app);
    await agent.post('/set').expect(200);
    for (let i = 0; i < 20; i++) {
      const res = await agent.get('/').expect(200);
      expect(res.body).toEqual({ same: true });
      expect(setCookies(res)).toEqual([]);
    }
  });
});
