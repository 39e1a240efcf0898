// The demo's pages on every store SESSION_STORE can choose, through HTTP with cookie jars.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { createApp } from '../../examples/demo/app.js';
import { openStore, type OpenedStore, type StoreName } from '../../examples/demo/stores.js';

const run = randomBytes(4).toString('hex');
const table = `demo_test_${run}`;
const dir = mkdtempSync(join(tmpdir(), 'sessionkit-demo-stores-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
  name: StoreName;
  /** Store options that keep this run apart from every other test on the same server. */
  extra: Record<string, unknown>;
  env: Record<string, string | undefined>;
  label: string;
}

const cases: Case[] = [
  { name: 'memory', extra: {}, env: {}, label: 'MemoryStore' },
  { name: 'sqlite', extra: {}, env: { SQLITE_PATH: join(dir, 'sessions.db') }, label: 'SQLiteStore' },
  { name: 'redis', extra: { prefix: `demo-test-${run}:` }, env: process.env, label: 'RedisStore' },
  { name: 'postgres', extra: { tableName: table }, env: process.env, label: 'PostgresStore' },
  { name: 'mysql', extra: { tableName: table }, env: process.env, label: 'MySQLStore' },
  { name: 'cookie', extra: {}, env: {}, label: 'cookie-only sessions' },
];

/** Drops the tables this run created (the sessions table and its user index). */
async function dropTables(name: StoreName): Promise<void> {
  if (name === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test' });
    await client.connect();
    try {
      await client.query(`DROP TABLE IF EXISTS "${table}_users", "${table}"`);
    } finally {
      await client.end();
    }
  } else if (name === 'mysql') {
    const mysql = await import('mysql2/promise');
    const connection = await mysql.createConnection(process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/test');
    try {
      await connection.query(`DROP TABLE IF EXISTS \`${table}_users\`, \`${table}\``);
    } finally {
      await connection.end();
    }
  }
}

type Agent = ReturnType<typeof request.agent>;

/** The CSRF token on a page of the agent's session. */
async function csrfOn(agent: Agent, path: string): Promise<string> {
  const res = await agent.get(path).expect(200);
  const token = /name="_csrf" value="([^"]+)"/.exec(res.text)?.[1];
  expect(token).toBeTruthy();
  return token!;
}

async function logIn(agent: Agent, username: string, password: string) {
  const _csrf = await csrfOn(agent, '/');
  return agent.post('/login').type('form').send({ _csrf, username, password });
}

describe.each(cases)('demo on $name', ({ name, extra, env, label }) => {
  let opened: OpenedStore;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    opened = await openStore(name, env, extra);
    app = createApp({
      store: opened.store, sessionMiddleware: opened.sessionMiddleware, storeLabel: opened.label,
      secret: 'a secret of at least thirty-two characters',
    });
  });

  afterAll(async () => {
    if (name === 'redis') await (opened.store as unknown as { clear(): Promise<void> }).clear();
    await opened?.close();
    await dropTables(name);
  });

  test('log in, count visits, list sessions, log out other devices, log out', async () => {
    const laptop = request.agent(app);
    const phone = request.agent(app);

    const wrong = await logIn(laptop, 'alice', 'white-rabbit');
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Invalid credentials');

    const login = await logIn(laptop, 'alice', 'wonderland');
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/dashboard');
    const dashboard = await laptop.get('/dashboard').expect(200);
    expect(dashboard.text).toContain('Welcome back, alice');
    expect(dashboard.text).toContain(label);
    expect(dashboard.text).toContain('<span id="who">Logged in as <strong>alice</strong></span>');
    if (name === 'cookie') {
      const how = /<p id="how">([^]*?)<\/p>/.exec(dashboard.text)?.[1];
      expect(how).toContain('sent the whole session, sealed in a cookie');
      expect(how).not.toContain('store');
    } else {
      expect(dashboard.text).toContain('the server found that session in\n  its store');
    }

    await laptop.get('/visit').expect(200, /Welcome to this page for the first time!/);
    await laptop.get('/visit').expect(200, /You visited this page 2 times/);

    expect((await logIn(phone, 'alice', 'wonderland')).status).toBe(303);
    const listed = await laptop.get('/sessions').expect(200);
    const items = listed.text.match(/data-session="/g) ?? [];
    expect(listed.text.match(/data-current/g)).toHaveLength(1);

    const _csrf = await csrfOn(phone, '/dashboard');
    const ended = await phone.post('/sessions/logout-others').type('form').send({ _csrf });
    expect(ended.status).toBe(303);
    if (name === 'cookie') {
      // The server keeps nothing: it can list only the session at hand, and end no other.
      expect(items).toHaveLength(1);
      expect(listed.text).toContain('can neither list nor end the sessions of other devices');
      await laptop.get('/dashboard').expect(200, /Welcome back, alice/);
    } else {
      expect(items).toHaveLength(2);
      expect(ended.headers.location).toBe('/sessions?ended=1');
      await laptop.get('/dashboard').expect(200, /Please log in/);
      expect(await opened.store!.listUserSessions('alice')).toHaveLength(1);
    }

    const logout = await phone.post('/logout').type('form').send({ _csrf: await csrfOn(phone, '/dashboard') });
    expect(logout.status).toBe(303);
    expect(logout.headers.location).toBe('/logged-out');
    const loggedOut = await phone.get('/logged-out').expect(200);
    expect(loggedOut.text).toContain('<h1>Logged out</h1>');
    expect(loggedOut.text).toContain(name === 'cookie' ? 'the server keeps nothing it could destroy' : 'destroyed on the server');
    expect(loggedOut.text).toContain('<span id="who">Not logged in</span>');
    await phone.get('/dashboard').expect(200, /Please log in/);
    if (opened.store) expect(await opened.store.listUserSessions('alice')).toHaveLength(0);
  });

  test('a POST without the session\'s CSRF token is refused', async () => {
    const agent = request.agent(app);
    expect((await logIn(agent, 'bob', 'builder')).status).toBe(303);
    await agent.post('/logout').type('form').send({}).expect(403, /Invalid or missing CSRF token/);
    await agent.post('/logout').type('form').send({ _csrf: 'guess' }).expect(403);
    await agent.post('/logout').type('json').send({ _csrf: await csrfOn(agent, '/dashboard') }).expect(403);
    await agent.get('/dashboard').expect(200, /Welcome back, bob/);
  });
});

