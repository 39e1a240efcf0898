import { describe } from 'vitest';
import { differential } from './harness.js';
import { mountedScenarios, scenarios } from './scenarios.js';

describe('sessionkit and express-session agree (Express 5)', () => {
  differential([...scenarios, ...mountedScenarios], 'express5');
});
