/**
 * The cookie name and the secrets that sign it: rotation, a Buffer, cookie-parser,
 * missing or unknown secrets, unsigned values.
 */
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import type { Scenario } from '../harness.js';
import { get, rec, signedCookie } from './common.js';

const require = createRequire(import.meta.url);
const cookieParser = require('cookie-parser');

const rotatingSecret = signedCookie('old-id', 'old secret');

/** name, key and secret in every form express-session accepts. */
export const secretScenarios: Scenario[] = [
  {
    name: 'custom cookie name',
    tags: ['name'],
    options: () => ({ name: 'my.sid' }),
    steps: [get('/set?a=1'), get('/view'), get('/view', { cookie: 'connect.sid=whatever' })],
  },
  {
    name: 'falsy cookie, name, unset and genid mean the defaults',
    tags: ['name', 'unset', 'genid'],
    randomIds: true,
    options: () => ({ cookie: null, name: '', unset: '', genid: null }),
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'deprecated key option names the cookie',
    tags: ['name', 'deprecated'],
    options: () => ({ key: 'legacy.sid' }),
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'secret as a Buffer',
    tags: ['secret'],
    options: () => ({ secret: Buffer.from('buffer secret') }),
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'secret rotation: the first secret signs, every secret verifies',
    tags: ['secret'],
    options: () => ({ secret: ['new secret', 'old secret'], rolling: true }),
    seed: { 'old-id': rec({ who: 'old' }) },
    steps: [get('/view', { cookie: rotatingSecret }), get('/view'), get('/set?a=1')],
    check: (r) => expect(r.steps[0]!.body).toContain('"who":"old"'),
  },
  {
    name: 'a cookie signed with an unknown secret starts a new session',
    tags: ['secret'],
    options: () => ({ secret: ['new secret'] }),
    seed: { 'old-id': rec({ who: 'old' }) },
    steps: [get('/view', { cookie: rotatingSecret }), get('/set?a=1', { cookie: rotatingSecret })],
  },
  {
    name: 'secret from cookie-parser (req.secret)',
    tags: ['secret', 'cookie-parser'],
    pre: [cookieParser('parser secret')],
    options: () => ({ secret: undefined }),
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'cookie-parser with a different secret still reads the raw cookie',
    tags: ['secret', 'cookie-parser'],
    pre: [cookieParser('parser secret')],
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'cookie-parser parsed cookies when the Cookie header is hidden',
    tags: ['secret', 'cookie-parser'],
    pre: [cookieParser('keyboard cat'), (req: any, _res: any, next: any) => {
      delete req.headers.cookie;
      next();
    }],
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'no secret at all passes an error',
    tags: ['secret'],
    options: () => ({ secret: undefined }),
    steps: [get('/view')],
    check: (r) => expect(r.steps[0]!.status).toBe(500),
  },
  {
    name: 'an empty secret array fails at setup',
    tags: ['secret', 'setup-error'],
    options: () => ({ secret: [] }),
    steps: [get('/')],
  },
  {
    name: 'an unsigned cookie value starts a new session',
    tags: ['secret'],
    seed: { plain: rec({ a: 1 }) },
    steps: [get('/view', { cookie: 'connect.sid=plain' }), get('/view', { cookie: 'connect.sid=s%3Aplain' })],
  },
];