describe('bad requests', () => {
  // With no store given, the app keeps sessions in a MemoryStore of its own.
  const app = createApp({ secret: 'bad requests secret' });

  test('the app works with its default store', async () => {
    const agent = request.agent(app);
    expect((await logIn(agent, 'bob', 'builder')).status).toBe(303);
    const page = await agent.get('/sessions').expect(200);
    expect(page.text.match(/data-session="/g)).toHaveLength(1);
    expect(page.text).toContain('Sessions: <span id="store">MemoryStore</span>');
  });

  test('odd input gets a clear answer, never a crash or a stack trace', async () => {
    const agent = request.agent(app);
    const _csrf = await csrfOn(agent, '/');
    // Repeated fields arrive as arrays: not a username.
    const twice = await agent.post('/login').type('form').send(`_csrf=${_csrf}&username=alice&username=bob&password=wonderland`);
    expect(twice.status).toBe(401);
    const huge = await agent.post('/login').type('form').send({ _csrf, username: 'a'.repeat(10_000), password: 'x' });
    expect(huge.status).toBe(413);
    expect(huge.text).not.toMatch(/at .*\.js:\d+/);
    const broken = await agent.post('/login').set('Content-Type', 'application/x-www-form-urlencoded; charset=koi8-r').send('x');
    expect(broken.status).toBe(415);
    await agent.get('/nowhere').expect(404, /Not found/);
    await agent.get('/sessions?ended=<b>').expect(200, /Please log in/);
  });

  test('a forged or unsigned session cookie is no session', async () => {
    await request(app).get('/dashboard').set('Cookie', 'sessionkit.demo=s%3Aforged.signature').expect(200, /Please log in/);
    await request(app).get('/dashboard').set('Cookie', 'sessionkit.demo=plain').expect(200, /Please log in/);
  });
});

describe('last used', () => {
  let opened: OpenedStore;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    opened = await openStore('memory');
    app = createApp({ store: opened.store, storeLabel: opened.label, secret: 'last used secret' });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  afterAll(() => opened.close());

  test('is written at most once a minute, and shown with when the session started', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.parse('2026-03-01T10:00:00Z');
    vi.setSystemTime(start);
    const agent = request.agent(app);
    expect((await logIn(agent, 'alice', 'wonderland')).status).toBe(303);
    const lastSeen = async () => (await opened.store!.listUserSessions('alice'))[0]!.data.lastSeen;
    expect(await lastSeen()).toBe(start);

    vi.setSystemTime(start + 30_000);
    await agent.get('/dashboard').expect(200);
    expect(await lastSeen()).toBe(start);

    vi.setSystemTime(start + 5 * 60_000);
    await agent.get('/dashboard').expect(200);
    expect(await lastSeen()).toBe(start + 5 * 60_000);

    vi.setSystemTime(start + 7 * 60_000);
    const page = await agent.get('/sessions').expect(200);
    expect(page.text).toMatch(/Started <time datetime="2026-03-01T10:00:00.000Z"[^>]*>7 minutes ago<\/time>/);
    expect(page.text).toMatch(/last used <time datetime="2026-03-01T10:05:00.000Z"[^>]*>2 minutes ago<\/time>/);
  });
});
