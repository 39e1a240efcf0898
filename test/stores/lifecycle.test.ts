/**
 * The session lifecycle (timeouts, rotation, regenerate({ keepData }), meta, events) through a
 * real Express app on every store against its real server, with a faked Date: the same cases
 * as test/unit/lifecycle.test.ts runs on MemoryStore.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { MemoryStore, type StoreContract } from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { PostgresStore } from '../../src/stores/sql/postgres.js';
import { MySQLStore } from '../../src/stores/sql/mysql.js';
import { SQLiteStore } from '../../src/stores/sql/sqlite.js';
import { deleteByPrefix, nodeRedis, uniquePrefix, type NodeRedisClient } from '../helpers/redis.js';
import { MYSQL_URL, POSTGRES_URL, uniqueTable } from '../helpers/sql.js';
import { lifecycleCases } from '../unit/lifecycle-cases.js';

type Closable = StoreContract & { close?(): Promise<void> };

lifecycleCases({ name: 'MemoryStore', create: async () => new MemoryStore() });

const prefix = uniquePrefix('lifecycle');
let redis: NodeRedisClient | undefined;
lifecycleCases({
  name: 'RedisStore (node-redis)',
  async create() {
    redis = await nodeRedis();
    return new RedisStore({ client: redis, prefix }) as unknown as StoreContract;
  },
  async dispose() {
    await deleteByPrefix(redis!, prefix);
    await redis!.quit();
  },
});

const pgTable = uniqueTable('pglife');
lifecycleCases({
  name: 'PostgresStore',
  create: async () => new PostgresStore({ connectionString: POSTGRES_URL, tableName: pgTable, pruneInterval: false }) as unknown as StoreContract,
  async dispose(store) {
    await (store as Closable).close?.();
    const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
    await admin.query(`DROP TABLE IF EXISTS "${pgTable}", "${pgTable}_users"`);
    await admin.end();
  },
});

const myTable = uniqueTable('mylife');
lifecycleCases({
  name: 'MySQLStore',
  create: async () => new MySQLStore({ uri: MYSQL_URL, tableName: myTable, pruneInterval: false }) as unknown as StoreContract,
  async dispose(store) {
    await (store as Closable).close?.();
    const admin = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 1 });
    await admin.query(`DROP TABLE IF EXISTS \`${myTable}\`, \`${myTable}_users\``);
    await admin.end();
  },
});

const dir = mkdtempSync(join(tmpdir(), 'sessionkit-lifecycle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
lifecycleCases({
  name: 'SQLiteStore',
  create: async () => new SQLiteStore({ path: join(dir, 'sessions.db'), pruneInterval: false }) as unknown as StoreContract,
  dispose: async (store) => (store as Closable).close?.(),
});
