/**
 * Hostile and broken input gets a clean answer: a new session, never a crash, a hang or a
 * stack trace in the response; stored keys cannot pollute prototypes; bad options fail at
 * setup, naming the option and what it accepts.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import session, { MemoryStore } from '../../src/index.js';
import { TestStore } from './harness.js';

const require = createRequire(import.meta.url);
const signature = require('cookie-signature');

const secret = 'bad input secret';
const signed = (id: string, key = secret) => `connect.sid=${encodeURIComponent('s:' + signature.sign(id, key))}`;
const minute = 60_000;
const goodRecord = (data: object = {}) =>
  JSON.stringify({ cookie: { originalMaxAge: 10 * minute, expires: new Date(Date.now() + 10 * minute).toISOString(), httpOnly: true, path: '/' }, ...data });

function makeApp(store: any, options: Record<string, unknown> = {}) {
  const app = express();
  app.use(session({ secret: [secret, 'rotated out'], resave: false, saveUninitialized: false, store, ...options }));
  app.get('/view', (req: any, res) => {
    const { cookie: _c, ...data } = req.session;
    res.json({ id: req.sessionID, data, proto: Object.getPrototypeOf(req.session) === session.Session.prototype });
  });
  app.get('/set', (req: any, res) => {
    req.session.n = (req.session.n ?? 0) + 1;
    res.json({ id: req.sessionID, n: req.session.n });
  });
  app.use((err: Error, _req: any, res: any, _next: any) => res.status(500).send(`handled: ${err.message}`));
  return app;
}

const memory = new MemoryStore({ checkPeriod: 0 });
const app = makeApp(memory);
afterAll(() => memory.close());

function expectFreshSession(res: request.Response, notId?: string) {
  expect(res.status).toBe(200);
  expect(res.text).not.toMatch(/\bat .*\(.*:\d+:\d+\)/);
  expect(res.body.data).toEqual({});
  expect(typeof res.body.id).toBe('string');
  if (notId) expect(res.body.id).not.toBe(notId);
}

/** Sends raw bytes as the Cookie header, which an HTTP client library would refuse to send. */
function rawRequest(cookieBytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(Buffer.concat([
          Buffer.from('GET /view HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: '),
          cookieBytes,
          Buffer.from('\r\n\r\n'),
        ]));
      });
      let out = '';
      socket.on('data', (d) => (out += d.toString('latin1')));
      socket.on('end', () => server.close(() => resolve(out)));
      socket.on('error', reject);
    });
  });
}

