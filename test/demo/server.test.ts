// `node examples/demo/server.js` as a real process, as `npm start` runs it (needs dist/: `npm run build`).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseDuration, settingsFrom } from '../../examples/demo/settings.js';
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

  test('SESSION_ABSOLUTE_TIMEOUT, SESSION_LIMIT and SESSION_ON_LIMIT reach the pages, and each session event is a line of output', async () => {
    const server = await start({
      SESSION_STORE: 'memory', PORT: String(await freePort()), SESSION_SECRET: 'settings test secret',
      SESSION_ABSOLUTE_TIMEOUT: '90m', SESSION_LIMIT: '1', SESSION_ON_LIMIT: 'refuse',
    });
    const logInAs = async (agent: ReturnType<typeof request.agent>) => {
      const form = await agent.get('/').expect(200);
      const _csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)![1]!;
      return agent.post('/login').type('form').send({ _csrf, username: 'alice', password: 'wonderland' });
    };
    const laptop = request.agent(server.url);
    expect((await logInAs(laptop)).status).toBe(303);
    const page = await laptop.get('/sessions').expect(200);
    expect(page.text).toContain('Each session ends 90 minutes after its login, however active.');
    expect(page.text).toContain('at most <strong id="limit">1</strong> device at once: to log in on another, log out one of these first.');
    const refused = await logInAs(request.agent(server.url));
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('alice is logged in on 1 device already');
    expect(server.output()).toMatch(/^session regenerated: alice [\w-]{12}: Logged in: a new session under a new ID$/m);
    expect(await server.stop()).toBe(0);
  });

  test('a bad SESSION_ABSOLUTE_TIMEOUT, SESSION_LIMIT or SESSION_ON_LIMIT stops the server with a message naming it', async () => {
    const bad: [Record<string, string>, string][] = [
      [{ SESSION_ABSOLUTE_TIMEOUT: 'soon' }, 'SESSION_ABSOLUTE_TIMEOUT must be a duration such as 8h, 90m, 30s or 1500ms; got "soon"'],
      [{ SESSION_LIMIT: '0' }, 'SESSION_LIMIT must be a whole number of sessions per user, 1 or more; got "0"'],
      [{ SESSION_ON_LIMIT: 'sometimes' }, 'SESSION_ON_LIMIT must be evict-oldest or refuse; got "sometimes"'],
    ];
    for (const [env, message] of bad) {
      const failure = await start({ SESSION_STORE: 'memory', PORT: String(await freePort()), ...env }).then(
        () => new Error('the server started'),
        (err: Error) => err,
      );
      expect(failure.message).toContain('exited (1)');
      expect(failure.message).toContain(message);
    }
  });
});

describe('the demo\'s session settings', () => {
  test('durations read as people write them, and defaults when unset', () => {
    expect(parseDuration('X', '8h')).toBe(8 * 3_600_000);
    expect(parseDuration('X', '90m')).toBe(90 * 60_000);
    expect(parseDuration('X', '1.5s')).toBe(1500);
    expect(parseDuration('X', '1500')).toBe(1500);
    expect(parseDuration('X', '2d')).toBe(2 * 86_400_000);
    for (const text of ['', '0', '-5m', '5 weeks', 'Infinity', '1e3']) {
      expect(() => parseDuration('X', text)).toThrow(`X must be a duration such as 8h, 90m, 30s or 1500ms; got ${JSON.stringify(text)}`);
    }
    expect(settingsFrom({})).toEqual({ absoluteTimeout: 8 * 3_600_000, maxSessionsPerUser: 3, onLimit: 'evict-oldest' });
    expect(settingsFrom({ SESSION_LIMIT: '5', SESSION_ON_LIMIT: 'refuse', SESSION_ABSOLUTE_TIMEOUT: '' }))
      .toEqual({ absoluteTimeout: 8 * 3_600_000, maxSessionsPerUser: 5, onLimit: 'refuse' });
    expect(() => settingsFrom({ SESSION_LIMIT: '2.5' })).toThrow('SESSION_LIMIT must be a whole number');
  });
});
