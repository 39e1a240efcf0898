import { describe } from 'vitest';
import { differential } from './harness.js';
import { scenarios } from './scenarios/index.js';

// The scenarios again, each library with its own MemoryStore: sessionkit's saves loaded
// sessions with conditional writes, and must still answer exactly as express-session does.
describe("sessionkit and express-session agree, each with its own MemoryStore", () => {
  differential(scenarios, 'express5', 'memory');
});
