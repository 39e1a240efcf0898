import { defineConfig } from 'vitest/config';

/**
 * The hardening campaign (`npm run test:hardening`): fuzzing, concurrency, memory and faults on
 * the real servers. Bounded by default; HARDENING_SCALE multiplies every count, HARDENING_SEED
 * replays a run's inputs.
 */
export default defineConfig({
  test: {
    include: ['test/hardening/**/*.hardening.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The memory checks collect garbage before each heap reading.
    execArgv: ['--expose-gc'],
    maxWorkers: 2,
    // Each file prints what it tried; the report is the point of a campaign.
    printConsoleTrace: false,
    reporters: ['default'],
  },
});
