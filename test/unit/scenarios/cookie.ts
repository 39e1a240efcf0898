/**
 * The cookie's attributes: every option of `cookie`, a cookie function, a path that does
 * not match the request, and 'auto' secure and sameSite behind every proxy setting.
 */
import { NOW, type Scenario } from '../harness.js';
import { cookieOpts, get, minute } from './common.js';

const secureVariants: Scenario[] = [];
for (const proxy of [true, false, undefined]) {
  for (const proto of ['https', 'http', 'https, http', undefined]) {
    for (const trust of [false, true]) {
      const headers: Record<string, string> = proto ? { 'X-Forwarded-Proto': proto } : {};
      const label = `proxy ${proxy}, X-Forwarded-Proto ${proto ?? 'none'}, trust proxy ${trust}`;
      for (const cookie of [{ secure: 'auto' }, { sameSite: 'auto' }, { secure: 'auto', sameSite: 'auto' }, { secure: true }]) {
        secureVariants.push({
          name: `cookie ${JSON.stringify(cookie)}: ${label}`,
          tags: ['cookie', 'secure', 'proxy'],
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

/** Each cookie option through a save, a load, a change and a maxAge set by the route. */
export const cookieScenarios: Scenario[] = [
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
    tags: ['cookie'],
    options: cookieOpts(cookie),
    steps: [get('/set?a=1'), get('/view', { advance: 100 }), get('/set?b=2'), get('/max-age')],
  })),
  {
    name: 'cookie as a function of the request',
    tags: ['cookie'],
    options: () => ({
      cookie: (req: any) => ({ maxAge: req.headers['x-remember'] ? 30 * minute : null, path: '/', sameSite: 'strict' }),
    }),
    steps: [get('/set?a=1', { headers: { 'X-Remember': '1' } }), get('/view'), get('/set?b=1', { cookie: false })],
  },
  {
    name: 'cookie function with a path that does not match',
    tags: ['cookie', 'path'],
    options: () => ({ cookie: () => ({ path: '/private' }) }),
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'cookie path mismatch: no session at all',
    tags: ['cookie', 'path'],
    options: cookieOpts({ path: '/admin' }),
    steps: [get('/view'), get('/set?a=1')],
  },
  ...secureVariants,
];
