import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * One project per thing a test needs, so `vitest run --project unit` runs anywhere and
 * `vitest run` runs everything. Each folder belongs to exactly one project.
 */
const projects: Record<string, string[]> = {
  // Needs nothing: in-process stores and servers only.
  unit: ['test/unit'],
  // Real servers: Redis, PostgreSQL and MariaDB on 127.0.0.1 (scripts/services.sh starts them).
  stores: ['test/stores', 'test/compat', 'test/hardening'],
  // The demo app: the build, Chromium, and the servers behind the demo's stores.
  // Fastify, Koa, Hono and web-standard fronts, on the real stores' servers too.
  adapters: ['test/adapters'],
  browser: ['test/demo'],
  // The build (npm run build): its declarations, and its entries as apps load them.
  types: ['test/types'],
  package: ['test/package'],
  // The build, on Bun and Deno (scripts/runtimes.sh installs them) and the servers above.
  runtimes: ['test/runtimes'],
};

// A test file outside every project's folders would never run, and nothing would say so.
function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [relative(import.meta.dirname, path)] : [];
  });
}
const folders = Object.values(projects).flat();
const orphans = testFiles(join(import.meta.dirname, 'test'))
  .filter((file) => !folders.some((folder) => file.startsWith(`${folder}/`)));
if (orphans.length > 0) {
  throw new Error(`test files in no project of vitest.config.ts: ${orphans.join(', ')}`);
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    projects: Object.entries(projects).map(([name, folders]) => ({
      extends: true,
      test: {
        name,
        include: folders.map((folder) => `${folder}/**/*.test.ts`),
        ...(name === 'runtimes' ? { globalSetup: ['test/runtimes/setup.ts'] } : {}),
      },
    })),
  },
});
