/**
 * Mounted apps: the cookie path decides whether a mounted app has a session.
 */
import type { Scenario } from '../harness.js';
import { cookieOpts, get } from './common.js';

/** An app mounted under /app, on the servers that can mount one. */
export const mountedScenarios: Scenario[] = [
  {
    name: 'mounted app with a matching cookie path',
    tags: ['mounted', 'path'],
    mount: '/app',
    frameworks: ['express5', 'express4', 'connect'],
    options: cookieOpts({ path: '/app' }),
    steps: [get('/app/set?a=1'), get('/app/view'), get('/elsewhere')],
  },
  {
    name: 'mounted app with a cookie path that does not match',
    tags: ['mounted', 'path'],
    mount: '/app',
    frameworks: ['express5', 'express4', 'connect'],
    options: cookieOpts({ path: '/other' }),
    steps: [get('/app/set?a=1'), get('/app/view')],
  },
  {
    name: 'mounted app with the default cookie path',
    tags: ['mounted', 'path'],
    mount: '/app',
    frameworks: ['express5', 'express4', 'connect'],
    steps: [get('/app/set?a=1'), get('/app/view')],
  },
];