describe('bad cookies are no session', () => {
  it('rejects no known session for malformed, duplicated and unsigned cookies', async () => {
    await memory.set('known', JSON.parse(goodRecord({ who: 'known' })));
    const headers = [
      'connect.sid',
      'connect.sid=',
      'connect.sid=s:',
      'connect.sid=s%3A',
      'connect.sid=s%3A.',
      'connect.sid=s%3Aknown',
      'connect.sid=s%3Aknown.',
      'connect.sid=s%3Aknown.%ZZ',
      'connect.sid=%E0%A4%A',
      'connect.sid="s%3Aknown.abc"',
      '=;;;==; ;=connect.sid',
      'connect.sid=known',
      `connect.sid=s%3Aknown.${'A'.repeat(43)}`,
      signed('known', 'wrong secret'),
      signed('known').replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
      signed('known') + 'x',
      signed('nobody'),
      `connect.sid=${'x'.repeat(8192)}`,
      `connect.sid=s%3A${'x'.repeat(8192)}.${'y'.repeat(43)}`,
      Array.from({ length: 200 }, (_, i) => `c${i}=${i}`).join('; '),
      signed('__proto__'),
      signed('constructor'),
    ];
    for (const cookie of headers) {
      const res = await request(app).get('/view').set('Cookie', cookie);
      expectFreshSession(res, 'known');
    }
    // The first of duplicated cookies counts, as in express-session.
    const dup = await request(app).get('/view').set('Cookie', `connect.sid=junk; ${signed('known')}`);
    expectFreshSession(dup, 'known');
    const first = await request(app).get('/view').set('Cookie', `${signed('known')}; connect.sid=junk`);
    expect(first.body.data).toEqual({ who: 'known' });
  });

  it('reads a session signed with a rotated-out secret that is still listed', async () => {
    await memory.set('rotated', JSON.parse(goodRecord({ who: 'rotated' })));
    const res = await request(app).get('/view').set('Cookie', signed('rotated', 'rotated out'));
    expect(res.body.data).toEqual({ who: 'rotated' });
  });

  it('answers non-ASCII bytes in the Cookie header', async () => {
    const utf8 = await rawRequest(Buffer.from('connect.sid=s%3Aé😀.ü; other=漢字', 'utf8'));
    expect(utf8).toMatch(/^HTTP\/1\.1 200/);
    expect(utf8).toContain('"data":{}');
    const latin1 = await rawRequest(Buffer.from([0x63, 0x3d, 0xff, 0xfe, 0x3b, 0x20, 0x80]));
    expect(latin1).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe('bad stored records are no session', () => {
  const cases: Array<[string, string]> = [
    ['not JSON', '{"cookie": {'],
    ['JSON null', 'null'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"text"'],
    ['no cookie', '{"user":"x"}'],
    ['a cookie that is not an object', '{"cookie":"yes","user":"x"}'],
    ['a null cookie', '{"cookie":null,"user":"x"}'],
    ['a cookie with a bad maxAge', '{"cookie":{"maxAge":"soon","originalMaxAge":null},"user":"x"}'],
    ['a cookie with a bad originalMaxAge', '{"cookie":{"originalMaxAge":"1000","expires":null},"user":"x"}'],
    ['a cookie with a bad expires', '{"cookie":{"originalMaxAge":null,"expires":"someday"},"user":"x"}'],
  ];
  for (const [label, text] of cases) {
    it(`in sessionkit's MemoryStore: ${label}`, async () => {
      memory.sessions.set('broken', text);
      const res = await request(app).get('/view').set('Cookie', signed('broken'));
      expectFreshSession(res, 'broken');
    });
    it(`from a third-party store: ${label}`, async () => {
      const store = new TestStore();
      // A store that hands back what it holds, parsed or not.
      store.get = (_sid: string, cb: any) => {
        let value: unknown = text;
        try {
          value = JSON.parse(text);
        } catch {
          // handed back as text
        }
        setImmediate(cb, null, value);
      };
      const res = await request(makeApp(store)).get('/view').set('Cookie', signed('broken'));
      expectFreshSession(res, 'broken');
    });
  }

  it('a __proto__ key inside the stored cookie changes nothing', async () => {
    const record = JSON.parse(goodRecord({ who: 'cookie-proto' }));
    const text = JSON.stringify(record).replace('"cookie":{', '"cookie":{"__proto__":{"serialize":1,"polluted":"yes"},"constructor":{"x":1},');
    memory.sessions.set('cookie-proto', text);
    for (const path of ['/view', '/set', '/view']) {
      const res = await request(app).get(path).set('Cookie', signed('cookie-proto'));
      expect(res.status).toBe(200);
      expect(res.body.id).toBe('cookie-proto');
    }
    expect(({} as any).polluted).toBeUndefined();
    expect((session.Cookie.prototype as any).polluted).toBeUndefined();
    const cookie = new session.Cookie(JSON.parse('{"__proto__":{"serialize":1},"maxAge":1000}'));
    expect(Object.getPrototypeOf(cookie)).toBe(session.Cookie.prototype);
    expect(cookie.serialize('a', 'b')).toMatch(/^a=b; Path=\/; Expires=/);
  });

  it('__proto__, constructor and prototype keys in stored data pollute nothing', async () => {
    const text = goodRecord().slice(0, -1) +
      ',"__proto__":{"polluted":"yes","cookie":{"secure":true}},"constructor":{"prototype":{"polluted":"yes"}},' +
      '"prototype":{"polluted":"yes"},"save":"not a function","id":"forged","ok":1}';
    memory.sessions.set('evil', text);
    const res = await request(app).get('/view').set('Cookie', signed('evil'));
    expect(res.status).toBe(200);
    expect(res.body.id).toBe('evil');
    expect(res.body.proto).toBe(true);
    expect(res.body.data.ok).toBe(1);
    expect(({} as any).polluted).toBeUndefined();
    expect((Object.prototype as any).polluted).toBeUndefined();
    expect((session.Session.prototype as any).polluted).toBeUndefined();
    // A change and save keep the stored record usable, and still pollute nothing.
    const saved = await request(app).get('/set').set('Cookie', signed('evil'));
    expect(saved.body).toEqual({ id: 'evil', n: 1 });
    const again = await request(app).get('/view').set('Cookie', signed('evil'));
    expect(again.body.data.n).toBe(1);
    expect(({} as any).polluted).toBeUndefined();
  });
});

describe('invalid options fail at setup, naming the option and what it accepts', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['secret number', { secret: 42 }, /secret option must be a non-empty string, a Buffer, or an array/],
    ['secret empty array', { secret: [] }, /secret option array must contain one or more/],
    ['secret array with an object', { secret: ['ok', {}] }, /secret option must be/],
    ['name with a space', { name: 'my sid' }, /name option must be a non-empty cookie name/],
    ['genid string', { genid: 'uuid' }, /genid option must be a function/],
    ['unset', { unset: 'sometimes' }, /unset option must be "destroy" or "keep"/],
    ['resave string', { resave: 'no' }, /resave option must be true or false; got "no"/],
    ['saveUninitialized number', { saveUninitialized: 1 }, /saveUninitialized option must be true or false/],
    ['rolling string', { rolling: 'yes' }, /rolling option must be true or false/],
    ['proxy string', { proxy: 'auto' }, /proxy option must be true or false/],
    ['store without methods', { store: {} }, /store option must be a session store with get, set, destroy and on methods/],
    ['touchAfter negative', { touchAfter: -1 }, /touchAfter option must be a number of seconds, 0 or more; got -1/],
    ['touchAfter string', { touchAfter: '1h' }, /touchAfter option must be a number of seconds/],
    ['cookie string', { cookie: 'secure' }, /cookie option must be an object or a function of the request/],
    ['cookie.maxAge string', { cookie: { maxAge: '1d' } }, /cookie\.maxAge option must be a number of milliseconds or null; got "1d"/],
    ['cookie.expires string', { cookie: { expires: 'tomorrow' } }, /cookie\.expires option must be a valid Date/],
    ['cookie.secure string', { cookie: { secure: 'yes' } }, /cookie\.secure option must be true, false or 'auto'/],
    ['cookie.sameSite', { cookie: { sameSite: 'sideways' } }, /cookie\.sameSite option must be true, false, 'lax', 'strict', 'none' or 'auto'; got "sideways"/],
    ['cookie.priority', { cookie: { priority: 'urgent' } }, /cookie\.priority option must be 'low', 'medium' or 'high'/],
    ['cookie.httpOnly', { cookie: { httpOnly: 'true' } }, /cookie\.httpOnly option must be true or false/],
    ['cookie.partitioned', { cookie: { partitioned: 1 } }, /cookie\.partitioned option must be true or false/],
    ['cookie.path', { cookie: { path: 5 } }, /cookie\.path option must be a string/],
    ['cookie.domain', { cookie: { domain: true } }, /cookie\.domain option must be a string/],
  ];
  for (const [label, options, message] of cases) {
    it(label, () => {
      expect(() => session({ resave: false, saveUninitialized: false, secret, ...options } as any)).toThrow(message);
    });
  }

  it('no options at all fail only for want of a secret, as in express-session', async () => {
    for (const options of [undefined, null]) {
      const app = express();
      app.use(session(options as any));
      app.use((err: Error, _req: any, res: any, _next: any) => res.status(500).send(err.message));
      await request(app).get('/').expect(500, 'secret option required for sessions');
    }
  });

  it('a falsy store means a new MemoryStore, as in express-session', async () => {
    const app = express();
    app.use(session({ secret, resave: false, saveUninitialized: false, store: null as any }));
    app.get('/', (req: any, res) => res.json({ memory: req.sessionStore instanceof MemoryStore }));
    await request(app).get('/').expect(200, { memory: true });
  });

  it('MemoryStore options', () => {
    expect(() => new MemoryStore({ max: 0 })).toThrow(/max option must be a positive integer; got 0/);
    expect(() => new MemoryStore({ max: 1.5 })).toThrow(/max option must be a positive integer/);
    expect(() => new MemoryStore({ checkPeriod: -5 })).toThrow(/checkPeriod option must be a number of milliseconds, 0 or more/);
  });
});
