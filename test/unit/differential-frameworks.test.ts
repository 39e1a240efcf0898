import { describe } from 'vitest';
import { differential } from './harness.js';
import { scenarios } from './scenarios/index.js';

// The same scenarios as differential.test.ts, on the other servers sessionkit supports.
for (const framework of ['express4', 'connect', 'http'] as const) {
  describe(`sessionkit and express-session agree (${framework})`, () => {
    differential(scenarios, framework);
  });
}
