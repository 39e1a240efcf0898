// `node examples/demo/server.js` as a real process, as `npm start` runs it (needs dist/: `npm run build`).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, launchChromium, logIn, startServer, userAgents, type DemoProcess } from './helpers.js';

let browser: Browser;
let dir: string;
const running: DemoProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sessionkit-demo-'));
  browser = await launchChromium();
});

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>): Promise<DemoProcess> {
  const server = await startServer(env);
  running.push(server);
  return server;
}

describe('the demo server process', { timeout: 90_000 }, () => {
  test('a session survives a server restart with the SQLite store', async () => {
    const port = await freePort();
    const db = join(dir, 'sessions.db');
    const env = { SESSION_STORE: 'sqlite', SQLITE_PATH: db, PORT: String(port), SESSION_SECRET: 'restart test secret' };

    const first = await start(env);
    expect(first.url).toBe(`http://localhost:${port}`);
    expect(existsSync(db)).toBe(true);
    const context = await browser.newContext({ userAgent: userAgents.chrome });
    try {
      const page = await context.newPage();
      await logIn(page, first.url, 'alice', 'wonderland');
      expect(await page.textContent('h1')).toBe('Welcome back, alice');
      expect(await page.textContent('#store')).toContain('SQLiteStore');
      await page.goto(`${first.url}/visit`);
      await page.goto(`${first.url}/visit`);
      expect(await page.textContent('#visits')).toBe('You visited this page 2 times');

      expect(await first.stop()).toBe(0);
      const second = await start(env);
      expect(second.url).toBe(first.url);

      await page.goto(`${second.url}/dashboard`);
      expect(await page.textContent('h1')).toBe('Welcome back, alice');
      await page.goto(`${second.url}/visit`);
      expect(await page.textContent('#visits')).toBe('You visited this page 3 times');
      await page.goto(`${second.url}/sessions`);
      expect(await page.locator('[data-session][data-current]').count()).toBe(1);
      expect(await second.stop()).toBe(0);
    } finally {
      await context.close();
    }
  });

  test('an unknown SESSION_STORE stops the server with a message naming the choices', async () => {
    const port = await freePort();
    const failure = await start({ SESSION_STORE: 'floppy', PORT: String(port) }).then(
      () => new Error('the server started'),
      (err: Error) => err,
    );
    expect(failure.message).toContain('exited (1)');
    expect(failure.message).toContain('SESSION_STORE must be one of sqlite, memory, redis, postgres, mysql, cookie; got "floppy"');
  });

  test('a store it cannot reach stops the server at startup, not at the first request', async () => {
    const nobody = await freePort();
    const unreachable: Record<string, string>[] = [
      { SESSION_STORE: 'redis', REDIS_URL: `redis://127.0.0.1:${nobody}` },
      { SESSION_STORE: 'postgres', DATABASE_URL: `postgres://postgres@127.0.0.1:${nobody}/test` },
    ];
    for (const env of unreachable) {
      const failure = await start({ ...env, PORT: String(await freePort()) }).then(
        () => new Error('the server started'),
        (err: Error) => err,
      );
      expect(failure.message).toContain('exited (1)');
      expect(failure.message).toContain(`Could not open the session store: connect ECONNREFUSED 127.0.0.1:${nobody}`);
    }
  });

  test('a PORT that is not a port number stops the server with a clear message', async () => {
    const failure = await start({ SESSION_STORE: 'memory', PORT: 'eighty' }).then(
      () => new Error('the server started'),
      (err: Error) => err,
    );
    expect(failure.message).toContain('exited (1)');
    expect(failure.message).toContain('PORT must be a port number; got "eighty"');
  });
});
