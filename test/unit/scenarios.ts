/**
 * The differential scenarios: every option, method and edge case of express-session 1.19,
 * each a few requests against a tiny app. Shared by the Express 5, Express 4, Connect and
 * node:http runs.
 */
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import { NOW, view, type Route, type Scenario, type Step } from './harness.js';

const require = createRequire(import.meta.url);
const signature = require('cookie-signature');
const cookieParser = require('cookie-parser');

const minute = 60_000;

/** A Cookie header carrying `id` signed with `secret`, as express-session writes it. */
export function signedCookie(id: string, secret = 'keyboard cat', name = 'connect.sid'): string {
  return `${name}=${encodeURIComponent('s:' + signature.sign(id, secret))}`;
}

/** A stored record as express-session writes it. */
export function rec(data: Record<string, unknown> = {}, maxAge: number | null = null, extra: Record<string, unknown> = {}) {
  return {
    cookie: {
      originalMaxAge: maxAge,
      expires: maxAge === null ? null : new Date(NOW + maxAge).toISOString(),
      httpOnly: true,
      path: '/',
      ...extra,
    },
    ...data,
  };
}

const get = (path: string, more: Partial<Step> = {}): Step => ({ path, ...more });

const sent = (r: { setCookie: string[] }) => r.setCookie.length > 0;

/** Routes that exercise the session methods, callback style (as express-session code is written). */
const methodRoutes: Record<string, Route> = {
  '/regenerate': (req, res, ctx) => {
    const before = req.sessionID;
    req.session.regenerate((err: any) => {
      ctx.log.push(['regenerated', err ? err.message : null, req.sessionID !== before]);
      if (req.session) req.session.after = 'regen';
      res.end(view(req));
    });
  },
  '/destroy': (req, res, ctx) => {
    req.session.destroy((err: any) => {
      ctx.log.push(['destroyed', err ? err.message : null, req.session === undefined]);
      res.end(view(req));
    });
  },
  '/reload': (req, res, ctx) => {
    req.session.local = 'lost on reload';
    const reload = () => req.session.reload((err: any) => {
      ctx.log.push(['reloaded', err ? err.message : null]);
      res.end(view(req));
    });
    // Another request changes the stored session meanwhile.
    ctx.store.get(req.sessionID, (_err: unknown, stored: any) => {
      if (!stored) return reload();
      ctx.store.set(req.sessionID, { ...stored, fromStore: 'changed elsewhere' }, reload);
    });
  },
  '/save': (req, res, ctx) => {
    req.session.saved = 'yes';
    req.session.save((err: any) => {
      ctx.log.push(['saved', err ? err.message : null]);
      res.end(view(req));
    });
  },
  '/save-then-change': (req, res) => {
    req.session.first = 1;
    req.session.save(() => {
      req.session.second = 2;
      res.end(view(req));
    });
  },
  '/save-no-callback': (req, res) => {
    req.session.fire = 'and forget';
    req.session.save();
    res.end(view(req));
  },
  '/touch': (req, res) => {
    req.session.touch();
    res.end(view(req));
  },
  '/reset-max-age': (req, res) => {
    req.session.resetMaxAge();
    res.end(view(req));
  },
  '/max-age': (req, res) => {
    req.session.cookie.maxAge = 5 * minute;
    res.end(view(req));
  },
  '/expires-null': (req, res) => {
    req.session.cookie.expires = null;
    req.session.data = 'x';
    res.end(view(req));
  },
  '/expires-date': (req, res) => {
    req.session.cookie.expires = new Date(NOW + 3 * minute);
    res.end(view(req));
  },
  '/unset-null': (req, res) => {
    req.session = null;
    res.end('unset');
  },
  '/unset-delete': (req, res) => {
    delete req.session;
    res.end('deleted');
  },
  '/regenerate-save': (req, res) => {
    req.session.regenerate(() => {
      req.session.user = 'alice';
      req.session.save(() => res.end(view(req)));
    });
  },
  '/delete-key': (req, res) => {
    delete req.session.a;
    res.end(view(req));
  },
  '/same-value': (req, res) => {
    req.session.a = String(req.session.a);
    res.end(view(req));
  },
};

const withResponse = (label: string, fn: (req: any, res: any, ctx: any) => unknown): Route => (req, res, ctx) => {
  const out = fn(req, res, ctx);
  ctx.log.push([label, out === res ? 'res' : out]);
};

