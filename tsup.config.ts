import { defineConfig } from 'tsup';

/**
 * Public modules: `sessionkit` and its subpaths (`sessionkit/<name>`), each built to
 * dist/<name>.js (ESM), dist/<name>.cjs (CommonJS) and their type declarations.
 */
export const subpaths: Record<string, string> = {
  redis: 'src/stores/redis/index.ts',
  postgres: 'src/stores/sql/postgres.ts',
  mysql: 'src/stores/sql/mysql.ts',
  sqlite: 'src/stores/sql/sqlite.ts',
  cookie: 'src/cookie-session/index.ts',
};

export default defineConfig([
  {
    entry: { index: 'src/index.ts', ...subpaths },
    format: ['esm'],
    dts: true,
    target: 'node20',
    splitting: true,
  },
  {
    // CommonJS: the root entry is src/cjs.ts, whose module.exports is the factory itself.
    entry: { index: 'src/cjs.ts', ...subpaths },
    format: ['cjs'],
    dts: false,
    target: 'node20',
    splitting: true,
    outExtension: () => ({ js: '.cjs' }),
  },
]);
