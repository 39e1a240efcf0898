import { describe } from 'vitest';
import { differential } from './harness.js';
import { mountedScenarios, scenarios } from './scenarios.js';

// The scenarios again, each library with its own MemoryStore: sessionkit's saves loaded
// sessions with conditional writes, and must still answer exactly as express-session does.
describe("sessionkit and express-session agree, each with its own MemoryStore", () => {
  differential([...scenarios, ...mountedScenarios], 'express5', 'memory');
});