/** Routes that end the response in every way node allows. */
const responseRoutes: Record<string, Route> = {
  '/end-twice': (req, res, ctx) => {
    req.session.twice = true;
    ctx.log.push(res.end('first') === res ? 'res' : 'bool');
    ctx.log.push(res.end('second'));
  },
  '/end-null': withResponse('end(null)', (req, res) => {
    req.session.n = 1;
    return res.end(null);
  }),
  '/end-empty': withResponse('end()', (req, res) => {
    req.session.n = 1;
    return res.end();
  }),
  '/end-empty-string': withResponse("end('')", (req, res) => {
    req.session.n = 1;
    return res.end('');
  }),
  '/end-unmodified': withResponse('end(unmodified)', (_req, res) => res.end('plain')),
  '/chunked': (req, res, ctx) => {
    req.session.chunked = true;
    ctx.log.push(res.write('a'));
    ctx.log.push(res.write(Buffer.from('b')));
    res.end('c');
  },
  '/write-head': (req, res) => {
    req.session.head = true;
    res.writeHead(201, { 'X-Test': 'yes', 'Content-Type': 'text/plain' });
    res.end('written');
  },
  '/write-head-array': (req, res) => {
    req.session.head = true;
    res.writeHead(200, ['X-Test', 'array', 'Content-Type', 'text/plain']);
    res.end('written');
  },
  '/write-head-then-change': (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    req.session.late = 'after headers';
    res.end('late');
  },
  '/content-length': (req, res) => {
    req.session.cl = true;
    res.setHeader('Content-Length', '5');
    res.end('hello');
  },
  '/content-length-buffer': (req, res) => {
    req.session.cl = true;
    res.setHeader('Content-Length', '4');
    res.end(Buffer.from('ébc'));
  },
  '/content-length-latin1': (req, res) => {
    req.session.cl = true;
    res.setHeader('Content-Length', '3');
    res.end('héb', 'latin1');
  },
  '/content-length-zero': (req, res) => {
    req.session.cl = true;
    res.setHeader('Content-Length', '0');
    res.end('');
  },
  '/other-set-cookie': (req, res) => {
    req.session.n = 1;
    res.setHeader('Set-Cookie', 'other=1; Path=/');
    res.end('two cookies');
  },
  '/other-set-cookies': (req, res) => {
    req.session.n = 1;
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.end('three cookies');
  },
  '/write-head-set-cookie': (req, res) => {
    req.session.n = 1;
    res.writeHead(200, { 'Set-Cookie': 'head=1' });
    res.end('from writeHead');
  },
  '/end-callback': (req, res, ctx) => {
    req.session.n = 1;
    try {
      res.end(() => ctx.log.push('end callback'));
    } catch (err) {
      ctx.log.push(`threw: ${(err as Error).message}`);
      if (!res.writableEnded) res.end();
    }
  },
  '/end-chunk-callback': (req, res, ctx) => {
    req.session.n = 1;
    res.end('body', () => ctx.log.push('end callback'));
  },
  '/end-chunk-encoding-callback': (req, res, ctx) => {
    req.session.n = 1;
    res.end('626f6479', 'hex', () => ctx.log.push('end callback'));
  },
  '/write-then-change': (req, res) => {
    res.write('early ');
    req.session.late = 'after the first write';
    res.end('late');
  },
  '/write-head-status-message': (req, res) => {
    req.session.n = 1;
    res.writeHead(202, 'Accepted Nicely', { 'X-Test': 'message' });
    res.end('ok');
  },
  '/flush-headers': (req, res) => {
    req.session.n = 1;
    res.flushHeaders();
    res.end('flushed');
  },
  '/async': async (req, res) => {
    await new Promise((r) => setTimeout(r, 5));
    req.session.later = true;
    res.end(view(req));
  },
};

const saveUninitialized = (value: boolean) => () => ({ saveUninitialized: value });
const cookieOpts = (cookie: unknown, more: Record<string, unknown> = {}) => () => ({ cookie, ...more });

