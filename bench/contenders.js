// The contenders: how each one builds its session middleware, with the same options for every
// library (see sessionOptions in common.js). Each runs in its own process (server.js).
import { floorSession } from './floor.js';
import * as frameworks from './frameworks.js';
import { loadStore, redisUrl, sessionOptions, touchAfterSeconds } from './common.js';

async function redisClient() {
  const { createClient } = await import('redis');
  const client = createClient({ url: redisUrl });
  client.on('error', (err) => console.error(`redis: ${err.message}`));
  await client.connect();
  return client;
}

/** Hides the conditional-write methods, so the middleware saves whole records with plain `set`. */
function withoutAtomicSaves(store) {
  store.getVersioned = undefined;
  store.setIfVersion = undefined;
  return store;
}

async function expressSession(makeStore, scenario) {
  const { default: session } = await import('express-session');
  const { store, close } = await makeStore(session);
  const options = sessionOptions({ saveUninitialized: scenario === 'new' });
  return { middleware: session({ ...options, store }), close };
}

/**
 * sessionkit as the contenders load it: the package, or the build that BENCH_SESSIONKIT names (a
 * path to another build's index.js or index.cjs, for an A/B run of two builds side by side).
 */
const sessionkitModule = () => import(process.env.BENCH_SESSIONKIT || 'sessionkit');

async function sessionkit(makeStore, scenario, extra = {}) {
  const { default: session } = await sessionkitModule();
  const { store, close } = await makeStore();
  const options = sessionOptions({ saveUninitialized: scenario === 'new' });
  return { middleware: session({ ...options, ...extra, store }), close };
}

const memory = (wrap = (s) => s) => async () => {
  const { default: { MemoryStore } } = await sessionkitModule();
  const store = wrap(new MemoryStore());
  return { store, close: () => store.close() };
};

const skRedis = (prefix, wrap = (s) => s) => async () => {
  const { Store, missing } = await loadStore('redis', 'RedisStore');
  if (missing) throw new Error(missing);
  const client = await redisClient();
  const store = wrap(new Store({ client, prefix }));
  return { store, close: () => client.quit() };
};

/** Every scenario; `new` saves uninitialized sessions, which the floor never does. */
const all = ['read', 'write', 'hot', 'new'];

/**
 * Adding a contender is adding one entry here:
 *
 *   id: {
 *     label,                 how tables and the chart name it
 *     library,               'none', 'floor', 'express-session' or 'sessionkit' (its colour on the chart)
 *     store,                 'memory', 'redis' or '-'
 *     scenarios,             the scenarios it runs in
 *     versus,                the express-session contender it is compared with (same kind of store)
 *     needs,                 'redis': skipped, with a note, when Redis or RedisStore isn't there
 *     create({ scenario, prefix }) -> { middleware, close }
 *     serve({ middleware, routes, scenario }) -> a request listener or an http.Server (optional)
 *   }
 *
 * Without `serve` the contender's middleware runs in an Express 5 app (express-server.js); a
 * contender on another framework brings its own `serve`, which answers the paths in routes.js
 * with the session its framework gives a request.
 */
