/**
 * What `req.session = null` and `delete req.session` do under each unset option.
 */
import type { Scenario } from '../harness.js';
import { get } from './common.js';
import { methodRoutes } from './methods.js';

/** unset 'keep', 'destroy' and left out, and an invalid value. */
export const unsetScenarios: Scenario[] = [
  ...(['keep', 'destroy', undefined] as const).map((unset): Scenario => ({
    name: `unset ${unset}`,
    tags: ['unset'],
    options: () => ({ unset }),
    routes: methodRoutes,
    steps: [get('/set?a=1'), get('/unset-null'), get('/view'), get('/set?b=2'), get('/unset-delete'), get('/view')],
  })),
  {
    name: 'unset destroy on a new session',
    tags: ['unset'],
    options: () => ({ unset: 'destroy' }),
    routes: methodRoutes,
    steps: [get('/unset-null')],
  },
  {
    name: 'an invalid unset fails at setup',
    tags: ['unset', 'setup-error'],
    options: () => ({ unset: 'sometimes' }),
    steps: [get('/')],
  },
];
