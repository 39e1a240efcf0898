// What the benchmark scripts share: the session options both libraries run with, the session
// data a logged-in user has, where the services are, and the check that dist/ is built.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
export const databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const mysqlUrl = process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/test';

/** One hour: a realistic login lifetime, and short enough that anything left in Redis expires soon. */
export const cookieMaxAge = 60 * 60 * 1000;

/** The options both libraries run with in every contender (the "new" scenario sets saveUninitialized). */
export function sessionOptions({ saveUninitialized = false } = {}) {
  return {
    secret: 'bench secret: a long random string in a real app',
    resave: false,
    saveUninitialized,
    rolling: false,
    cookie: { maxAge: cookieMaxAge, httpOnly: true, sameSite: 'lax' },
  };
}

/** `touchAfter` for the sessionkit contender that uses it, in seconds. */
export const touchAfterSeconds = 60;

/** What a login puts in the session: about 300 bytes of JSON with its cookie. */
export function loginData(n) {
  return {
    user: { id: `u${n}`, name: `User ${n}`, email: `user${n}@example.com`, roles: ['reader', 'editor'] },
    csrf: `csrf-token-${String(n).padStart(8, '0')}-abcdefghijklmnop`,
    prefs: { theme: 'dark', lang: 'en' },
  };
}

/** A stored record as both libraries write it: the login data and a one-hour cookie. */
export function sessionRecord(n) {
  return {
    cookie: {
      originalMaxAge: cookieMaxAge,
      expires: new Date(Date.now() + cookieMaxAge).toISOString(),
      secure: false,
      httpOnly: true,
      path: '/',
      sameSite: 'lax',
    },
    ...loginData(n),
  };
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The benchmark imports the built package (`sessionkit`, `sessionkit/redis`, ... resolve to
 * dist/): builds it when dist/ is missing or older than src/, unless BENCH_NO_BUILD is set.
 */
export function ensureBuilt() {
  const entry = join(root, 'dist', 'index.js');
  if (process.env.BENCH_NO_BUILD) {
    if (!existsSync(entry)) throw new Error('dist/index.js is missing: run `npm run build` first');
    return;
  }
  let reason;
  if (!existsSync(entry)) reason = 'dist/ is missing';
  else if (existsSync(join(root, 'src')) && newestMtime(join(root, 'src')) > statSync(entry).mtimeMs) reason = 'dist/ is older than src/';
  if (!reason) return;
  console.log(`${reason}: running \`npm run build\` first`);
  const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('`npm run build` failed: the benchmark needs dist/');
}

/**
 * A store module of this package, or why it can't be used yet: the subpath entries exist
 * from the start as placeholders, so "landed" means it exports the class.
 */
export async function loadStore(subpath, exportName) {
  try {
    const mod = await import(`sessionkit/${subpath}`);
    const Store = mod[exportName];
    if (typeof Store !== 'function') return { missing: `sessionkit/${subpath} has no ${exportName} yet` };
    return { Store };
  } catch (err) {
    return { missing: `sessionkit/${subpath} failed to load: ${err.message}` };
  }
}

/** The machine the numbers come from. */
export async function machine() {
  const os = await import('node:os');
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() || 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

/** Deletes every Redis key under `prefix` (SCAN, never KEYS), and only those. */
export async function deleteRedisKeys(client, prefix) {
  let deleted = 0;
  let batch = [];
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    batch.push(...keys);
    if (batch.length >= 1000) {
      deleted += await client.unlink(batch);
      batch = [];
    }
  }
  if (batch.length) deleted += await client.unlink(batch);
  return deleted;
}

/** Connects to Redis (if it answers) just to delete this run's keys under `prefix`. */
export async function deleteRedisPrefix(prefix) {
  const { createClient } = await import('redis');
  const client = createClient({ url: redisUrl, socket: { reconnectStrategy: false } });
  client.on('error', () => {});
  if (await client.connect().then(() => true, () => false)) {
    await deleteRedisKeys(client, prefix);
    await client.quit();
  }
}

export const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
