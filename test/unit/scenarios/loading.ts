/**
 * Which session a request gets: an unknown ID, a stored record, an expired one,
 * duplicate cookies, a req.session set before the middleware.
 */
import type { Scenario } from '../harness.js';
import { get, minute, rec, signedCookie } from './common.js';

/** Loading a session from the cookie and the store. */
export const loadingScenarios: Scenario[] = [
  {
    name: 'req.session set before the middleware is left alone',
    tags: ['loading'],
    pre: [(req: any, _res: any, next: any) => {
      if (req.headers['x-preset']) req.session = { preset: true };
      next();
    }],
    steps: [get('/view', { headers: { 'X-Preset': '1' } }), get('/set?a=1'), get('/view', { headers: { 'X-Preset': '1' } }), get('/view')],
  },
  {
    name: 'an unknown session id starts a new session',
    tags: ['loading'],
    steps: [get('/view', { cookie: signedCookie('nobody') }), get('/set?a=1', { cookie: signedCookie('nobody') })],
  },
  {
    name: 'a stored session loads with its cookie, expires and data',
    tags: ['loading'],
    seed: { known: rec({ user: { id: 7, roles: ['a'] }, n: 0 }, 10 * minute, { sameSite: 'lax', secure: false, domain: 'x.test' }) },
    steps: [get('/view', { cookie: signedCookie('known') }), get('/set?n=1', { cookie: signedCookie('known') })],
  },
  {
    name: 'an expired stored session is not used',
    tags: ['loading', 'expiry'],
    seed: { old: rec({ a: 1 }, -1000) },
    steps: [get('/view', { cookie: signedCookie('old') })],
  },
  {
    name: 'duplicate session cookies: the first one counts',
    tags: ['loading'],
    seed: { one: rec({ n: 1 }), two: rec({ n: 2 }) },
    steps: [
      get('/view', { cookie: `${signedCookie('one')}; ${signedCookie('two')}` }),
      get('/view', { cookie: `connect.sid=junk; ${signedCookie('two')}` }),
    ],
  },
];
