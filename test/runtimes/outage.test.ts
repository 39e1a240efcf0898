/**
 * A store that stops answering, under a Bun or Deno server: requests get an error response (not
 * a hang, not a crash), and once the store answers again, sessions work again. Redis is a
 * private redis-server on a free port, killed and started again; PostgreSQL is reached through
 * a proxy that stops forwarding and then carries on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freePort, removeDir, startRedisServer, waitFor } from '../helpers/redis.js';
import { FreezableProxy, POSTGRES_URL, uniqueTable } from '../helpers/sql.js';
import { Client, runtimes, startServer } from './harness.js';

const tables: string[] = [];
afterAll(async () => {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  for (const table of tables) await client.query(`DROP TABLE IF EXISTS "${table}"`);
  await client.end();
});

for (const runtime of runtimes) {
  describe(`${runtime}: a store outage`, () => {
    it('answers 500 while Redis is gone, and serves sessions again once it is back', async () => {
      const port = await freePort();
      let redis = await startRedisServer(port);
      const server = await startServer(runtime, { front: 'web', store: 'redis', redisUrl: redis.url, prefix: 'sk-test:runtimes-outage:', commandTimeout: 3000 });
      try {
        const client = new Client(server.url);
        const first = await client.call('/views');
        expect(first.body, JSON.stringify(first.body)).toMatchObject({ views: 1 });
        expect((await client.call('/views')).body.views).toBe(2);

        await redis.kill();
        const during = await client.call('/views');
        expect(during.status).toBe(500);
        expect(during.body.error).toMatch(/Error$/);
        expect(during.cookies).toEqual([]);

        redis = await startRedisServer(port, [], redis.dir);
        // The client reconnects on its own; the killed server kept nothing, so a new session starts.
        await waitFor(async () => (await new Client(server.url).call('/views')).status === 200, `${runtime} serving again after Redis came back`);
        const fresh = new Client(server.url);
        expect((await fresh.call('/views')).body.views).toBe(1);
        expect((await fresh.call('/views')).body.views).toBe(2);
        expect(server.stderr()).not.toMatch(/uncaught|unhandled/i);
      } finally {
        await server.stop();
        await redis.kill();
        removeDir(redis.dir);
      }
    });

    it('answers 500 while PostgreSQL does not answer, and carries on with the same session after', async () => {
      const target = new URL(POSTGRES_URL);
      const proxy = await FreezableProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
      const via = new URL(POSTGRES_URL);
      via.hostname = '127.0.0.1';
      via.port = String(proxy.port);
      const table = uniqueTable(`rt_outage_${runtime}`);
      tables.push(table);
      const server = await startServer(runtime, { front: 'web', store: 'postgres', pgUrl: via.href, table, commandTimeout: 3000 });
      try {
        const client = new Client(server.url);
        const first = await client.call('/views');
        expect(first.body, JSON.stringify(first.body)).toMatchObject({ views: 1 });

        proxy.freeze();
        const during = await client.call('/views');
        expect(during.status).toBe(500);
        expect(during.body.error).toMatch(/Error$/);
        expect(during.cookies).toEqual([]);

        proxy.thaw();
        await waitFor(async () => (await client.fork().call('/dashboard')).status === 401, `${runtime} answering after PostgreSQL came back`);
        // The session written before the outage is still there, and counts on.
        expect((await client.call('/views')).body.views).toBe(2);
        expect(server.stderr()).not.toMatch(/uncaught|unhandled/i);
      } finally {
        await server.stop();
        await proxy.close();
      }
    });
  });
}