const secureVariants: Scenario[] = [];
for (const proxy of [true, false, undefined]) {
  for (const proto of ['https', 'http', 'https, http', undefined]) {
    for (const trust of [false, true]) {
      const headers: Record<string, string> = proto ? { 'X-Forwarded-Proto': proto } : {};
      const label = `proxy ${proxy}, X-Forwarded-Proto ${proto ?? 'none'}, trust proxy ${trust}`;
      for (const cookie of [{ secure: 'auto' }, { sameSite: 'auto' }, { secure: 'auto', sameSite: 'auto' }, { secure: true }]) {
        secureVariants.push({
          name: `cookie ${JSON.stringify(cookie)}: ${label}`,
          options: cookieOpts(cookie, { proxy }),
          express: trust ? (app) => app.set('trust proxy', true) : undefined,
          // Every combination on Express 5; the other servers get the combined one.
          frameworks: 'secure' in cookie && 'sameSite' in cookie
            ? (trust ? ['express5', 'express4'] : undefined)
            : ['express5'],
          steps: [get('/set?a=1', { headers }), get('/view', { headers }), get('/set?b=2', { headers })],
        });
      }
    }
  }
}

const rotatingSecret = signedCookie('old-id', 'old secret');

export const scenarios: Scenario[] = [
  // Saving and the cookie.
  {
    name: 'an untouched new session is neither saved nor sent (saveUninitialized false)',
    steps: [get('/'), get('/view')],
    check: (r) => expect(r.steps.every((s) => !sent(s) && s.calls.length === 0)).toBe(true),
  },
  {
    name: 'saveUninitialized true saves and sends a new session',
    options: saveUninitialized(true),
    steps: [get('/'), get('/view'), get('/view')],
    check: (r) => expect(sent(r.steps[0]!)).toBe(true),
  },
  {
    name: 'a modified new session is saved and loaded by later requests',
    steps: [get('/set?a=1'), get('/view'), get('/set?b=2'), get('/view')],
  },
  {
    name: 'resave true saves unmodified sessions',
    options: () => ({ resave: true }),
    steps: [get('/set?a=1'), get('/view'), get('/view')],
  },
  {
    name: 'resave false touches unmodified sessions (store with touch)',
    options: cookieOpts({ maxAge: 10 * minute }),
    steps: [get('/set?a=1'), get('/view', { advance: 1000 }), get('/view', { advance: 1000 })],
    check: (r) => expect(r.steps[1]!.calls.some((c: any) => c[0] === 'touch')).toBe(true),
  },
  {
    name: 'resave false with a store without touch',
    thirdPartyOnly: true,
    store: { noTouch: true },
    options: cookieOpts({ maxAge: 10 * minute }),
    steps: [get('/set?a=1'), get('/view', { advance: 1000 })],
  },
  {
    name: 'resave true and saveUninitialized true',
    options: () => ({ resave: true, saveUninitialized: true }),
    steps: [get('/'), get('/view'), get('/set?a=1')],
  },
  {
    name: 'resave and saveUninitialized left unset (deprecated defaults: true)',
    options: () => ({ resave: undefined, saveUninitialized: undefined }),
    steps: [get('/'), get('/view')],
  },
  {
    name: 'rolling sends the cookie on every response',
    options: cookieOpts({ maxAge: 10 * minute }, { rolling: true }),
    steps: [get('/set?a=1'), get('/view', { advance: 5000 }), get('/', { advance: 5000 })],
    check: (r) => expect(r.steps.every(sent)).toBe(true),
  },
  {
    name: 'rolling with a browser-session cookie',
    options: () => ({ rolling: true }),
    steps: [get('/set?a=1'), get('/view'), get('/')],
  },
  {
    name: 'rolling with saveUninitialized false does not send an untouched new session',
    options: () => ({ rolling: true }),
    steps: [get('/'), get('/')],
  },
  {
    name: 'an existing session with maxAge gets a new cookie when modified',
    options: cookieOpts({ maxAge: 10 * minute }),
    steps: [get('/set?a=1'), get('/view', { advance: 60_000 }), get('/set?b=2', { advance: 60_000 }), get('/same-value')],
  },
  {
    name: 'an existing browser-session cookie is not resent when modified',
    steps: [get('/set?a=1'), get('/set?b=2')],
  },
  {
    name: 'a session expires after maxAge',
    options: cookieOpts({ maxAge: 1000 }),
    steps: [get('/set?a=1'), get('/view', { advance: 500 }), get('/view', { advance: 2000 })],
  },
  {
    name: 'deleting a key and setting the same value',
    steps: [get('/set?a=1&b=2'), get('/same-value'), get('/delete-key'), get('/view')],
  },

  // Cookie options.
  ...[
    { maxAge: 60_000 },
    { maxAge: null },
    { maxAge: 0 },
    { maxAge: -1000 },
    { maxAge: 1.5 },
    { expires: new Date(NOW + 3_600_000) },
    { expires: new Date(NOW + 3_600_000), maxAge: 60_000 },
    { maxAge: 60_000, expires: new Date(NOW + 3_600_000) },
    { path: '/' },
    { path: '/view' },
    { domain: 'example.com' },
    { httpOnly: false },
    { secure: false },
    { secure: true },
    { partitioned: true },
    { partitioned: false },
    { priority: 'low' },
    { priority: 'Medium' },
    { priority: 'high' },
    { sameSite: true },
    { sameSite: false },
    { sameSite: 'lax' },
    { sameSite: 'Strict' },
    { sameSite: 'none' },
    { sameSite: 'none', secure: true, partitioned: true, priority: 'high', domain: 'a.example', path: '/', maxAge: 1000 },
  ].map((cookie): Scenario => ({
    name: `cookie ${JSON.stringify(cookie)}`,
    options: cookieOpts(cookie),
    steps: [get('/set?a=1'), get('/view', { advance: 100 }), get('/set?b=2'), get('/max-age')],
  })),
  {
    name: 'cookie as a function of the request',
    options: () => ({
      cookie: (req: any) => ({ maxAge: req.headers['x-remember'] ? 30 * minute : null, path: '/', sameSite: 'strict' }),
    }),
    steps: [get('/set?a=1', { headers: { 'X-Remember': '1' } }), get('/view'), get('/set?b=1', { cookie: false })],
  },
  {
    name: 'cookie function with a path that does not match',
    options: () => ({ cookie: () => ({ path: '/private' }) }),
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'cookie path mismatch: no session at all',
    options: cookieOpts({ path: '/admin' }),
    steps: [get('/view'), get('/set?a=1')],
  },
  ...secureVariants,

  // Names and secrets.
  {
    name: 'custom cookie name',
    options: () => ({ name: 'my.sid' }),
    steps: [get('/set?a=1'), get('/view'), get('/view', { cookie: 'connect.sid=whatever' })],
  },
  {
    name: 'falsy cookie, name, unset and genid mean the defaults',
    randomIds: true,
    options: () => ({ cookie: null, name: '', unset: '', genid: null }),
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'deprecated key option names the cookie',
    options: () => ({ key: 'legacy.sid' }),
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'secret as a Buffer',
    options: () => ({ secret: Buffer.from('buffer secret') }),
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'secret rotation: the first secret signs, every secret verifies',
    options: () => ({ secret: ['new secret', 'old secret'], rolling: true }),
    seed: { 'old-id': rec({ who: 'old' }) },
    steps: [get('/view', { cookie: rotatingSecret }), get('/view'), get('/set?a=1')],
    check: (r) => expect(r.steps[0]!.body).toContain('"who":"old"'),
  },
  {
    name: 'a cookie signed with an unknown secret starts a new session',
    options: () => ({ secret: ['new secret'] }),
    seed: { 'old-id': rec({ who: 'old' }) },
    steps: [get('/view', { cookie: rotatingSecret }), get('/set?a=1', { cookie: rotatingSecret })],
  },
  {
    name: 'secret from cookie-parser (req.secret)',
    pre: [cookieParser('parser secret')],
    options: () => ({ secret: undefined }),
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'cookie-parser with a different secret still reads the raw cookie',
    pre: [cookieParser('parser secret')],
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'cookie-parser parsed cookies when the Cookie header is hidden',
    pre: [cookieParser('keyboard cat'), (req: any, _res: any, next: any) => {
      delete req.headers.cookie;
      next();
    }],
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'no secret at all passes an error',
    options: () => ({ secret: undefined }),
    steps: [get('/view')],
    check: (r) => expect(r.steps[0]!.status).toBe(500),
  },
  {
    name: 'an empty secret array fails at setup',
    options: () => ({ secret: [] }),
    steps: [get('/')],
  },
  {
    name: 'an unsigned cookie value starts a new session',
    seed: { plain: rec({ a: 1 }) },
    steps: [get('/view', { cookie: 'connect.sid=plain' }), get('/view', { cookie: 'connect.sid=s%3Aplain' })],
  },

  // genid.
  {
    name: 'default genid: 24 random bytes, base64url',
    randomIds: true,
    steps: [get('/set?a=1'), get('/view'), get('/regenerate')],
    routes: methodRoutes,
  },
  {
    name: 'genid receives the request',
    options: () => ({ genid: (req: any) => `for-${new URL(req.url, 'http://x').pathname.slice(1) || 'root'}` }),
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'a genid that returns no string leaves the session unsaved',
    options: () => ({ genid: () => 42 }),
    steps: [get('/set?a=1'), get('/view')],
  },

  // unset.
  ...(['keep', 'destroy', undefined] as const).map((unset): Scenario => ({
    name: `unset ${unset}`,
    options: () => ({ unset }),
    routes: methodRoutes,
    steps: [get('/set?a=1'), get('/unset-null'), get('/view'), get('/set?b=2'), get('/unset-delete'), get('/view')],
  })),
  {
    name: 'unset destroy on a new session',
    options: () => ({ unset: 'destroy' }),
    routes: methodRoutes,
    steps: [get('/unset-null')],
  },
  {
    name: 'an invalid unset fails at setup',
    options: () => ({ unset: 'sometimes' }),
    steps: [get('/')],
  },

  // Methods.
  ...[
    { resave: false, saveUninitialized: false },
    { resave: true, saveUninitialized: true },
    { resave: false, saveUninitialized: true, rolling: true, cookie: { maxAge: 10 * minute } },
  ].map((options): Scenario => ({
    name: `session methods with ${JSON.stringify(options)}`,
    options: () => options,
    routes: methodRoutes,
    steps: [
      get('/regenerate'),
      get('/set?a=1'),
      get('/regenerate'),
      get('/view'),
      get('/save'),
      get('/save-then-change'),
      get('/save-no-callback'),
      get('/reload'),
      get('/view'),
      get('/touch', { advance: 1000 }),
      get('/reset-max-age', { advance: 1000 }),
      get('/max-age'),
      get('/expires-date'),
      get('/expires-null'),
      get('/regenerate-save'),
      get('/view'),
      get('/destroy'),
      get('/view'),
      get('/reload'),
      get('/destroy'),
    ],
  })),
  {
    name: 'reload of a session that is gone',
    routes: {
      '/reload-gone': (req, res, ctx) => {
        ctx.store.destroy(req.sessionID, () => req.session.reload((err: any) => {
          ctx.log.push(['reload', err?.message ?? null]);
          res.end(view(req));
        }));
      },
    },
    steps: [get('/set?a=1'), get('/reload-gone'), get('/view')],
  },

  // Responses.
  ...[false, true].map((saveUninit): Scenario => ({
    name: `ways to end a response (saveUninitialized ${saveUninit})`,
    options: saveUninitialized(saveUninit),
    routes: responseRoutes,
    steps: Object.keys(responseRoutes).flatMap((path) => [get(path), get(path), get(path, { cookie: false })]),
  })),
  {
    name: 'HEAD requests',
    options: saveUninitialized(true),
    routes: responseRoutes,
    steps: [
      get('/', { method: 'HEAD' }),
      get('/set?a=1', { method: 'HEAD' }),
      get('/view', { method: 'HEAD' }),
      get('/content-length', { method: 'HEAD' }),
    ],
  },
  {
    name: 'responses with a Content-Length for a loaded session with resave',
    options: () => ({ resave: true }),
    routes: responseRoutes,
    steps: [get('/set?a=1'), get('/content-length'), get('/content-length-buffer'), get('/content-length-zero')],
  },
  {
    name: 'req.session set before the middleware is left alone',
    pre: [(req: any, _res: any, next: any) => {
      if (req.headers['x-preset']) req.session = { preset: true };
      next();
    }],
    steps: [get('/view', { headers: { 'X-Preset': '1' } }), get('/set?a=1'), get('/view', { headers: { 'X-Preset': '1' } }), get('/view')],
  },

  // Stores.
  ...[false, true].map((sync): Scenario => ({
    name: `store calling back ${sync ? 'synchronously' : 'asynchronously'}`,
    thirdPartyOnly: true,
    store: { sync },
    options: cookieOpts({ maxAge: 10 * minute }),
    routes: { ...methodRoutes, ...responseRoutes },
    steps: [
      get('/set?a=1'),
      get('/view'),
      get('/content-length'),
      get('/chunked'),
      get('/end-twice'),
      get('/save'),
      get('/reload'),
      get('/regenerate'),
      get('/view'),
      get('/destroy'),
      get('/view'),
    ],
  })),
  {
    name: 'a store that disconnects and reconnects',
    steps: [
      get('/set?a=1'),
      get('/view', { before: (ctx) => void ctx.store.emit('disconnect') }),
      get('/set?b=1'),
      get('/view', { before: (ctx) => void ctx.store.emit('connect') }),
    ],
  },
  ...(['get', 'set', 'destroy', 'touch'] as const).flatMap((op) => ['disk on fire', 'ENOENT'].map((failure): Scenario => ({
    name: `store ${op} fails with ${failure}`,
    thirdPartyOnly: true,
    options: cookieOpts({ maxAge: 10 * minute }),
    routes: methodRoutes,
    steps: [
      get('/set?a=1'),
      get('/view', { before: (ctx) => void (ctx.store.fail[op] = failure) }),
      get('/set?b=2'),
      get('/save'),
      get('/reload'),
      get('/regenerate'),
      get('/destroy'),
      get('/view', { before: (ctx) => void (ctx.store.fail = {}) }),
    ],
  }))),
  {
    name: 'an unknown session id starts a new session',
    steps: [get('/view', { cookie: signedCookie('nobody') }), get('/set?a=1', { cookie: signedCookie('nobody') })],
  },
  {
    name: 'a stored session loads with its cookie, expires and data',
    seed: { known: rec({ user: { id: 7, roles: ['a'] }, n: 0 }, 10 * minute, { sameSite: 'lax', secure: false, domain: 'x.test' }) },
    steps: [get('/view', { cookie: signedCookie('known') }), get('/set?n=1', { cookie: signedCookie('known') })],
  },
  {
    name: 'an expired stored session is not used',
    seed: { old: rec({ a: 1 }, -1000) },
    steps: [get('/view', { cookie: signedCookie('old') })],
  },
  {
    name: 'duplicate session cookies: the first one counts',
    seed: { one: rec({ n: 1 }), two: rec({ n: 2 }) },
    steps: [
      get('/view', { cookie: `${signedCookie('one')}; ${signedCookie('two')}` }),
      get('/view', { cookie: `connect.sid=junk; ${signedCookie('two')}` }),
    ],
  },
  {
    name: 'asynchronous handlers',
    routes: responseRoutes,
    steps: [get('/async'), get('/async'), get('/view')],
  },
];

