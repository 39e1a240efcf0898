/**
 * The same cookie and records on every runtime: a session logged in by a Node app is read and
 * changed by a Bun or Deno app on the same Redis, PostgreSQL or sealed cookie, and the Node app
 * reads the change back; a SQLite file written on one runtime opens with its sessions on the others.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { redisUrl } from '../helpers/redis.js';
import { POSTGRES_URL } from '../helpers/sql.js';
import { Client, runtimes, startServer, type Runtime, type ServerConfig } from './harness.js';
import { testResources } from './resources.js';

const { prefix, dir, table } = testResources('runtimes-cross');

const stores: Array<{ name: string; make(tag: string): Omit<ServerConfig, 'front'> }> = [
  { name: 'RedisStore (node-redis)', make: (tag) => ({ store: 'redis', redisUrl, prefix: `${prefix}${tag}:` }) },
  {
    name: 'PostgresStore (pg)',
    make: () => ({ store: 'postgres', pgUrl: POSTGRES_URL, table: table('rt_cross') }),
  },
  { name: 'sealed cookie sessions', make: () => ({ store: 'sealed' }) },
];

for (const runtime of runtimes) {
  for (const store of stores) {
    describe(`${runtime} and Node on ${store.name}`, () => {
      it(`continues on ${runtime}'s web handler a login made under Express on Node, and back`, async () => {
        const shared = store.make(`${runtime}-${store.name.split(' ')[0]}`);
        const [home, away] = await Promise.all([
          startServer('node', { front: 'express', ...shared }),
          startServer(runtime, { front: 'web', ...shared }),
        ]);
        try {
          const client = new Client(home.url);
          const login = await client.call('/login?user=carol');
          expect(login.body.runtime).toBe('node');

          client.at(away.url);
          const there = await client.call('/dashboard');
          expect(there.status).toBe(200);
          expect(there.body).toMatchObject({ user: 'carol', id: login.body.id, runtime });
          expect((await client.call('/views')).body).toMatchObject({ views: 1, id: login.body.id, runtime });

          client.at(home.url);
          expect((await client.call('/dashboard')).body).toMatchObject({ user: 'carol', views: 1, id: login.body.id, runtime: 'node' });
          expect((await client.call('/views')).body.views).toBe(2);

          // Logged out on the other runtime: over on Node too (the sealed cookie is cleared).
          client.at(away.url);
          expect((await client.call('/dashboard')).body.views).toBe(2);
          expect((await client.call('/logout', 'POST')).status).toBe(200);
          client.at(home.url);
          expect((await client.call('/dashboard')).status).toBe(401);
        } finally {
          await Promise.all([home.stop(), away.stop()]);
        }
      });

      it(`continues under Express on Node a login made by ${runtime}'s Hono app`, async () => {
        const shared = store.make(`${runtime}-hono-${store.name.split(' ')[0]}`);
        const [home, away] = await Promise.all([
          startServer(runtime, { front: 'hono', ...shared }),
          startServer('node', { front: 'express', ...shared }),
        ]);
        try {
          const client = new Client(home.url);
          const login = await client.call('/login?user=dave');
          expect(login.body.runtime).toBe(runtime);
          await client.call('/views');
          client.at(away.url);
          expect((await client.call('/dashboard')).body).toMatchObject({ user: 'dave', views: 1, id: login.body.id, runtime: 'node' });
        } finally {
          await Promise.all([home.stop(), away.stop()]);
        }
      });
    });
  }
}

describe('one SQLite file across Node (better-sqlite3), Bun (bun:sqlite) and Deno (node:sqlite)', () => {
  it('opens with its sessions on each runtime in turn, each adding to them', async () => {
    const sqlitePath = join(dir, 'shared', 'sessions.db');
    const client = new Client('');
    const order: Runtime[] = ['node', 'bun', 'deno', 'node'];
    for (const [turn, runtime] of order.entries()) {
      // One runtime at a time, each closing the file (SIGTERM) before the next opens it.
      const server = await startServer(runtime, { front: 'express', store: 'sqlite', sqlitePath });
      try {
        client.at(server.url);
        if (turn === 0) expect((await client.call('/login?user=erin')).status).toBe(200);
        const dashboard = await client.call('/dashboard');
        expect(dashboard.status).toBe(200);
        expect(dashboard.body).toMatchObject({ user: 'erin', views: turn, runtime });
        expect((await client.call('/views')).body.views).toBe(turn + 1);
      } finally {
        await server.stop();
      }
    }
    // The file as better-sqlite3 sees it: one schema and journal mode, whoever wrote it.
    const db = new Database(sqlitePath, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const schema = db.prepare(`SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name`).all();
      expect(schema).toEqual([{ type: 'table', name: 'sessions' }, { type: 'index', name: 'sessions_expire' }]);
      const rows = db.prepare('SELECT sess FROM sessions').pluck().all() as string[];
      expect(rows).toHaveLength(1);
      const stored = JSON.parse(rows[0]!);
      expect(stored).toMatchObject({ who: 'erin', views: 4 });
      // Taken from maxAge as the session was created, as express-session takes it: a millisecond
      // may pass between setting maxAge and reading it back.
      expect(stored.cookie.originalMaxAge).toBeGreaterThan(599_000);
      expect(stored.cookie.originalMaxAge).toBeLessThanOrEqual(600_000);
    } finally {
      db.close();
    }
  });
});
