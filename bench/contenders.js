// The contenders: how each one builds its session middleware, with the same options for both
// libraries (see sessionOptions in common.js). Each runs in its own process (server.js).
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

async function sessionkit(makeStore, scenario, extra = {}) {
  const { default: session } = await import('sessionkit');
  const { store, close } = await makeStore();
  const options = sessionOptions({ saveUninitialized: scenario === 'new' });
  return { middleware: session({ ...options, ...extra, store }), close };
}

const memory = (wrap = (s) => s) => async () => {
  const { MemoryStore } = await import('sessionkit');
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

/**
 * id -> { label, library, store, needs, create({ scenario, prefix }) }.
 * `needs: 'redis'` marks the contenders that are skipped when Redis or RedisStore isn't there.
 */
export const contenders = {
  bare: {
    label: 'bare Express',
    library: 'none',
    store: '-',
    create: async () => ({ middleware: null }),
  },
  'es-memory': {
    label: 'express-session + MemoryStore',
    library: 'express-session',
    store: 'memory',
    create: ({ scenario }) => expressSession(async (session) => ({ store: new session.MemoryStore() }), scenario),
  },
  'sk-memory': {
    label: 'sessionkit + MemoryStore',
    library: 'sessionkit',
    store: 'memory',
    versus: 'es-memory',
    create: ({ scenario }) => sessionkit(memory(), scenario),
  },
  'sk-memory-whole': {
    label: 'sessionkit + MemoryStore, whole-record saves',
    library: 'sessionkit',
    store: 'memory',
    versus: 'es-memory',
    create: ({ scenario }) => sessionkit(memory(withoutAtomicSaves), scenario),
  },
  'es-redis': {
    label: 'express-session + connect-redis',
    library: 'express-session',
    store: 'redis',
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
    needs: 'redis',
    versus: 'es-redis',
    create: ({ scenario, prefix }) => sessionkit(skRedis(prefix), scenario),
  },
  'sk-redis-touchafter': {
    label: `sessionkit + RedisStore, touchAfter ${touchAfterSeconds}s`,
    library: 'sessionkit',
    store: 'redis',
    needs: 'redis',
    versus: 'es-redis',
    create: ({ scenario, prefix }) => sessionkit(skRedis(prefix), scenario, { touchAfter: touchAfterSeconds }),
  },
  'sk-redis-whole': {
    label: 'sessionkit + RedisStore, whole-record saves',
    library: 'sessionkit',
    store: 'redis',
    needs: 'redis',
    versus: 'es-redis',
    create: ({ scenario, prefix }) => sessionkit(skRedis(prefix, withoutAtomicSaves), scenario),
  },
};

/**
 * Who runs in which scenario. `touchAfter` only changes requests that leave the session
 * unmodified, so it runs in "read" only; the whole-record variants measure what delta saves
 * cost, so they run in "write" only.
 */
export const lineup = {
  read: ['bare', 'es-memory', 'sk-memory', 'es-redis', 'sk-redis', 'sk-redis-touchafter'],
  write: ['bare', 'es-memory', 'sk-memory', 'sk-memory-whole', 'es-redis', 'sk-redis', 'sk-redis-whole'],
  new: ['bare', 'es-memory', 'sk-memory', 'es-redis', 'sk-redis'],
};