/** Express's own response methods, which end responses in their own ways. */
const expressRoutes: Record<string, Route> = {
  '/send': (req, res) => {
    req.session.via = 'send';
    res.send('sent with a Content-Length');
  },
  '/json': (req, res) => {
    req.session.via = 'json';
    res.json({ ok: true });
  },
  '/redirect': (req, res) => {
    req.session.via = 'redirect';
    res.redirect('/view');
  },
  '/no-content': (req, res) => {
    req.session.via = 'sendStatus';
    res.sendStatus(204);
  },
  '/not-modified': (_req, res) => res.status(304).end(),
  '/send-buffer': (req, res) => {
    req.session.via = 'buffer';
    res.send(Buffer.from('bytes'));
  },
};

scenarios.push(
  ...[false, true].map((saveUninit): Scenario => ({
    name: `Express response methods (saveUninitialized ${saveUninit})`,
    frameworks: ['express5', 'express4'],
    options: saveUninitialized(saveUninit),
    routes: expressRoutes,
    steps: Object.keys(expressRoutes).flatMap((path) => [get(path), get(path), get(path, { method: 'HEAD' })]),
  })),
  {
    name: 'a genid that always returns the same id',
    options: () => ({ genid: () => 'constant' }),
    routes: methodRoutes,
    // (Deliberately not '/regenerate-save': express-session saves such a session twice, see docs.)
    steps: [get('/set?a=1'), get('/regenerate'), get('/view'), get('/set?b=2'), get('/view')],
  },
);

/** Mounted apps: the cookie path decides whether a mounted app has a session. */
export const mountedScenarios: Scenario[] = [
  {
    name: 'mounted app with a matching cookie path',
    mount: '/app',
    frameworks: ['express5', 'express4', 'connect'],
    options: cookieOpts({ path: '/app' }),
    steps: [get('/app/set?a=1'), get('/app/view'), get('/elsewhere')],
  },
  {
    name: 'mounted app with a cookie path that does not match',
    mount: '/app',
    frameworks: ['express5', 'express4', 'connect'],
    options: cookieOpts({ path: '/other' }),
    steps: [get('/app/set?a=1'), get('/app/view')],
  },
  {
    name: 'mounted app with the default cookie path',
    mount: '/app',
    frameworks: ['express5', 'express4', 'connect'],
    steps: [get('/app/set?a=1'), get('/app/view')],
  },
];
