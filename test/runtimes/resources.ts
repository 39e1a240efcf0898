/**
 * What a runtimes test file makes on the shared services, and removes once its tests are done:
 * Redis keys under one prefix, PostgreSQL tables, a folder for SQLite files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import pg from 'pg';
import { deleteByPrefix, nodeRedis, uniquePrefix } from '../helpers/redis.js';
import { POSTGRES_URL, uniqueTable } from '../helpers/sql.js';

export interface TestResources {
  /** The Redis key prefix of this file's sessions. */
  prefix: string;
  /** A folder of this file's own, for SQLite databases. */
  dir: string;
  /** A new PostgreSQL table name, dropped after the file's tests. */
  table(tag: string): string;
}

/** Registers the clean-up with the file's `afterAll`: call it at the top level of a describe or file. */
export function testResources(tag: string): TestResources {
  const prefix = uniquePrefix(tag);
  const tables: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), `sk-${tag}-`));
  afterAll(async () => {
    const redis = await nodeRedis();
    await deleteByPrefix(redis, prefix);
    await redis.quit();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    for (const table of tables) await client.query(`DROP TABLE IF EXISTS "${table}"`);
    await client.end();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    prefix,
    dir,
    table(name) {
      const table = uniqueTable(name);
      tables.push(table);
      return table;
    },
  };
}
