/**
 * The differential scenarios: every option, method and edge case of express-session 1.19,
 * each a few requests against a tiny app, one file per topic. Shared by the Express 5,
 * Express 4, Connect, node:http and HTTPS runs, which pick them by tag.
 */
import type { Scenario, Tag } from '../harness.js';
import { cookieScenarios } from './cookie.js';
import { genidScenarios } from './genid.js';
import { loadingScenarios } from './loading.js';
import { methodScenarios } from './methods.js';
import { mountedScenarios } from './mounted.js';
import { responseScenarios } from './responses.js';
import { savingScenarios } from './saving.js';
import { secretScenarios } from './secrets.js';
import { storeScenarios } from './stores.js';
import { unsetScenarios } from './unset.js';

export const scenarios: Scenario[] = [
  ...savingScenarios,
  ...cookieScenarios,
  ...secretScenarios,
  ...genidScenarios,
  ...unsetScenarios,
  ...methodScenarios,
  ...responseScenarios,
  ...loadingScenarios,
  ...storeScenarios,
  ...mountedScenarios,
];

/** The scenarios carrying any of `tags`. */
export function tagged(...tags: Tag[]): Scenario[] {
  return scenarios.filter((scenario) => scenario.tags.some((tag) => tags.includes(tag)));
}
