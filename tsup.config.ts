import { defineConfig, type Options } from 'tsup';

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
  fastify: 'src/fronts/fastify.ts',
  koa: 'src/fronts/koa.ts',
  hono: 'src/fronts/hono.ts',
  web: 'src/fronts/web.ts',
};

/**
 * `silent` drops tsup's per-file size report (and, with it, the bundler's warnings), so a clean
 * build prints nothing; errors are still printed. This plugin prints the warnings again, so
 * that silence still means a clean build.
 */
const showWarnings: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'show-warnings',
  setup(build) {
    build.onEnd(({ warnings }) => {
      for (const { text, location } of warnings) {
        const where = location ? `${location.file}:${location.line}:${location.column + 1}: ` : '';
        console.warn(`${where}warning: ${text}`);
      }
    });
  },
};

// keepNames: classes and functions keep their names (`MemoryStore.name`, `Store.name`) through
// bundling and the CommonJS conversion, as code that checks `store.constructor.name` expects.
const quiet: Options = { silent: true, keepNames: true, esbuildPlugins: [showWarnings] };

export default defineConfig([
  {
    ...quiet,
    entry: { index: 'src/index.ts', ...subpaths },
    format: ['esm'],
    dts: true,
    target: 'node20',
    splitting: true,
  },
  {
    ...quiet,
    // CommonJS: the root entry is src/cjs.ts, whose only export is the factory, which becomes
    // module.exports itself, as require('express-session') is. `treeshake` has Rollup write the
    // shared CommonJS chunks: without it they are converted from ESM by a transform that also
    // rewrites every `?.`, `??` and class field into helper calls that allocate on each use
    // (closures per optional chain), on the request path of every CommonJS app.
    entry: { index: 'src/cjs.ts', ...subpaths },
    format: ['cjs'],
    treeshake: true,
    dts: false,
    target: 'node20',
    splitting: true,
    outExtension: () => ({ js: '.cjs' }),
  },
]);
