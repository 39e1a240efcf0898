#!/usr/bin/env node
// Store micro-benchmarks: get / set / touch (and, for sessionkit's stores, the conditional write
// behind delta saves) operations per second for every store in the package that exists, and
// MemoryStore's bytes per session at 100,000 sessions. Run alone: `node bench/stores.js`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { databaseUrl, deleteRedisKeys, ensureBuilt, loadStore, mysqlUrl, redisUrl, sessionRecord } from './common.js';

const seconds = Number(process.env.BENCH_STORE_DURATION) || 1.5;
/** Operations in flight at once, as concurrent requests would have them. */
const concurrency = 16;
/** Sessions each operation cycles over. */
const population = 1000;
const memorySessions = 100_000;

const unique = `${Date.now().toString(36)}_${process.pid}`;

function cb(store, method, ...args) {
  return new Promise((resolve, reject) => {
    store[method](...args, (err, value) => (err ? reject(err) : resolve(value)));
  });
}

async function redisClient() {
  const { createClient } = await import('redis');
  const client = createClient({ url: redisUrl, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/**
 * Each store: how to open it (returning { store, close }) and where it comes from. `open`
 * throws with a clear message when the store or its service isn't there; the run notes it.
 */
function storeDefinitions(prefix) {
  return [
    {
      name: 'MemoryStore',
      open: async () => {
        const { MemoryStore } = await import('sessionkit');
        const store = new MemoryStore();
        return { store, close: () => store.close() };
      },
    },
    {
      name: 'RedisStore',
      open: async () => {
        const { Store, missing } = await loadStore('redis', 'RedisStore');
        if (missing) throw new Error(missing);
        const client = await redisClient();
        const keyPrefix = `${prefix}sk:`;
        return {
          store: new Store({ client, prefix: keyPrefix }),
          close: async () => {
            await deleteRedisKeys(client, keyPrefix);
            await client.quit();
          },
        };
      },
    },
    {
      name: 'SQLiteStore',
      open: async () => {
        const { Store, missing } = await loadStore('sqlite', 'SQLiteStore');
        if (missing) throw new Error(missing);
        const dir = mkdtempSync(join(tmpdir(), 'sessionkit-bench-'));
        const store = new Store({ path: join(dir, 'sessions.db') });
        return {
          store,
          close: async () => {
            await store.close?.();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    },
    {
      name: 'PostgresStore',
      open: async () => {
        const { Store, missing } = await loadStore('postgres', 'PostgresStore');
        if (missing) throw new Error(missing);
        const { default: pg } = await import('pg');
        const pool = new pg.Pool({ connectionString: databaseUrl, max: concurrency, connectionTimeoutMillis: 3000 });
        const tableName = `skbench_${unique}`;
        const store = new Store({ pool, tableName, createTable: true });
        return {
          store,
          close: async () => {
            await store.close?.();
            await pool.query(`DROP TABLE IF EXISTS "${tableName}"`);
            await pool.end();
          },
        };
      },
    },
    {
      name: 'MySQLStore',
      open: async () => {
        const { Store, missing } = await loadStore('mysql', 'MySQLStore');
        if (missing) throw new Error(missing);
        const mysql = await import('mysql2/promise');
        const pool = mysql.createPool({ uri: mysqlUrl, connectionLimit: concurrency, connectTimeout: 3000 });
        const tableName = `skbench_${unique}`;
        const store = new Store({ pool, tableName, createTable: true });
        return {
          store,
          close: async () => {
            await store.close?.();
            await pool.query(`DROP TABLE IF EXISTS \`${tableName}\``);
            await pool.end();
          },
        };
      },
    },
    {
      name: 'express-session MemoryStore',
      reference: true,
      open: async () => {
        const { default: session } = await import('express-session');
        return { store: new session.MemoryStore(), close: () => {} };
      },
    },
    {
      name: 'connect-redis',
      reference: true,
      open: async () => {
        const { RedisStore } = await import('connect-redis');
        const client = await redisClient();
        const keyPrefix = `${prefix}cr:`;
        return {
          store: new RedisStore({ client, prefix: keyPrefix }),
          close: async () => {
            await deleteRedisKeys(client, keyPrefix);
            await client.quit();
          },
        };
      },
    },
  ];
}

/**
 * Runs `op(i)` from `concurrency` workers for `seconds`, after a warm-up of a fifth of that;
 * worker w uses sessions w, w+concurrency, ...
 */
async function opsPerSecond(op, warmup = true) {
  if (warmup) await opsPerSecond(op, false);
  let count = 0;
  const end = performance.now() + (warmup ? seconds : seconds / 5) * 1000;
  const worker = async (w) => {
    for (let i = w; performance.now() < end; i += concurrency) {
      await op(i % population);
      count++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return count / ((performance.now() - start) / 1000);
}

async function measure(store) {
  const ids = Array.from({ length: population }, (_, i) => `bench-${unique}-${i}`);
  const records = ids.map((_, i) => sessionRecord(i));
  for (let i = 0; i < population; i++) await cb(store, 'set', ids[i], records[i]);
  const ops = {};
  ops.get = await opsPerSecond(async (i) => {
    if (!(await cb(store, 'get', ids[i]))) throw new Error(`get found no session ${ids[i]}`);
  });
  ops.set = await opsPerSecond((i) => cb(store, 'set', ids[i], records[i]));
  if (typeof store.touch === 'function') ops.touch = await opsPerSecond((i) => cb(store, 'touch', ids[i], records[i]));
  if (typeof store.getVersioned === 'function' && typeof store.setIfVersion === 'function') {
    // The conditional write a delta save makes when nobody else wrote: each worker keeps its
    // sessions' versions, so every write matches.
    const versions = new Map();
    for (const id of ids) versions.set(id, (await store.getVersioned(id)).version);
    ops.setIfVersion = await opsPerSecond(async (i) => {
      const result = await store.setIfVersion(ids[i], versions.get(ids[i]), records[i]);
      if (!result.written) throw new Error(`setIfVersion did not write ${ids[i]}`);
      versions.set(ids[i], result.version);
    });
  }
  return ops;
}

/** Bytes of heap per session, measured in a child process with --expose-gc. */
function memoryPerSession(library) {
  const script = fileURLToPath(new URL('./memory.js', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', script, library, String(memorySessions)], { encoding: 'utf8' });
  return JSON.parse(out);
}

const fmt = (n) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));

export async function runStoreBenchmarks({ notes = new Set(), prefix = `skbench:${unique}:stores:` } = {}) {
  console.log(`\n== stores: operations per second, ${concurrency} in flight, ${seconds} s each, ${population} sessions of ~300 bytes`);
  const results = { seconds, concurrency, population, ops: [], memory: [] };
  for (const def of storeDefinitions(prefix)) {
    let opened;
    try {
      opened = await def.open();
    } catch (err) {
      const note = `skipped ${def.name} in the store micro-benchmarks: ${err.message}`;
      notes.add(note);
      console.log(`  ${note}`);
      continue;
    }
    try {
      const ops = await measure(opened.store);
      results.ops.push({ store: def.name, reference: Boolean(def.reference), ops });
      console.log(
        `  ${(def.name + (def.reference ? ' (reference)' : '')).padEnd(40)}` +
          ['get', 'set', 'touch', 'setIfVersion'].map((k) => `${k} ${fmt(ops[k]).padStart(9)}`).join('  '),
      );
    } catch (err) {
      const note = `${def.name} failed in the store micro-benchmarks: ${err.message}`;
      notes.add(note);
      console.log(`  ${note}`);
    } finally {
      await opened.close();
    }
  }
  console.log(`\n== memory: heap bytes per session in a MemoryStore holding ${memorySessions.toLocaleString('en-US')} sessions`);
  for (const library of ['sessionkit', 'express-session']) {
    const m = memoryPerSession(library);
    results.memory.push(m);
    console.log(`  ${m.store.padEnd(40)} ${fmt(m.bytesPerSession)} bytes/session (record JSON: ${m.recordBytes} bytes)`);
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureBuilt();
  const notes = new Set();
  await runStoreBenchmarks({ notes });
}
