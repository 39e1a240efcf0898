/**
 * Stores as express-session meets them: calling back synchronously or not, disconnecting,
 * and each operation failing.
 */
import type { Scenario } from '../harness.js';
import { cookieOpts, get, minute } from './common.js';
import { methodRoutes } from './methods.js';
import { responseRoutes } from './responses.js';

/** The test store's call behaviours and fault injection. */
export const storeScenarios: Scenario[] = [
  ...[false, true].map((sync): Scenario => ({
    name: `store calling back ${sync ? 'synchronously' : 'asynchronously'}`,
    tags: ['store'],
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
    tags: ['store'],
    steps: [
      get('/set?a=1'),
      get('/view', { before: (ctx) => void ctx.store.emit('disconnect') }),
      get('/set?b=1'),
      get('/view', { before: (ctx) => void ctx.store.emit('connect') }),
    ],
  },
  ...(['get', 'set', 'destroy', 'touch'] as const).flatMap((op) => ['disk on fire', 'ENOENT'].map((failure): Scenario => ({
    name: `store ${op} fails with ${failure}`,
    tags: ['store', 'errors'],
    thirdPartyOnly: true,
    // express-session's order (the response first, the error after): sessionkit answers a change
    // the store did not take with an error instead, which answered-means-saved.test.ts covers.
    options: cookieOpts({ maxAge: 10 * minute }, { answerAfterSave: false }),
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
];
