#!/usr/bin/env node
// Two builds of a SQL store side by side, interleaved round by round so both meet the same load:
// ending one user's 1,000 sessions (destroyUserSessions, among 10,000) and re-saving sessions
// already filed under their user (set, one at a time). Medians of the rounds.
//
//   node bench/stores-ab.js OLD_DIST NEW_DIST postgres|mysql|sqlite [rounds=9]
//
// OLD_DIST and NEW_DIST are the dist/ folders of two builds (`npm run build` in two checkouts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { databaseUrl, median, mysqlUrl } from './common.js';

const [oldDist, newDist, which, roundsArg] = process.argv.slice(2);
if (!oldDist || !newDist || !['postgres', 'mysql', 'sqlite'].includes(which)) {
  console.error('usage: node bench/stores-ab.js OLD_DIST NEW_DIST postgres|mysql|sqlite [rounds]');
  process.exit(2);
}
const rounds = Number(roundsArg ?? 9);
const builds = { old: resolve(oldDist), new: resolve(newDist) };
const userId = (data) => data.user?.id;
const record = (n, user) => ({
  cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000).toISOString(), httpOnly: true, path: '/' },
  user: { id: user }, n, name: 'x'.repeat(100),
});
const dir = mkdtempSync(join(tmpdir(), 'sessionkit-stores-ab-'));
const tableOf = (version) => `skab_${version}_${process.pid}`;

async function open(version) {
  const load = (entry) => import(pathToFileURL(join(builds[version], entry)).href);
  const tableName = tableOf(version);
  if (which === 'postgres') return new (await load('postgres.js')).PostgresStore({ connectionString: databaseUrl, tableName, userId, pruneInterval: false });
  if (which === 'mysql') return new (await load('mysql.js')).MySQLStore({ uri: mysqlUrl, tableName, userId, pruneInterval: false });
  return new (await load('sqlite.js')).SQLiteStore({ path: join(dir, `${version}.db`), userId, pruneInterval: false });
}

/** `count` sessions written 25 at a time (a pool's worth, well inside commandTimeout). */
async function fill(store, count, idOf, userOf) {
  for (let from = 0; from < count; from += 25) {
    await Promise.all(Array.from({ length: Math.min(25, count - from) }, (_, i) => store.set(idOf(from + i), record(from + i, userOf(from + i)))));
  }
}

const stores = { old: await open('old'), new: await open('new') };
const out = { old: { end: [], resave: [] }, new: { end: [], resave: [] } };
try {
  for (const store of Object.values(stores)) await fill(store, 10_000, (n) => `o_${n}`, (n) => `u${n}`);
  for (let round = 0; round < rounds; round++) {
    for (const version of round % 2 ? ['new', 'old'] : ['old', 'new']) {
      const store = stores[version];
      await fill(store, 1000, (n) => `h${round}_${n}`, () => 'heavy');
      let t0 = performance.now();
      const ended = await store.destroyUserSessions('heavy');
      out[version].end.push(performance.now() - t0);
      if (ended !== 1000) throw new Error(`${version}: destroyUserSessions ended ${ended} sessions, not 1000`);
      t0 = performance.now();
      for (let i = 0; i < 200; i++) {
        const n = (round * 200 + i) % 10_000;
        await store.set(`o_${n}`, record(n, `u${n}`));
      }
      out[version].resave.push((performance.now() - t0) / 200);
    }
  }
  for (const version of ['old', 'new']) {
    const { end, resave } = out[version];
    console.log(`${which} ${version}: destroyUserSessions(1000) median ${median(end).toFixed(1)} ms (rounds: ${end.map((v) => v.toFixed(0)).join(' ')}); ` +
      `re-save of a filed session median ${median(resave).toFixed(2)} ms`);
  }
} finally {
  for (const store of Object.values(stores)) {
    await store.clear().catch(() => undefined);
    await store.close();
  }
  if (which === 'postgres') {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: databaseUrl });
    for (const v of ['old', 'new']) await pool.query(`DROP TABLE IF EXISTS "${tableOf(v)}", "${tableOf(v)}_users"`);
    await pool.end();
  } else if (which === 'mysql') {
    const mysql = await import('mysql2/promise');
    const pool = mysql.createPool({ uri: mysqlUrl });
    for (const v of ['old', 'new']) await pool.query(`DROP TABLE IF EXISTS \`${tableOf(v)}\`, \`${tableOf(v)}_users\``);
    await pool.end();
  }
  rmSync(dir, { recursive: true, force: true });
}
