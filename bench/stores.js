#!/usr/bin/env node
// Stores at scale: every sessionkit store against the store it replaces, through each store's
// public callback API (get, set, touch, destroy), random session IDs, one at a time and 32 in
// flight, at a small and a large population; then the stalls (expiry cleanup, ending a user's
// sessions) and bytes per session.
//
//   node bench/stores.js                                  10,000 and 1,000,000 sessions, one round
//   node bench/stores.js --sizes=10000 --rounds=3         a quicker look
//
// Flags: --sizes (populations, comma-separated; the first is "small", the last "large"),
// --ops (operations per cell, 2000), --rounds (interleaved rounds, 1), --stores (memory, redis,
// postgres, mysql, sqlite), --no-stalls, --no-bytes, --json=FILE (the results), --markdown=FILE.
// run.js calls runStoreBenchmarks({ notes, prefix }) with the defaults (or BENCH_STORE_SIZES,
// BENCH_STORE_OPS, BENCH_STORE_ROUNDS, BENCH_STORE_STORES).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  cookieMaxAge, databaseUrl, deleteRedisKeys, ensureBuilt, loadStore, machine, median, mysqlUrl, redisUrl, sessionRecord,
} from './common.js';

const require = createRequire(import.meta.url);
const unique = `${Date.now().toString(36)}_${process.pid}`;
const IN_FLIGHT = [1, 32];
const OPS = ['get', 'set', 'touch', 'destroy'];
/** Expired sessions a cleanup removes in the stall measurements. */
const EXPIRED = 100_000;
/** Sessions of the one user whose sessions are all ended at once. */
const USER_SESSIONS = 1000;
const HEAVY_USER = 'heavy-user';

/** Session IDs as fixed, well-spread 32-character strings, the same in JavaScript and in SQL (md5). */
const sid = (n) => createHash('md5').update(String(n)).digest('hex');
const expiredSid = (n) => createHash('md5').update(`expired${n}`).digest('hex');
const userSid = (n) => createHash('md5').update(`user${n}`).digest('hex');
/** Every benchmark store files a session under its `user.id`, as an app with the user index does. */
const userId = (data) => data.user?.id;
/** The stored text of session n, built the same way by the SQL fills: `#N#` stands for n. */
const template = JSON.stringify(sessionRecord('#N#'));
const textOf = (n, expires) => {
  const text = template.replaceAll('#N#', String(n));
  return expires === undefined ? text : text.replace(/"expires":"[^"]*"/, `"expires":"${new Date(expires).toISOString()}"`);
};
function expiredRecord(n) {
  const record = sessionRecord(n);
  record.cookie.expires = new Date(Date.now() - 60_000).toISOString();
  return record;
}
function userRecord(n) {
  const record = sessionRecord(n);
  record.user.id = HEAVY_USER;
  return record;
}

function cb(store, method, ...args) {
  return new Promise((resolve, reject) => {
    store[method](...args, (err, value) => (err ? reject(err) : resolve(value)));
  });
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function stats(latencies, elapsedMs) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    opsPerSec: latencies.length / (elapsedMs / 1000),
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    count: latencies.length,
  };
}

/** `count` distinct random numbers below `size`: no two operations of a cell touch one session. */
export function sample(size, count) {
  const picked = new Set();
  const n = Math.min(count, size);
  while (picked.size < n) picked.add(Math.floor(Math.random() * size));
  return [...picked];
}

/** Runs `op(n)` for each n with `inFlight` operations at once; the latency of each and the wall time. */
export async function drive(op, ns, inFlight) {
  const latencies = new Array(ns.length);
  let next = 0;
  const worker = async () => {
    while (next < ns.length) {
      const i = next++;
      const t0 = performance.now();
      await op(ns[i]);
      latencies[i] = performance.now() - t0;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(inFlight, ns.length) }, worker));
  return stats(latencies, performance.now() - start);
}

