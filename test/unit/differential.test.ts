import { describe } from 'vitest';
import { differential } from './harness.js';
import { scenarios } from './scenarios/index.js';

describe('sessionkit and express-session agree (Express 5)', () => {
  differential(scenarios, 'express5');
});