export const contenders = {
  bare: {
    label: 'bare Express',
    library: 'none',
    store: '-',
    scenarios: all,
    create: async () => ({ middleware: null }),
  },
  floor: {
    label: 'floor (least a signed-cookie session can do)',
    library: 'floor',
    store: 'memory',
    scenarios: ['read', 'write', 'hot'],
    create: async () => ({ middleware: floorSession(sessionOptions()) }),
  },
  'es-memory': {
    label: 'express-session + MemoryStore',
    library: 'express-session',
    store: 'memory',
    scenarios: all,
    create: ({ scenario }) => expressSession(async (session) => ({ store: new session.MemoryStore() }), scenario),
  },
  'sk-memory': {
    label: 'sessionkit + MemoryStore',
    library: 'sessionkit',
    store: 'memory',
    scenarios: all,
    versus: 'es-memory',
    create: ({ scenario }) => sessionkit(memory(), scenario),
  },
  'sk-memory-whole': {
    label: 'sessionkit + MemoryStore, whole-record saves',
    library: 'sessionkit',
    store: 'memory',
    scenarios: ['write'],
    versus: 'es-memory',
    create: ({ scenario }) => sessionkit(memory(withoutAtomicSaves), scenario),
  },
  'es-redis': {
    label: 'express-session + connect-redis',
    library: 'express-session',
    store: 'redis',
    scenarios: all,
    needs: 'redis',
    create: ({ scenario, prefix }) => expressSession(async () => {
      const { RedisStore } = await import('connect-redis');
      const client = await redisClient();
      return { store: new RedisStore({ client, prefix }), close: () => client.quit() };
    }, scenario),
  },
  'sk-redis': {
    label: 'sessionkit + RedisStore',
    library: 'sessionkit',
    store: 'redis',
    scenarios: all,
    needs: 'redis',
    versus: 'es-redis',
    create: ({ scenario, prefix }) => sessionkit(skRedis(prefix), scenario),
  },
  'sk-redis-touchafter': {
    label: `sessionkit + RedisStore, touchAfter ${touchAfterSeconds}s`,
    library: 'sessionkit',
    store: 'redis',
    scenarios: ['read'],
    needs: 'redis',
    versus: 'es-redis',
    create: ({ scenario, prefix }) => sessionkit(skRedis(prefix), scenario, { touchAfter: touchAfterSeconds }),
  },
  'sk-redis-whole': {
    label: 'sessionkit + RedisStore, whole-record saves',
    library: 'sessionkit',
    store: 'redis',
    scenarios: ['write'],
    needs: 'redis',
    versus: 'es-redis',
    create: ({ scenario, prefix }) => sessionkit(skRedis(prefix, withoutAtomicSaves), scenario),
  },
  // Other frameworks: each sessionkit front against the framework's own session package on the
  // same Redis, and the framework with no session (its ceiling). `versus` is then that package.
  'bare-fastify': {
    label: 'bare Fastify', library: 'none', store: '-', scenarios: all,
    create: async () => ({}), serve: frameworks.fastifyServer,
  },
  'fs-redis': {
    label: '@fastify/session + connect-redis', library: 'other', store: 'redis', scenarios: all, needs: 'redis',
    create: frameworks.fastifySession, serve: frameworks.fastifyServer,
  },
  'sk-fastify-redis': {
    label: 'sessionkit/fastify + RedisStore', library: 'sessionkit', store: 'redis', scenarios: all, needs: 'redis',
    versus: 'fs-redis', create: frameworks.sessionkitFastify, serve: frameworks.fastifyServer,
  },
  'bare-koa': {
    label: 'bare Koa', library: 'none', store: '-', scenarios: all,
    create: async () => ({}), serve: frameworks.koaServer,
  },
  'ks-redis': {
    label: 'koa-session + Redis store', library: 'other', store: 'redis', scenarios: all, needs: 'redis',
    create: frameworks.koaSession, serve: frameworks.koaServer,
  },
  'sk-koa-redis': {
    label: 'sessionkit/koa + RedisStore', library: 'sessionkit', store: 'redis', scenarios: all, needs: 'redis',
    versus: 'ks-redis', create: frameworks.sessionkitKoa, serve: frameworks.koaServer,
  },
  'bare-hono': {
    label: 'bare Hono', library: 'none', store: '-', scenarios: all,
    create: async () => ({}), serve: frameworks.honoServer,
  },
  // hono-sessions makes and saves a session for every request, so "new" is not its to run.
  'hs-redis': {
    label: 'hono-sessions + Redis store', library: 'other', store: 'redis', scenarios: ['read', 'write', 'hot'], needs: 'redis',
    create: frameworks.honoSessions, serve: frameworks.honoServer,
  },
  'sk-hono-redis': {
    label: 'sessionkit/hono + RedisStore', library: 'sessionkit', store: 'redis', scenarios: all, needs: 'redis',
    versus: 'hs-redis', create: frameworks.sessionkitHono, serve: frameworks.honoServer,
  },
};

// touchAfter only changes requests that leave the session unmodified, so it runs in "read" only;
// the whole-record variants measure what delta saves cost, so they run in "write" only.

/** Who runs in which scenario, in the order of the entries above. */
export const lineup = Object.fromEntries(
  all.map((scenario) => [scenario, Object.keys(contenders).filter((id) => contenders[id].scenarios.includes(scenario))]),
);

/**
 * The package a contender is compared with, as its ratio columns and chart labels name it:
 * "express-session" for the Express contenders, the framework's own session package otherwise.
 */
export function versusName(id) {
  const versus = contenders[contenders[id]?.versus];
  return versus ? versus.label.split(' + ')[0] : undefined;
}
