/**
 * The tutorials' scenarios (a counter, login and logout, a flash message) and 30 overlapping
 * writers to one session, on one runtime, for every front and store it supports: each a
 * server.mjs process on that runtime, driven over HTTP from here.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl } from '../helpers/redis.js';
import { POSTGRES_URL } from '../helpers/sql.js';
import { Client, startServer, type Front, type Runtime, type RunningServer, type ServerConfig, type StoreKind } from './harness.js';
import { testResources } from './resources.js';

/** Every front × store a runtime is tested on: the matrix in README.md and docs/runtimes.md. */
export const matrix: Array<{ front: Front; store: StoreKind }> = [
  ...(['memory', 'redis', 'postgres', 'sqlite', 'sealed'] as const).map((store) => ({ front: 'web' as const, store })),
  ...(['memory', 'redis', 'postgres', 'sqlite', 'sealed'] as const).map((store) => ({ front: 'hono' as const, store })),
  ...(['memory', 'sqlite'] as const).map((store) => ({ front: 'express' as const, store })),
];

export function describeRuntime(runtime: Runtime): void {
  const { prefix, dir, table } = testResources(`runtimes-${runtime}`);

  function configFor(front: Front, store: StoreKind): ServerConfig {
    const tag = `${front}_${store}`;
    switch (store) {
      case 'redis':
        return { front, store, redisUrl, prefix: `${prefix}${tag}:` };
      case 'postgres':
        return { front, store, pgUrl: POSTGRES_URL, table: table(`rt_${runtime}_${front}`) };
      case 'sqlite':
        return { front, store, sqlitePath: join(dir, `${tag}.db`) };
      default:
        return { front, store };
    }
  }

  for (const { front, store } of matrix) {
    describe(`${runtime}: sessionkit/${front === 'express' ? 'express (session())' : front} on ${store}`, () => {
      let server: RunningServer;
      beforeAll(async () => {
        server = await startServer(runtime, configFor(front, store));
      });
      afterAll(async () => {
        await server?.stop();
      });

      it('counts views in one session, served by this runtime', async () => {
        const client = new Client(server.url);
        const first = await client.call('/views');
        expect(first.status).toBe(200);
        expect(first.body).toMatchObject({ views: 1, runtime });
        expect(first.cookies.length).toBeGreaterThan(0);
        expect((await client.call('/views')).body.views).toBe(2);
        expect((await client.call('/views')).body.views).toBe(3);
        // Another browser has its own count.
        expect((await new Client(server.url).call('/views')).body.views).toBe(1);
      });

      it('logs in with a new ID, shows the dashboard, logs out', async () => {
        const client = new Client(server.url);
        const before = await client.call('/views');
        const earlier = client.fork();
        expect((await client.call('/dashboard')).status).toBe(401);
        const login = await client.call('/login?user=bob');
        expect(login.status).toBe(200);
        expect(login.body.id).not.toBe(before.body.id);
        const dashboard = await client.call('/dashboard');
        expect(dashboard.status).toBe(200);
        expect(dashboard.body).toMatchObject({ user: 'bob', id: login.body.id });
        const loggedIn = client.fork();
        expect((await client.call('/logout', 'POST')).status).toBe(200);
        expect((await client.call('/dashboard')).status).toBe(401);
        if (store !== 'sealed') {
          // Server-side sessions end on the server: neither the cookie from before the login nor
          // the logged-in one opens the dashboard (a sealed cookie carries its session with it).
          expect((await earlier.call('/dashboard')).status).toBe(401);
          expect((await loggedIn.call('/dashboard')).status).toBe(401);
        }
      });

      it('shows a flash message once, on the next request', async () => {
        const client = new Client(server.url);
        expect((await client.call('/flash?msg=saved', 'POST')).status).toBe(200);
        expect((await client.call('/flash?msg=again', 'POST')).status).toBe(200);
        expect((await client.call('/flash')).body.messages).toEqual(['saved', 'again']);
        expect((await client.call('/flash')).body.messages).toEqual([]);
      });

      if (store !== 'sealed') {
        // A sealed cookie holds the whole session, so the last response's cookie is the session.
        it('keeps all of 30 overlapping writers', async () => {
          const client = new Client(server.url);
          await client.call('/views');
          const writes = Array.from({ length: 30 }, (_, i) => client.fork().call(`/write?key=${i}&wait=${(i * 7) % 40}`, 'POST'));
          const answers = await Promise.all(writes);
          expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
          expect((await client.call('/keys')).body.keys).toBe(30);
        });
      }
    });
  }
}