/** The operations of a cell through the callback API, each checked so a broken store can't look fast. */
export function operation(store, op) {
  switch (op) {
    case 'get':
      return async (n) => {
        const found = await cb(store, 'get', sid(n));
        if (!found?.cookie) throw new Error(`get found no session ${n}`);
      };
    case 'set':
      return (n) => cb(store, 'set', sid(n), sessionRecord(n));
    case 'touch':
      return (n) => cb(store, 'touch', sid(n), sessionRecord(n));
    case 'destroy':
      return (n) => cb(store, 'destroy', sid(n));
    default:
      throw new Error(`unknown operation ${op}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The stores. Each family opens, for one population size, its storages (a table, a key prefix,
// a Map) filled in bulk, and the contenders that run on them: sessionkit's store (with the user
// index on), the same without it where that changes the work, and the store it replaces.

const quoteMy = (name) => `\`${name}\``;

/** Where progress lines go (runStoreBenchmarks sets its `log`). */
let say = console.log;
const seconds = (t0) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/** Fills `size` sessions with `fillBatch(from, to)` in slices, printing progress on long fills. */
async function inSlices(size, slice, fillBatch, what = 'sessions') {
  const t0 = performance.now();
  let shown = 0;
  for (let from = 0; from < size; from += slice) {
    const to = Math.min(size, from + slice);
    await fillBatch(from, to);
    // About every tenth of a large fill, so a long one shows it is moving and how fast.
    if (size >= 100_000 && (to - shown >= size / 10 || to === size)) {
      shown = to;
      say(`      ${what}: ${fmt(to)} / ${fmt(size)} in ${seconds(t0)}`);
    }
  }
}

async function nodeRedis() {
  const { createClient } = await import('redis');
  const client = createClient({ url: redisUrl, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function ioRedis() {
  const { default: Redis } = await import('ioredis');
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/**
 * Writes sessions `from`..`size` the way a store leaves them, 1,000 per script call (the server
 * builds each record from the template), a few calls in flight: a million sessions cost a
 * thousand round trips, not three million commands encoded by the client.
 * ARGV: template, TTL unit (PX or EX), TTL, key prefix, user set prefix ('' for none), then n, sid pairs.
 */
const FILL_SCRIPT = `
local template, unit, ttl, prefix, users = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
for i = 6, #ARGV, 2 do
  local n, id = ARGV[i], ARGV[i + 1]
  redis.call('SET', prefix .. id, (string.gsub(template, '#N#', n)), unit, ttl)
  if users ~= '' then
    redis.call('SADD', users .. 'u' .. n, id)
    redis.call('PEXPIRE', users .. 'u' .. n, ttl)
  end
end
return #ARGV - 5`;

async function redisFill(client, size, { prefix, users = '', unit, ttl }, what) {
  await inSlices(size, 10_000, async (from, to) => {
    const sent = [];
    for (let start = from; start < to; start += 1000) {
      const args = ['EVAL', FILL_SCRIPT, '0', template, unit, String(ttl), prefix, users];
      for (let n = start; n < Math.min(to, start + 1000); n++) args.push(String(n), sid(n));
      sent.push(client.sendCommand(args));
    }
    await Promise.all(sent);
  }, what);
}

async function redisBytes(client, prefix, keyOf, userKeyOf, size) {
  const ns = sample(size, 200);
  let total = 0;
  for (const n of ns) {
    total += Number(await client.sendCommand(['MEMORY', 'USAGE', prefix + keyOf(n), 'SAMPLES', '0'])) || 0;
    if (userKeyOf) total += Number(await client.sendCommand(['MEMORY', 'USAGE', userKeyOf(n), 'SAMPLES', '0'])) || 0;
  }
  return total / ns.length;
}

export const families = {
  memory: {
    label: 'MemoryStore',
    // Its operations take microseconds: ten times more per cell, so one GC pause does not decide a cell.
    opsFactor: 10,
    async open(size) {
      const { MemoryStore } = await import('sessionkit');
      const { default: session } = await import('express-session');
      // `max` above everything the run puts in, so nothing is evicted and both hold the same sessions.
      const max = size + EXPIRED + USER_SESSIONS + 10_000;
      const sk = new MemoryStore({ max, checkPeriod: 0, userId });
      const es = new session.MemoryStore();
      for (const [name, store] of [['sessionkit', sk], ['express-session', es]]) {
        await inSlices(size, 50_000, async (from, to) => {
          for (let n = from; n < to; n++) store.set(sid(n), sessionRecord(n), () => {});
          await nextTurn();
        }, `${name} MemoryStore`);
      }
      return {
        contenders: [
          { id: 'sk', label: 'sessionkit MemoryStore (max, user index)', sessionkit: true, store: sk },
          { id: 'es', label: "express-session's MemoryStore", store: es },
        ],
        userStores: [{ id: 'sk', store: sk }],
        cleanup: {
          sk: {
            addExpired: async () => {
              for (let n = 0; n < EXPIRED; n++) sk.set(expiredSid(n), expiredRecord(n), () => {});
            },
            run: () => sk.prune(),
            how: 'prune(): slices of about 1 ms, a turn of the event loop between them',
          },
        },
        sweeps: async () => {
          // The sweep the timer runs, timed alone: first with nothing expired, then with every session expired.
          let t0 = performance.now();
          await sk.prune();
          const live = performance.now() - t0;
          for (let n = 0; n < size; n++) sk.set(sid(n), expiredRecord(n), () => {});
          t0 = performance.now();
          await sk.prune();
          const expired = performance.now() - t0;
          return { sessions: size, nothingExpiredMs: live, allExpiredMs: expired, left: sk.sessions.size };
        },
        close: async () => {
          sk.close();
          sk.clear();
          es.clear();
        },
      };
    },
  },

  redis: {
    label: 'RedisStore',
    async open(size, prefix) {
      const { Store, missing } = await loadStore('redis', 'RedisStore');
      if (missing) throw new Error(missing);
      const { RedisStore: ConnectRedis } = await import('connect-redis');
      const client = await nodeRedis();
      const io = await ioRedis();
      const skPrefix = `${prefix}sk:`;
      const crPrefix = `${prefix}cr:`;
      const sk = new Store({ client, prefix: skPrefix, userId });
      const skUserPrefix = sk.userPrefix;
      const skIo = new Store({ client: io, prefix: skPrefix, userId });
      const skBare = new Store({ client, prefix: skPrefix });
      const cr = new ConnectRedis({ client, prefix: crPrefix });
      const ttl = String(cookieMaxAge);
      // The layout each store writes: the record with a PX (connect-redis: EX), and for sessionkit
      // the user's set, as its FILE_UNDER_USER script leaves it.
      await redisFill(client, size, { prefix: skPrefix, users: skUserPrefix, unit: 'PX', ttl }, 'sessionkit keys and user sets');
      await redisFill(client, size, { prefix: crPrefix, unit: 'EX', ttl: cookieMaxAge / 1000 }, 'connect-redis keys');
      return {
        contenders: [
          { id: 'sk', label: 'sessionkit RedisStore, node-redis (user index)', sessionkit: true, store: sk },
          { id: 'sk-io', label: 'sessionkit RedisStore, ioredis (user index)', sessionkit: true, store: skIo },
          { id: 'sk-bare', label: 'sessionkit RedisStore, node-redis, no user index', sessionkit: true, variant: true, store: skBare },
          { id: 'cr', label: 'connect-redis (node-redis)', store: cr },
        ],
        bytes: async () => [
          { id: 'sk', bytesPerSession: await redisBytes(client, skPrefix, sid, (n) => `${skUserPrefix}u${n}`, size), how: 'MEMORY USAGE of the key and its user set, 200 sampled' },
          { id: 'cr', bytesPerSession: await redisBytes(client, crPrefix, sid, undefined, size), how: 'MEMORY USAGE of the key, 200 sampled' },
        ],
        userStores: [
          { id: 'sk', store: sk },
          { id: 'sk-io', store: skIo },
        ],
        close: async () => {
          for (const store of [sk, skIo, skBare]) store.close();
          await deleteRedisKeys(client, prefix);
          await client.quit();
          io.disconnect();
        },
      };
    },
  },

  postgres: {
    label: 'PostgresStore',
    async open(size) {
      const { Store, missing } = await loadStore('postgres', 'PostgresStore');
      if (missing) throw new Error(missing);
      const { default: pg } = await import('pg');
      const { default: session } = await import('express-session');
      const PgSimple = (await import('connect-pg-simple')).default(session);
      // Connections stay open between cells (pg closes idle ones after 10 s by default).
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 32, connectionTimeoutMillis: 5000, idleTimeoutMillis: 0 });
      const skTable = `skbench_${unique}_sk`;
      // connect-pg-simple names its primary key "session_pkey" whatever its table, and index
      // names are unique per schema: its table gets a schema of its own, so no other table of
      // its (a test's, another run's) collides with it.
      const peerSchema = `skbench_${unique}_pg`;
      const peerTable = 'session';
      const peerQualified = `"${peerSchema}"."${peerTable}"`;
      const drop = async () => {
        for (const t of [skTable, `${skTable}_users`]) await pool.query(`DROP TABLE IF EXISTS "${t}"`);
        await pool.query(`DROP SCHEMA IF EXISTS "${peerSchema}" CASCADE`);
      };
      const sk = new Store({ pool, tableName: skTable, userId, pruneInterval: false });
      const skBare = new Store({ pool, tableName: skTable, pruneInterval: false, createTable: false });
      await pool.query(`CREATE SCHEMA IF NOT EXISTS "${peerSchema}"`);
      const peer = new PgSimple({ pool, schemaName: peerSchema, tableName: peerTable, createTableIfMissing: true, pruneSessionInterval: false });
      try {
        // The first query of each store creates its table.
        await cb(sk, 'get', 'none');
        await cb(peer, 'get', 'none');
        const fill = (table, idOf, expiresSql, from, to) =>
          pool.query(
            `INSERT INTO ${table} (sid, sess, expire)
             SELECT ${idOf}, replace($1, '#N#', g::text)::json, ${expiresSql} FROM generate_series($2::int, $3::int) g`,
            [template, from, to - 1],
          );
        const live = `now()::timestamp + interval '1 hour'`;
        await inSlices(size, 100_000, async (from, to) => {
          await fill(`"${skTable}"`, 'md5(g::text)', live, from, to);
          await pool.query(`INSERT INTO "${skTable}_users" (user_id, sid) SELECT 'u' || g, md5(g::text) FROM generate_series($1::int, $2::int) g`, [from, to - 1]);
          await fill(peerQualified, 'md5(g::text)', live, from, to);
        }, 'rows of both tables and the user index');
        for (const t of [`"${skTable}"`, `"${skTable}_users"`, peerQualified]) await pool.query(`VACUUM ANALYZE ${t}`);
      } catch (err) {
        await drop();
        await pool.end();
        throw err;
      }
      const addExpired = (table) => () =>
        pool.query(
          `INSERT INTO ${table} (sid, sess, expire)
           SELECT md5('expired' || g), replace($1, '#N#', g::text)::json, now()::timestamp - interval '1 minute' FROM generate_series(0, $2::int) g`,
          [template, EXPIRED - 1],
        );
      const tableBytes = async (tables) => {
        let total = 0;
        for (const t of tables) total += Number((await pool.query('SELECT pg_total_relation_size($1) AS n', [t])).rows[0].n);
        return total / size;
      };
      return {
        contenders: [
          { id: 'sk', label: 'sessionkit PostgresStore (user index)', sessionkit: true, store: sk },
          { id: 'sk-bare', label: 'sessionkit PostgresStore, no user index', sessionkit: true, variant: true, store: skBare },
          { id: 'peer', label: 'connect-pg-simple', store: peer },
        ],
        cleanup: {
          sk: { addExpired: addExpired(`"${skTable}"`), run: () => sk.prune(), how: 'prune(): DELETE ... LIMIT 1000 FOR UPDATE SKIP LOCKED per statement' },
          peer: {
            addExpired: addExpired(peerQualified),
            run: () => new Promise((resolve) => peer.pruneSessions(() => resolve(EXPIRED))),
            how: 'pruneSessions(): one DELETE',
          },
        },
        bytes: async () => [
          { id: 'sk', bytesPerSession: await tableBytes([`"${skTable}"`, `"${skTable}_users"`]), how: 'pg_total_relation_size of the table and its user index table / sessions' },
          { id: 'peer', bytesPerSession: await tableBytes([peerQualified]), how: 'pg_total_relation_size / sessions' },
        ],
        userStores: [{ id: 'sk', store: sk }],
        close: async () => {
          await sk.close();
          await skBare.close();
          await peer.close();
          await drop();
          await pool.end();
        },
      };
    },
  },

  mysql: {
    label: 'MySQLStore',
    async open(size) {
      const { Store, missing } = await loadStore('mysql', 'MySQLStore');
      if (missing) throw new Error(missing);
      const mysql = await import('mysql2/promise');
      const { default: session } = await import('express-session');
      const ExpressMySQL = (await import('express-mysql-session')).default(session);
      const pool = mysql.createPool({ uri: mysqlUrl, connectionLimit: 32, connectTimeout: 5000 });
      const peerPool = mysql.createPool({ uri: mysqlUrl, connectionLimit: 32, connectTimeout: 5000 });
      const skTable = `skbench_${unique}_sk`;
      const peerTable = `skbench_${unique}_ems`;
      const drop = async () => {
        for (const t of [skTable, `${skTable}_users`, peerTable]) await pool.query(`DROP TABLE IF EXISTS ${quoteMy(t)}`);
      };
      const sk = new Store({ pool, tableName: skTable, userId, pruneInterval: false });
      const skBare = new Store({ pool, tableName: skTable, pruneInterval: false, createTable: false });
      const peer = new ExpressMySQL(
        { clearExpired: false, endConnectionOnClose: false, schema: { tableName: peerTable } },
        peerPool,
      );
      try {
        await cb(sk, 'length');
        await cb(peer, 'length');
        const live = 'unix_timestamp() + 3600';
        // InnoDB keeps rows in primary key order: each sixteenth of the md5 key space (its first
        // hex digit) is inserted sorted, so the pages fill in order instead of at random (a
        // random-order fill of a million rows outgrows a small buffer pool and crawls).
        const seq = `seq_0_to_${size - 1}`;
        const t0 = performance.now();
        for (const [i, digit] of [...'0123456789abcdef'].entries()) {
          const part = `FROM ${seq} WHERE left(md5(seq), 1) = '${digit}'`;
          await pool.query(`INSERT INTO ${quoteMy(skTable)} (session_id, expires, data) SELECT md5(seq), ${live}, replace(?, '#N#', seq) ${part} ORDER BY 1`, [template]);
          await pool.query(`INSERT INTO ${quoteMy(`${skTable}_users`)} (user_id, session_id) SELECT concat('u', seq), md5(seq) ${part} ORDER BY 1`);
          await pool.query(`INSERT INTO ${quoteMy(peerTable)} (session_id, expires, data) SELECT md5(seq), ${live}, replace(?, '#N#', seq) ${part} ORDER BY 1`, [template]);
          if (size >= 100_000 && i % 4 === 3) say(`      rows of both tables and the user index: ${i + 1} / 16 of the key space in ${seconds(t0)}`);
        }
        for (const t of [skTable, `${skTable}_users`, peerTable]) await pool.query(`ANALYZE TABLE ${quoteMy(t)}`);
      } catch (err) {
        await drop();
        await pool.end();
        await peerPool.end();
        throw err;
      }
      const addExpired = (table) => () =>
        pool.query(
          `INSERT INTO ${quoteMy(table)} (session_id, expires, data)
           SELECT md5(concat('expired', seq)), unix_timestamp() - 60, replace(?, '#N#', seq) FROM seq_0_to_${EXPIRED - 1}`,
          [template],
        );
      const tableBytes = async (tables) => {
        let total = 0;
        for (const t of tables) {
          const [rows] = await pool.query(
            'SELECT data_length + index_length AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?', [t]);
          total += Number(rows[0]?.n ?? 0);
        }
        return total / size;
      };
      return {
        contenders: [
          { id: 'sk', label: 'sessionkit MySQLStore (user index)', sessionkit: true, store: sk },
          { id: 'sk-bare', label: 'sessionkit MySQLStore, no user index', sessionkit: true, variant: true, store: skBare },
          { id: 'peer', label: 'express-mysql-session', store: peer },
        ],
        cleanup: {
          sk: { addExpired: addExpired(skTable), run: () => sk.prune(), how: 'prune(): SELECT ... LIMIT 1000, then DELETE of those, per batch' },
          peer: { addExpired: addExpired(peerTable), run: () => peer.clearExpiredSessions(), how: 'clearExpiredSessions(): one DELETE (no index on expires)' },
        },
        bytes: async () => [
          { id: 'sk', bytesPerSession: await tableBytes([skTable, `${skTable}_users`]), how: 'data_length + index_length (InnoDB estimate) of both tables / sessions' },
          { id: 'peer', bytesPerSession: await tableBytes([peerTable]), how: 'data_length + index_length (InnoDB estimate) / sessions' },
        ],
        userStores: [{ id: 'sk', store: sk }],
        close: async () => {
          await sk.close();
          await skBare.close();
          await peer.close();
          await drop();
          await pool.end();
          await peerPool.end();
        },
      };
    },
  },

  sqlite: {
    label: 'SQLiteStore',
    async open(size) {
      const { Store, missing } = await loadStore('sqlite', 'SQLiteStore');
      if (missing) throw new Error(missing);
      let ConnectSqlite;
      try {
        const { default: session } = await import('express-session');
        ConnectSqlite = (await import('connect-sqlite3')).default(session);
        // connect-sqlite3 loads its optional sqlite3 dependency only when a store is made.
        createRequire(require.resolve('connect-sqlite3'))('sqlite3');
      } catch (err) {
        throw new Error(`connect-sqlite3 (with the sqlite3 package) is not installed: ${err.message}`);
      }
      const { default: Database } = await import('better-sqlite3');
      const dir = mkdtempSync(join(tmpdir(), 'sessionkit-storebench-'));
      const skPath = join(dir, 'sessionkit.db');
      const peerFile = 'connect-sqlite3.db';
      const sk = new Store({ path: skPath, userId, pruneInterval: false });
      await cb(sk, 'length');
      // connect-sqlite3's own table (its CREATE TABLE), filled beforehand; WAL as its concurrentDb option sets.
      const expires = Date.now() + cookieMaxAge;
      {
        // Each file filled by one connection, 100,000 rows per transaction through one prepared
        // statement; no fsync while filling (the files are made for this run alone).
        const db = new Database(skPath);
        db.pragma('synchronous = OFF');
        const insert = db.prepare('INSERT INTO sessions (sid, sess, expire) VALUES (?, ?, ?)');
        const file = db.prepare('INSERT INTO sessions_users (user_id, sid) VALUES (?, ?)');
        await inSlices(size, 100_000, async (from, to) => {
          db.transaction(() => {
            for (let n = from; n < to; n++) {
              const id = sid(n);
              insert.run(id, textOf(n), expires);
              file.run(`u${n}`, id);
            }
          })();
          await nextTurn();
        }, 'sessionkit rows and user index');
        db.pragma('wal_checkpoint(TRUNCATE)');
        db.close();
        const peerDb = new Database(join(dir, peerFile));
        peerDb.pragma('journal_mode = WAL');
        peerDb.pragma('synchronous = OFF');
        peerDb.exec('CREATE TABLE IF NOT EXISTS sessions (sid PRIMARY KEY, expired, sess)');
        const peerInsert = peerDb.prepare('INSERT INTO sessions VALUES (?, ?, ?)');
        await inSlices(size, 100_000, async (from, to) => {
          peerDb.transaction(() => {
            for (let n = from; n < to; n++) peerInsert.run(sid(n), expires, textOf(n));
          })();
          await nextTurn();
        }, 'connect-sqlite3 rows');
        peerDb.exec('ANALYZE');
        peerDb.pragma('wal_checkpoint(TRUNCATE)');
        peerDb.close();
      }
      const peer = new ConnectSqlite({ db: peerFile, dir, concurrentDb: true });
      await new Promise((resolve) => peer.client.once('connect', resolve));
      const skBare = new Store({ path: skPath, pruneInterval: false, createTable: false });
      const fileBytes = (name) => {
        let total = 0;
        for (const suffix of ['', '-wal']) {
          try {
            total += statSync(join(dir, name + suffix)).size;
          } catch {
            // no WAL file at this moment
          }
        }
        return total / size;
      };
      return {
        contenders: [
          { id: 'sk', label: 'sessionkit SQLiteStore (user index)', sessionkit: true, store: sk },
          { id: 'sk-bare', label: 'sessionkit SQLiteStore, no user index', sessionkit: true, variant: true, store: skBare },
          { id: 'peer', label: 'connect-sqlite3 (WAL)', store: peer },
        ],
        cleanup: {
          sk: {
            addExpired: async () => {
              const db = new Database(skPath);
              const insert = db.prepare('INSERT INTO sessions (sid, sess, expire) VALUES (?, ?, ?)');
              const past = Date.now() - 60_000;
              db.transaction(() => {
                for (let n = 0; n < EXPIRED; n++) insert.run(expiredSid(n), textOf(n, past), past);
              })();
              db.close();
            },
            run: () => sk.prune(),
            how: 'prune(): DELETE ... LIMIT 1000 per statement, synchronous in better-sqlite3',
          },
          peer: {
            addExpired: () =>
              new Promise((resolve, reject) => {
                const past = Date.now() - 60_000;
                peer.db.serialize(() => {
                  peer.db.run('BEGIN');
                  const insert = peer.db.prepare('INSERT INTO sessions VALUES (?, ?, ?)');
                  for (let n = 0; n < EXPIRED; n++) insert.run(expiredSid(n), past, textOf(n, past));
                  insert.finalize();
                  peer.db.run('COMMIT', (err) => (err ? reject(err) : resolve()));
                });
              }),
            // Its cleanup statement (run at start and once a day; not exported), on its connection.
            run: () => new Promise((resolve, reject) => peer.db.run('DELETE FROM sessions WHERE ? > expired', [Date.now()], (err) => (err ? reject(err) : resolve(EXPIRED)))),
            how: "its startup/daily DELETE ... WHERE ? > expired (no index on expired)",
          },
        },
        bytes: async () => [
          { id: 'sk', bytesPerSession: fileBytes('sessionkit.db'), how: 'database file (and WAL) size / sessions, with the user index table' },
          { id: 'peer', bytesPerSession: fileBytes(peerFile), how: 'database file (and WAL) size / sessions' },
        ],
        userStores: [{ id: 'sk', store: sk }],
        close: async () => {
          await sk.close();
          await skBare.close();
          await new Promise((resolve) => peer.db.close(resolve));
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Measuring.

/** Puts back sessions a destroy cell removed, so every cell runs on the full population. */
async function restore(store, ns) {
  await drive((n) => cb(store, 'set', sid(n), sessionRecord(n)), ns, 32);
}

async function measureCells({ family, size, opened, config, log }) {
  const opsPerCell = config.ops * (families[family].opsFactor ?? 1);
  const cells = [];
  const byKey = new Map();
  const warm = sample(size, Math.min(200, size));
  for (const c of opened.contenders) {
    await drive(operation(c.store, 'get'), warm, 32);
    await drive(operation(c.store, 'set'), warm, 32);
    await drive(operation(c.store, 'touch'), warm, 32);
  }
  for (let round = 1; round <= config.rounds; round++) {
    for (const op of OPS) {
      for (const inFlight of IN_FLIGHT) {
        // The order of contenders alternates between rounds, so neither always runs first.
        const order = round % 2 ? opened.contenders : [...opened.contenders].reverse();
        for (const c of order) {
          if (c.variant && inFlight === 1) continue;
          // Untimed first: the same operation at the same concurrency (pool connections opened
          // again after an idle spell, the server's plans and caches), so that no contender pays
          // for going first.
          const warmNs = sample(size, Math.min(100, Math.ceil(opsPerCell / 10)));
          await drive(operation(c.store, op), warmNs, inFlight);
          if (op === 'destroy') await restore(c.store, warmNs);
          const ns = sample(size, opsPerCell);
          const m = await drive(operation(c.store, op), ns, inFlight);
          if (op === 'destroy') await restore(c.store, ns);
          const key = `${c.id}|${op}|${inFlight}`;
          let cell = byKey.get(key);
          if (!cell) {
            cell = {
              family, size, contender: c.id, label: c.label, sessionkit: Boolean(c.sessionkit), variant: Boolean(c.variant),
              op, inFlight, rounds: [],
            };
            byKey.set(key, cell);
            cells.push(cell);
          }
          cell.rounds.push(m);
          log(`    r${round} ${op.padEnd(7)} ${String(inFlight).padStart(2)} in flight  ${c.label.padEnd(50)} ${fmt(m.opsPerSec).padStart(8)} ops/s  p50 ${ms(m.p50)}  p99 ${ms(m.p99)}`);
        }
      }
    }
  }
  for (const cell of cells) {
    cell.opsPerSec = median(cell.rounds.map((r) => r.opsPerSec));
    cell.p50 = median(cell.rounds.map((r) => r.p50));
    cell.p99 = median(cell.rounds.map((r) => r.p99));
  }
  return cells;
}

/**
 * Gets from 32 workers as requests would make them: each waits for its turn of the event loop
 * first, and its latency counts from before that wait, so time the process spends blocked (a
 * synchronous sweep) shows. Runs until `until()` holds and at least `min` gets are done.
 */
async function probeGets(store, size, until, min) {
  const samples = [];
  const worker = async () => {
    while (!until() || samples.length < min) {
      const t0 = performance.now();
      await nextTurn();
      const n = Math.floor(Math.random() * size);
      await cb(store, 'get', sid(n));
      samples.push({ t0, t1: performance.now() });
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return samples;
}

const latencyStats = (samples) => {
  const sorted = Float64Array.from(samples.map((s) => s.t1 - s.t0)).sort();
  return { count: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN };
};

async function measureCleanup(store, size, cleanup) {
  const baseline = latencyStats(await probeGets(store, size, () => true, 2000));
  await cleanup.addExpired();
  let done = false;
  let window;
  let removed;
  const probing = probeGets(store, size, () => done, 0);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const t0 = performance.now();
  try {
    removed = await cleanup.run();
  } finally {
    window = [t0, performance.now()];
    done = true;
  }
  const samples = await probing;
  const during = latencyStats(samples.filter((s) => s.t1 >= window[0] && s.t0 <= window[1]));
  return { how: cleanup.how, expired: EXPIRED, removed, cleanupMs: window[1] - window[0], baseline, during };
}

async function measureUserDestroy(store) {
  await drive((n) => cb(store, 'set', userSid(n), userRecord(n)), Array.from({ length: USER_SESSIONS }, (_, i) => i), 32);
  const t0 = performance.now();
  const ended = await store.destroyUserSessions(HEAVY_USER);
  const elapsed = performance.now() - t0;
  if (ended !== USER_SESSIONS) throw new Error(`destroyUserSessions ended ${ended} sessions, not ${USER_SESSIONS}`);
  return { sessions: USER_SESSIONS, ms: elapsed };
}

/** Heap bytes per session of both MemoryStores, each in a child process of its own (bench/stores-memory.js). */
function memoryBytes(count) {
  const script = fileURLToPath(new URL('./stores-memory.js', import.meta.url));
  const heap = `--max-old-space-size=${Math.max(2048, Math.ceil(count / 1000) * 4)}`;
  return ['sessionkit', 'express-session'].map((library) =>
    JSON.parse(execFileSync(process.execPath, ['--expose-gc', heap, script, library, String(count)], { encoding: 'utf8' })));
}

// ---------------------------------------------------------------------------------------------

const fmt = (n, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–';
const ms = (n) => (Number.isFinite(n) ? `${n.toFixed(n < 10 ? 2 : 0)} ms` : '–');
const x = (n) => (Number.isFinite(n) ? n.toFixed(2) : '–');

function listFlag(raw, all, name) {
  if (!raw) return all;
  const list = String(raw).split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = list.filter((item) => !all.includes(item));
  if (unknown.length) throw new Error(`unknown ${name}: ${unknown.join(', ')} (known: ${all.join(', ')})`);
  return list;
}

function positive(raw, name, fallback) {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`--${name} must be a positive integer; got ${raw}`);
  return value;
}

export function storeConfig(flags = {}) {
  const sizes = (flags.sizes ?? process.env.BENCH_STORE_SIZES ?? '10000,1000000').split(',').map((s) => positive(s.trim(), 'sizes'));
  return {
    sizes: [...new Set(sizes)].sort((a, b) => a - b),
    ops: positive(flags.ops ?? process.env.BENCH_STORE_OPS, 'ops', 2000),
    rounds: positive(flags.rounds ?? process.env.BENCH_STORE_ROUNDS, 'rounds', 1),
    stores: listFlag(flags.stores ?? process.env.BENCH_STORE_STORES, Object.keys(families), 'stores'),
    stalls: !flags['no-stalls'],
    bytes: !flags['no-bytes'],
  };
}

/**
 * The ratio sessionkit / the store it replaces per cell (ops/s), p99 flatness and the targets,
 * computed from the measurements (again after results of two runs are put together).
 */
export function deriveStoreResults(results) {
  const { cells, config } = results;
  const small = config.sizes[0];
  const large = config.sizes[config.sizes.length - 1];
  const peerOf = (family) => ({ memory: 'es', redis: 'cr', postgres: 'peer', mysql: 'peer', sqlite: 'peer' })[family];
  const find = (family, contender, op, inFlight, size) =>
    cells.find((c) => c.family === family && c.contender === contender && c.op === op && c.inFlight === inFlight && c.size === size);
  for (const cell of cells) {
    if (!cell.sessionkit) continue;
    const peer = find(cell.family, peerOf(cell.family), cell.op, cell.inFlight, cell.size);
    if (!peer) continue;
    // Median of per-round ratios: each round ran both within seconds of each other.
    cell.ratio = median(cell.rounds.map((r, i) => r.opsPerSec / peer.rounds[i]?.opsPerSec));
  }
  const flatness = [];
  if (large !== small) {
    for (const cell of cells) {
      if (cell.size !== large || cell.inFlight !== 1) continue;
      const before = find(cell.family, cell.contender, cell.op, 1, small);
      if (before) flatness.push({ family: cell.family, contender: cell.contender, label: cell.label, sessionkit: cell.sessionkit, op: cell.op, p99Small: before.p99, p99Large: cell.p99, ratio: cell.p99 / before.p99 });
    }
  }
  results.flatness = flatness;
  results.targets = targets(results);
}

function targets(results) {
  const out = [];
  const check = (target, measured, goal, better) => {
    out.push({ target, measured, goal, met: Number.isFinite(measured) ? (better === 'higher' ? measured >= goal : measured <= goal) : null });
  };
  for (const cell of results.cells) {
    if (!cell.sessionkit || cell.variant || cell.inFlight !== 32 || cell.ratio === undefined) continue;
    check(`${cell.label}: ${cell.op}, 32 in flight, ${fmt(cell.size)} sessions, ≥ 1.0× the store it replaces`, cell.ratio, 1, 'higher');
  }
  for (const f of results.flatness) {
    if (!f.sessionkit || !['get', 'set'].includes(f.op)) continue;
    check(`${f.label}: ${f.op} p99 flat (large / small, one at a time) ≤ 1.5`, f.ratio, 1.5, 'lower');
  }
  for (const c of results.stalls?.cleanups ?? []) {
    if (!c.sessionkit) continue;
    check(`${c.label}: p99 of gets during a cleanup of ${fmt(c.expired)} expired sessions ≤ 2× without`, c.during.p99 / c.baseline.p99, 2, 'lower');
  }
  for (const u of results.stalls?.userDestroy ?? []) {
    check(`${u.label}: ending one user's ${fmt(u.sessions)} sessions < 50 ms`, u.ms, 50, 'lower');
  }
  const mem = results.memory ?? [];
  const sk = mem.find((m) => m.library === 'sessionkit');
  const es = mem.find((m) => m.library === 'express-session');
  if (sk && es) check(`MemoryStore bytes per session ≤ 1.1× express-session's (${fmt(sk.sessions)} sessions)`, sk.bytesPerSession / es.bytesPerSession, 1.1, 'lower');
  return out;
}

export async function runStoreBenchmarks({ notes = new Set(), prefix = `skbench:${unique}:stores:`, flags = {}, log = console.log } = {}) {
  const config = storeConfig(flags);
  say = log;
  const runStart = performance.now();
  const results = {
    generatedAt: new Date().toISOString(),
    machine: await machine(),
    config: { ...config, inFlight: IN_FLIGHT, operations: OPS, expired: EXPIRED, userSessions: USER_SESSIONS },
    cells: [],
    bytes: [],
    stalls: { sweeps: [], cleanups: [], userDestroy: [] },
    /** Seconds each store took at each size: filling, measuring, the stalls, dropping what it filled. */
    durations: [],
    notes: [],
  };
  const note = (text) => {
    notes.add(text);
    results.notes.push(text);
    log(`  ${text}`);
  };
  log(
    `\n== stores at scale: ${config.sizes.map((s) => fmt(s)).join(' and ')} sessions; ${fmt(config.ops)} random-id operations per cell, ` +
      `${IN_FLIGHT.join(' and ')} in flight, ${config.rounds} interleaved round(s)`,
  );
  const large = config.sizes[config.sizes.length - 1];
  for (const name of config.stores) {
    const family = families[name];
    for (const size of config.sizes) {
      log(`\n  ${family.label} vs its peer, ${fmt(size)} sessions: filling`);
      let opened;
      const took = { family: name, size };
      results.durations.push(took);
      let t0 = performance.now();
      const phase = (key) => {
        took[key] = (performance.now() - t0) / 1000;
        t0 = performance.now();
        return `${took[key].toFixed(1)} s`;
      };
      try {
        opened = await family.open(size, `${prefix}${name}:${size}:`);
      } catch (err) {
        note(`skipped ${family.label} at ${fmt(size)} sessions: ${err.message}`);
        break;
      }
      log(`    filled in ${phase('fill')}`);
      try {
        results.cells.push(...(await measureCells({ family: name, size, opened, config, log })));
        log(`    cells measured in ${phase('cells')}`);
        const label = (id) => opened.contenders.find((c) => c.id === id)?.label ?? id;
        if (config.bytes && opened.bytes && size === large) {
          for (const b of await opened.bytes()) {
            results.bytes.push({ family: name, size, contender: b.id, label: label(b.id), sessionkit: b.id.startsWith('sk'), bytesPerSession: b.bytesPerSession, how: b.how });
            log(`    bytes per session  ${label(b.id).padEnd(50)} ${fmt(b.bytesPerSession)}  (${b.how})`);
          }
        }
        if (config.stalls && size === large) {
          for (const u of opened.userStores ?? []) {
            const m = await measureUserDestroy(u.store);
            results.stalls.userDestroy.push({ family: name, size, contender: u.id, label: label(u.id), ...m });
            log(`    destroyUserSessions, ${m.sessions} sessions  ${label(u.id).padEnd(36)} ${ms(m.ms)}`);
          }
          for (const [id, cleanup] of Object.entries(opened.cleanup ?? {})) {
            const c = opened.contenders.find((k) => k.id === id);
            const m = await measureCleanup(c.store, size, cleanup);
            results.stalls.cleanups.push({ family: name, size, contender: id, label: c.label, sessionkit: Boolean(c.sessionkit), ...m });
            log(
              `    cleanup of ${fmt(EXPIRED)} expired  ${c.label.padEnd(42)} ${ms(m.cleanupMs)}; gets p99 ${ms(m.during.p99)} during ` +
                `(max ${ms(m.during.max)}, ${m.during.count} gets) vs ${ms(m.baseline.p99)} without`,
            );
          }
          if (opened.sweeps) {
            const s = await opened.sweeps();
            results.stalls.sweeps.push({ family: name, ...s });
            log(`    MemoryStore sweep of ${fmt(s.sessions)} sessions: ${ms(s.nothingExpiredMs)} with nothing expired, ${ms(s.allExpiredMs)} with all expired`);
          }
          log(`    bytes and stalls measured in ${phase('stalls')}`);
        }
      } catch (err) {
        note(`${family.label} at ${fmt(size)} sessions failed: ${err.stack || err.message}`);
      } finally {
        await opened.close().catch((err) => note(`closing ${family.label}: ${err.message}`));
        log(`    dropped what it filled in ${phase('drop')} (${seconds(runStart)} since the start)`);
      }
    }
  }
  if (config.bytes && config.stores.includes('memory')) {
    const t0 = performance.now();
    results.memory = memoryBytes(large);
    results.durations.push({ family: 'memory-bytes', size: large, bytes: (performance.now() - t0) / 1000 });
    for (const m of results.memory) log(`  heap bytes per session, ${m.store} at ${fmt(m.sessions)} sessions: ${fmt(m.bytesPerSession)}`);
  }
  results.totalSeconds = (performance.now() - runStart) / 1000;
  log(`  stores at scale: ${results.totalSeconds.toFixed(0)} s in all`);
  deriveStoreResults(results);
  // What the load benchmark's markdown.js read before this table existed: ops/s at 32 in flight at the largest size.
  results.concurrency = 32;
  results.population = large;
  results.ops = [];
  for (const name of config.stores) {
    for (const cell of results.cells.filter((c) => c.family === name && c.size === large && c.inFlight === 32 && !c.variant)) {
      let row = results.ops.find((r) => r.store === cell.label);
      if (!row) results.ops.push((row = { store: cell.label, reference: !cell.sessionkit, ops: {} }));
      row.ops[cell.op] = cell.opsPerSec;
    }
  }
  results.memory ??= [];
  log('');
  log(renderStoreMarkdown(results));
  return results;
}

// ---------------------------------------------------------------------------------------------
// Markdown.

const mark = (met) => (met == null ? '?' : met ? 'pass' : '**miss**');

/** The store section of the benchmark results, as Markdown. */
export function renderStoreMarkdown(results) {
  if (!results?.cells) return '';
  const { config: c, machine: m } = results;
  const lines = [];
  const small = c.sizes[0];
  const large = c.sizes[c.sizes.length - 1];
  lines.push(
    `Stores measured through their public callback API: ${fmt(c.ops)} random-id operations per cell (MemoryStores: ten times more, at most one per session), ${c.inFlight.join(' and ')} in flight, ` +
      `at ${c.sizes.map((s) => fmt(s)).join(' and ')} sessions, median of ${c.rounds} interleaved round(s); ` +
      `${m ? `${m.cpu}, ${m.cores} cores, Node ${m.node}; ` : ''}services on loopback; ${results.generatedAt?.slice(0, 10) ?? ''}. ` +
      'sessionkit\'s stores run with the user index on (`userId`); "no user index" rows show what it costs.',
    '',
  );
  for (const size of c.sizes) {
    for (const inFlight of c.inFlight) {
      lines.push(`**${fmt(size)} sessions, ${inFlight} in flight** (ops/s; p50 / p99 in ms; × = sessionkit ops/s ÷ the replaced store's, median of per-round ratios)`, '');
      lines.push('| store | get | set | touch | destroy | × get | × set | × touch | × destroy |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const family of c.stores) {
        const rows = results.cells.filter((k) => k.family === family && k.size === size && k.inFlight === inFlight);
        const labels = [...new Set(rows.map((k) => k.label))];
        for (const label of labels) {
          const byOp = Object.fromEntries(rows.filter((k) => k.label === label).map((k) => [k.op, k]));
          const cell = (op) => (byOp[op] ? `${fmt(byOp[op].opsPerSec)} (${x(byOp[op].p50)} / ${x(byOp[op].p99)})` : '');
          const ratio = (op) => {
            const k = byOp[op];
            if (k?.ratio === undefined) return '';
            const text = x(k.ratio);
            return inFlight === 32 && !k.variant && k.ratio < 1 ? `**${text}**` : text;
          };
          lines.push(`| ${label} | ${OPS.map(cell).join(' | ')} | ${OPS.map(ratio).join(' | ')} |`);
        }
      }
      lines.push('');
    }
  }
  if (results.flatness?.length) {
    lines.push(`**Flatness**: p99 at ${fmt(large)} ÷ p99 at ${fmt(small)} sessions, one at a time (target for get and set ≤ 1.5)`, '');
    lines.push('| store | get | set | touch | destroy |', '|---|---:|---:|---:|---:|');
    const labels = [...new Set(results.flatness.map((f) => f.label))];
    for (const label of labels) {
      const byOp = Object.fromEntries(results.flatness.filter((f) => f.label === label).map((f) => [f.op, f]));
      lines.push(`| ${label} | ${OPS.map((op) => (byOp[op] ? `${x(byOp[op].ratio)} (${x(byOp[op].p99Small)} → ${x(byOp[op].p99Large)} ms)` : '')).join(' | ')} |`);
    }
    lines.push('');
  }
  const memory = results.memory ?? [];
  if (memory.length || results.bytes?.length) {
    lines.push(`**Bytes per session** at ${fmt(large)} sessions`, '', '| store | bytes | measured as |', '|---|---:|---|');
    for (const mem of memory) lines.push(`| ${mem.store} | ${fmt(mem.bytesPerSession)} | V8 heap used after GC / sessions, own process (record JSON: ${mem.recordBytes} bytes) |`);
    for (const b of results.bytes ?? []) lines.push(`| ${b.label} | ${fmt(b.bytesPerSession)} | ${b.how} |`);
    lines.push('');
  }
  const s = results.stalls ?? {};
  if (s.sweeps?.length || s.cleanups?.length || s.userDestroy?.length) {
    lines.push('**Stalls**', '');
    for (const sw of s.sweeps ?? []) {
      lines.push(`- MemoryStore sweep (\`prune()\`, what the \`checkPeriod\` timer runs) over ${fmt(sw.sessions)} sessions: ${ms(sw.nothingExpiredMs)} with nothing expired, ${ms(sw.allExpiredMs)} with every session expired (wall time; requests are served between slices).`);
    }
    if (s.cleanups?.length) {
      lines.push('', `Cleanup of ${fmt(c.expired)} expired sessions added to the ${fmt(large)}, with 32 getters running (each get waits for its event-loop turn, so a blocked process shows):`, '');
      lines.push('| store | cleanup | took | gets p99 without | gets p99 during | during ÷ without | max get during | gets during |', '|---|---|---:|---:|---:|---:|---:|---:|');
      for (const k of s.cleanups) {
        lines.push(`| ${k.label} | ${k.how} | ${ms(k.cleanupMs)} | ${ms(k.baseline.p99)} | ${ms(k.during.p99)} | ${x(k.during.p99 / k.baseline.p99)} | ${ms(k.during.max)} | ${k.during.count} |`);
      }
      lines.push('', "Redis expires keys itself: RedisStore and connect-redis have no cleanup. express-session's MemoryStore has no sweep (an expired session is dropped when read).");
    }
    if (s.userDestroy?.length) {
      lines.push('', `Ending one user's ${fmt(c.userSessions)} sessions (\`destroyUserSessions\`, among ${fmt(large)}; the replaced stores have no user index):`, '');
      for (const u of s.userDestroy) lines.push(`- ${u.label}: ${ms(u.ms)}`);
    }
    lines.push('');
  }
  if (results.durations?.length) {
    const sec = (v) => (Number.isFinite(v) ? `${v.toFixed(1)} s` : '');
    lines.push(`**How long the run took** (${sec(results.totalSeconds)} in all)`, '', '| store | sessions | fill | cells | bytes and stalls | drop |', '|---|---:|---:|---:|---:|---:|');
    for (const d of results.durations) {
      if (d.bytes !== undefined) lines.push(`| MemoryStore heap bytes (two child processes) | ${fmt(d.size)} | ${sec(d.bytes)} | | | |`);
      else lines.push(`| ${families[d.family]?.label ?? d.family} | ${fmt(d.size)} | ${sec(d.fill)} | ${sec(d.cells)} | ${sec(d.stalls)} | ${sec(d.drop)} |`);
    }
    lines.push('');
  }
  if (results.targets?.length) {
    lines.push('**Targets** (issue: stores at scale)', '', '| target | measured | goal | |', '|---|---:|---:|---|');
    for (const t of results.targets) lines.push(`| ${t.target} | ${x(t.measured)} | ${t.goal} | ${mark(t.met)} |`);
    const missed = results.targets.filter((t) => t.met === false).length;
    lines.push('', `${results.targets.length - missed} of ${results.targets.length} met.`, '');
  }
  if (results.notes?.length) lines.push('Notes:', '', ...results.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let flags;
  try {
    ({ values: flags } = parseArgs({
      options: {
        sizes: { type: 'string' }, ops: { type: 'string' }, rounds: { type: 'string' }, stores: { type: 'string' },
        'no-stalls': { type: 'boolean' }, 'no-bytes': { type: 'boolean' }, json: { type: 'string' }, markdown: { type: 'string' },
      },
    }));
    storeConfig(flags);
  } catch (err) {
    console.error(`bench/stores.js: ${err.message}`);
    process.exit(2);
  }
  ensureBuilt();
  const results = await runStoreBenchmarks({ flags });
  if (flags.json) writeFileSync(flags.json, JSON.stringify(results, null, 2) + '\n');
  if (flags.markdown) writeFileSync(flags.markdown, renderStoreMarkdown(results));
}
