import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryStore } from 'sessionkit';
import { defaultLimits } from './settings.js';

/** The user a session belongs to: what `listUserSessions` and `destroyUserSessions` look up. */
export const userId = (data) => data.username;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The store names SESSION_STORE accepts. */
export const storeNames = ['sqlite', 'memory', 'redis', 'postgres', 'mysql', 'cookie'];

/**
 * Opens the store `name` (SESSION_STORE), with its connection from the environment. Each
 * store's module, and so its database driver, is imported only when that store is chosen.
 * Resolves to `{ name, label, store, limits, close }`; for cookie-only sessions, `store` and
 * `limits` are undefined (the session lives in the browser) and `sessionMiddleware` is the
 * factory to use instead. `extra` options go to the store's constructor (a table name or key
 * prefix, say); its `maxSessionsPerUser` and `onLimit` default to 3 and `'evict-oldest'`, and
 * `limits` says what the store was given, for the pages to tell.
 */
export async function openStore(name = 'sqlite', env = process.env, extra = {}) {
  const limits = {
    maxSessionsPerUser: extra.maxSessionsPerUser ?? defaultLimits.maxSessionsPerUser,
    onLimit: extra.onLimit ?? defaultLimits.onLimit,
  };
  const options = { userId, ...extra, ...limits };
  switch (name) {
    case 'memory': {
      const store = new MemoryStore({ max: 10_000, ...options });
      return { name, label: 'MemoryStore (this process only)', store, limits, close: async () => store.close() };
    }
    case 'sqlite': {
      const path = resolve(env.SQLITE_PATH || resolve(root, 'data/sessions.db'));
      const { SQLiteStore } = await import('sessionkit/sqlite');
      const store = await opened(new SQLiteStore({ path, ...options }));
      return { name, label: `SQLiteStore (${shortPath(path)})`, store, limits, close: () => store.close() };
    }
    case 'redis': {
      const url = env.REDIS_URL || 'redis://127.0.0.1:6379';
      const [{ createClient }, { RedisStore }] = await Promise.all([import('redis'), import('sessionkit/redis')]);
      // Unreachable at startup: stop with the error. Lost later: keep reconnecting, as a server should.
      let connected = false;
      const reconnectStrategy = (retries, cause) => (connected ? Math.min(retries * 200, 5000) : cause);
      const client = createClient({ url, socket: { reconnectStrategy } });
      client.on('error', (err) => {
        if (connected) console.error('Redis:', err.message);
      });
      await client.connect();
      connected = true;
      const store = new RedisStore({ client, prefix: 'sessionkit-demo:', ...options });
      return {
        name, label: `RedisStore (${redact(url)})`, store, limits,
        close: async () => {
          store.close();
          await client.close();
        },
      };
    }
    case 'postgres': {
      const connectionString = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
      const { PostgresStore } = await import('sessionkit/postgres');
      const store = await opened(new PostgresStore({ connectionString, tableName: 'sessionkit_demo', ...options }));
      return { name, label: `PostgresStore (${redact(connectionString)})`, store, limits, close: () => store.close() };
    }
    case 'mysql': {
      const uri = env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/test';
      const { MySQLStore } = await import('sessionkit/mysql');
      const store = await opened(new MySQLStore({ uri, tableName: 'sessionkit_demo', ...options }));
      return { name, label: `MySQLStore (${redact(uri)})`, store, limits, close: () => store.close() };
    }
    case 'cookie': {
      const { cookieSession } = await import('sessionkit/cookie');
      return {
        name, label: 'cookie-only sessions (sealed in the browser)', store: undefined,
        sessionMiddleware: cookieSession, close: async () => {},
      };
    }
    default:
      throw new Error(`SESSION_STORE must be one of ${storeNames.join(', ')}; got ${JSON.stringify(name)}`);
  }
}

/**
 * Opens a SQL store now (they connect on first use), so that a wrong path or URL stops the
 * demo at startup rather than failing its first request; its purge of expired sessions is
 * the cheapest call that opens it and creates the table.
 */
async function opened(store) {
  try {
    await store.prune();
    return store;
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
}

/** The path as the footer shows it: relative to the project when inside it. */
function shortPath(path) {
  const rel = relative(root, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** A connection URL without its password, for the page footer. */
function redact(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'from the environment';
  }
}
