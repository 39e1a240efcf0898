// The demo's pages on every store SESSION_STORE can choose, through HTTP with cookie jars.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { createApp, cookieName, type DemoOptions } from '../../examples/demo/app.js';
import { openStore, type OpenedStore, type StoreName } from '../../examples/demo/stores.js';
import { userAgents } from './helpers.js';

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
async function dropTables(name: StoreName, tableName = table): Promise<void> {
  if (name === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test' });
    await client.connect();
    try {
      await client.query(`DROP TABLE IF EXISTS "${tableName}_users", "${tableName}"`);
    } finally {
      await client.end();
    }
  } else if (name === 'mysql') {
    const mysql = await import('mysql2/promise');
    const connection = await mysql.createConnection(process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/test');
    try {
      await connection.query(`DROP TABLE IF EXISTS \`${tableName}_users\`, \`${tableName}\``);
    } finally {
      await connection.end();
    }
  }
}

/** The demo app on an opened store, as server.js makes it. */
function demoOn(opened: OpenedStore, options: Partial<DemoOptions> = {}) {
  return createApp({
    store: opened.store, sessionMiddleware: opened.sessionMiddleware, storeLabel: opened.label, limits: opened.limits,
    secret: 'a secret of at least thirty-two characters', ...options,
  });
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
    app = demoOn(opened);
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
    expect(dashboard.text).toMatch(/<dd id="ends"><time [^>]*>in 8 hours<\/time>, 8 hours after login however active<\/dd>/);
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

/** A browser of its own on `app`: its own cookies, User-Agent and (through the trusted proxy) IP. */
function deviceOn(app: ReturnType<typeof createApp>, userAgent: string, ip: string): Agent {
  return request.agent(app).set('User-Agent', userAgent).set('X-Forwarded-For', ip);
}

/** The session ID in the agent's signed session cookie (`s:<id>.<signature>`), from a Set-Cookie. */
function sessionIdIn(setCookie: string[] | string | undefined): string | undefined {
  const header = [setCookie ?? []].flat().find((c) => c.startsWith(`${cookieName}=`));
  if (!header) return undefined;
  const value = decodeURIComponent(header.slice(cookieName.length + 1, header.indexOf(';')));
  return value.slice(2, value.lastIndexOf('.'));
}

/** The rows of the sessions page: handle, device, IP, whether current, whether it has a logout button. */
function rowsOf(text: string) {
  return [...text.matchAll(/<li data-session="([^"]+)"( class="current" data-current)?>([^]*?)<\/li>/g)].map((m) => ({
    handle: m[1]!,
    current: Boolean(m[2]),
    device: /<strong class="device">([^<]*)<\/strong>/.exec(m[3]!)?.[1],
    ip: /<span class="ip">([^<]*)<\/span>/.exec(m[3]!)?.[1],
    created: /<span class="created">([^]*?)<\/span>/.exec(m[3]!)?.[1],
    seen: /<span class="seen">([^]*?)<\/span>/.exec(m[3]!)?.[1],
    endable: m[3]!.includes('action="/sessions/logout-device"'),
  }));
}

const storeCases = cases.filter((c) => c.name !== 'cookie');

describe.each(storeCases)('the session lifecycle in the demo on $name', ({ name, extra, env }) => {
  let opened: OpenedStore;
  let refusing: OpenedStore;
  let app: ReturnType<typeof createApp>;
  const lines: string[] = [];
  const refuseTable = `${table}_refuse`;

  beforeAll(async () => {
    opened = await openStore(name, env, extra);
    app = demoOn(opened, { log: (line) => lines.push(line) });
    // The same store kind with onLimit: 'refuse', apart from the other (its own keys or table).
    const apart = name === 'redis' ? { prefix: `demo-test-${run}-refuse:` }
      : name === 'sqlite' ? {} : name === 'memory' ? {} : { tableName: refuseTable };
    refusing = await openStore(name, name === 'sqlite' ? { SQLITE_PATH: join(dir, 'refuse.db') } : env, {
      ...extra, ...apart, maxSessionsPerUser: 2, onLimit: 'refuse',
    });
  });

  afterEach(async () => {
    vi.useRealTimers();
    for (const user of ['alice', 'bob']) {
      await opened.store!.destroyUserSessions(user);
      await refusing.store!.destroyUserSessions(user);
    }
    lines.length = 0;
  });

  afterAll(async () => {
    if (name === 'redis') {
      await (opened.store as unknown as { clear(): Promise<void> }).clear();
      await (refusing.store as unknown as { clear(): Promise<void> }).clear();
    }
    await opened?.close();
    await refusing?.close();
    await dropTables(name);
    await dropTables(name, refuseTable);
  });

  test('each device is listed with its browser, IP, login and last seen, this one marked', async () => {
    const laptop = deviceOn(app, userAgents.chrome, '203.0.113.7');
    const desktop = deviceOn(app, userAgents.firefox, '198.51.100.23');
    expect((await logIn(laptop, 'alice', 'wonderland')).status).toBe(303);
    expect((await logIn(desktop, 'alice', 'wonderland')).status).toBe(303);

    const listed = await opened.store!.listUserSessions('alice');
    expect(listed).toHaveLength(2);
    for (const entry of listed) {
      expect(entry.createdAt).toBeInstanceOf(Date);
      expect(entry.lastSeenAt).toBeInstanceOf(Date);
      expect(Math.abs(Date.now() - entry.createdAt!.getTime())).toBeLessThan(60_000);
      // The meta is the store's, not the app's data.
      expect(entry.data).not.toHaveProperty('_sessionkit');
    }
    expect(listed.map((e) => [e.userAgent, e.ip]).sort()).toEqual([
      [userAgents.chrome, '203.0.113.7'], [userAgents.firefox, '198.51.100.23'],
    ].sort());

    const page = await laptop.get('/sessions').expect(200);
    const rows = rowsOf(page.text);
    expect(rows.map(({ device, ip, current, endable }) => ({ device, ip, current, endable }))).toEqual([
      { device: 'Chrome 156 on Linux', ip: '203.0.113.7', current: true, endable: false },
      { device: 'Firefox 146 on Windows', ip: '198.51.100.23', current: false, endable: true },
    ]);
    for (const row of rows) {
      expect(row.created).toMatch(/>just now<\/time>$/);
      expect(row.seen).toMatch(/>just now<\/time>$/);
    }
    expect(page.text).toContain('<span class="badge">this device</span>');
    expect(page.text).toContain('Each session ends 8 hours after its login, however active.');
    expect(page.text).toMatch(/at most <strong id="limit">3<\/strong> devices at once: logging in on another logs out the one that logged in longest ago/);
    // Handles, never session IDs, on the page.
    for (const { id } of listed) expect(page.text).not.toContain(id);
  });

  test('"Log out this device" ends that one session, and only one of the user\'s own', async () => {
    const laptop = deviceOn(app, userAgents.chrome, '203.0.113.7');
    const desktop = deviceOn(app, userAgents.firefox, '198.51.100.23');
    const bobs = deviceOn(app, userAgents.chrome, '192.0.2.1');
    await logIn(laptop, 'alice', 'wonderland');
    await logIn(desktop, 'alice', 'wonderland');
    await logIn(bobs, 'bob', 'builder');

    const page = await laptop.get('/sessions').expect(200);
    const _csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const firefox = rowsOf(page.text).find((r) => r.device === 'Firefox 146 on Windows')!;
    const bobsHandle = rowsOf((await bobs.get('/sessions').expect(200)).text)[0]!.handle;
    const current = rowsOf(page.text).find((r) => r.current)!;

    // Without the session's token: refused, nothing ended.
    await laptop.post('/sessions/logout-device').type('form').send({ device: firefox.handle }).expect(403);
    // Another user's session, or this very one, is no device of this user to end here.
    for (const device of [bobsHandle, current.handle, 'not-a-handle']) {
      const res = await laptop.post('/sessions/logout-device').type('form').send({ _csrf, device }).expect(303);
      expect(res.headers.location).toBe('/sessions?ended=0');
    }
    // A field given twice arrives as an array: no device at all.
    const twice = await laptop.post('/sessions/logout-device').type('form')
      .send(`_csrf=${encodeURIComponent(_csrf)}&device=${firefox.handle}&device=${firefox.handle}`).expect(303);
    expect(twice.headers.location).toBe('/sessions');
    // Logged out, the form ends nothing.
    await request(app).post('/sessions/logout-device').type('form').send({ _csrf, device: firefox.handle }).expect(403);
    expect(await opened.store!.listUserSessions('alice')).toHaveLength(2);
    expect(await opened.store!.listUserSessions('bob')).toHaveLength(1);

    const ended = await laptop.post('/sessions/logout-device').type('form').send({ _csrf, device: firefox.handle }).expect(303);
    expect(ended.headers.location).toBe('/sessions?ended=1');
    const after = await laptop.get('/sessions?ended=1').expect(200);
    expect(after.text).toContain('Logged out 1 other session.');
    expect(rowsOf(after.text).map((r) => r.device)).toEqual(['Chrome 156 on Linux']);
    await desktop.get('/dashboard').expect(200, /Please log in/);
    await laptop.get('/dashboard').expect(200, /Welcome back, alice/);
    await bobs.get('/dashboard').expect(200, /Welcome back, bob/);
    // The activity list says what happened to which session, by handle.
    expect(after.text).toMatch(new RegExp(`<li data-event="ended">[^]*?Logged out from another device \\(Chrome 156 on Linux\\) <code class="muted">${firefox.handle}</code>`));
    expect(after.text).toMatch(/<li data-event="regenerated">[^]*?Logged in: a new session under a new ID/);
    expect(lines.some((line) => /^session regenerated: alice [\w-]{12}: Logged in: a new session under a new ID$/.test(line))).toBe(true);
    expect(lines.some((line) => line === `session ended: alice ${firefox.handle}: Logged out from another device (Chrome 156 on Linux)`)).toBe(true);
  });

  test('a fourth login logs out the device that logged in first (3 at most, evict-oldest)', async () => {
    const devices = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'].map((ip) => deviceOn(app, userAgents.chrome, ip));
    for (const device of devices.slice(0, 3)) expect((await logIn(device, 'alice', 'wonderland')).status).toBe(303);
    expect(await opened.store!.listUserSessions('alice')).toHaveLength(3);
    for (const device of devices.slice(0, 3)) await device.get('/dashboard').expect(200, /Welcome back, alice/);

    expect((await logIn(devices[3]!, 'alice', 'wonderland')).status).toBe(303);
    await devices[0]!.get('/dashboard').expect(200, /Please log in/);
    for (const device of devices.slice(1)) await device.get('/dashboard').expect(200, /Welcome back, alice/);
    const listed = await opened.store!.listUserSessions('alice');
    expect(listed.map((e) => e.ip).sort()).toEqual(['192.0.2.2', '192.0.2.3', '192.0.2.4']);
    // Another user's sessions don't count toward alice's.
    const bobs = deviceOn(app, userAgents.firefox, '192.0.2.9');
    expect((await logIn(bobs, 'bob', 'builder')).status).toBe(303);
    expect(await opened.store!.listUserSessions('alice')).toHaveLength(3);
  });

  test('with onLimit: refuse, a login past the limit is refused with a clear message, and nothing is stored', async () => {
    const refuseApp = demoOn(refusing);
    const [first, second, third] = [1, 2, 3].map((n) => deviceOn(refuseApp, userAgents.chrome, `192.0.2.${n}`));
    expect((await logIn(first!, 'alice', 'wonderland')).status).toBe(303);
    expect((await logIn(second!, 'alice', 'wonderland')).status).toBe(303);
    const page = await first!.get('/sessions').expect(200);
    expect(page.text).toMatch(/at most <strong id="limit">2<\/strong> devices at once: to log in on another, log out one of these first/);

    const refused = await logIn(third!, 'alice', 'wonderland');
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('alice is logged in on 2 devices already, the most allowed: log out on one of them first.');
    expect(refused.text).toContain('<span id="who">Not logged in</span>');
    await third!.get('/dashboard').expect(200, /Please log in/);
    expect((await refusing.store!.listUserSessions('alice')).map((e) => e.ip).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    await first!.get('/dashboard').expect(200, /Welcome back, alice/);

    // Once a device logs out, there is room again.
    const _csrf = await csrfOn(first!, '/dashboard');
    await first!.post('/logout').type('form').send({ _csrf }).expect(303);
    expect((await logIn(third!, 'alice', 'wonderland')).status).toBe(303);
    await third!.get('/dashboard').expect(200, /Welcome back, alice/);
  });

  test('a session ends its absolute timeout after login, however active, and the old cookie opens nothing', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    const shortLived = demoOn(opened, { absoluteTimeout: 60_000, log: (line) => lines.push(line) });
    const laptop = deviceOn(shortLived, userAgents.chrome, '203.0.113.7');
    const login = await logIn(laptop, 'alice', 'wonderland');
    expect(login.status).toBe(303);
    const id = sessionIdIn(login.headers['set-cookie']);
    expect(id).toBeTruthy();
    const cookie = [login.headers['set-cookie']].flat().find((c) => c.startsWith(`${cookieName}=`))!.split(';')[0]!;
    expect((await laptop.get('/sessions').expect(200)).text).toContain('Each session ends 1 minute after its login');

    // Used all along: still the same session at 59 s.
    for (const at of [20_000, 40_000, 59_000]) {
      vi.setSystemTime(start + at);
      await request(shortLived).get('/visit').set('Cookie', cookie).expect(200);
    }
    await request(shortLived).get('/dashboard').set('Cookie', cookie).expect(200, /Welcome back, alice/);

    vi.setSystemTime(start + 61_000);
    await request(shortLived).get('/dashboard').set('Cookie', cookie).expect(200, /Please log in/);
    expect(await opened.store!.get(id!)).toBeFalsy();
    expect(await opened.store!.listUserSessions('alice')).toHaveLength(0);
  });

  test('"Log out other devices" gives this device a new session ID and keeps its session', async () => {
    const laptop = deviceOn(app, userAgents.chrome, '203.0.113.7');
    const desktop = deviceOn(app, userAgents.firefox, '198.51.100.23');
    const login = await logIn(laptop, 'alice', 'wonderland');
    const before = sessionIdIn(login.headers['set-cookie'])!;
    await logIn(desktop, 'alice', 'wonderland');
    await laptop.get('/visit').expect(200);
    await laptop.get('/visit').expect(200, /You visited this page 2 times/);
    const createdAt = (await opened.store!.listUserSessions('alice')).find((e) => e.id === before)!.createdAt;

    const _csrf = await csrfOn(laptop, '/sessions');
    const ended = await laptop.post('/sessions/logout-others').type('form').send({ _csrf }).expect(303);
    expect(ended.headers.location).toBe('/sessions?ended=1');
    const after = sessionIdIn(ended.headers['set-cookie']);
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
    expect(await opened.store!.get(before)).toBeFalsy();
    expect(await opened.store!.get(after!)).toMatchObject({ username: 'alice', views: 2 });

    await laptop.get('/visit').expect(200, /You visited this page 3 times/);
    await desktop.get('/dashboard').expect(200, /Please log in/);
    const listed = await opened.store!.listUserSessions('alice');
    expect(listed.map((e) => e.id)).toEqual([after]);
    // The same session under a new ID: its login time, so its absolute timeout, is kept.
    expect(listed[0]!.createdAt).toEqual(createdAt);
    const page = await laptop.get('/sessions').expect(200);
    expect(page.text).toContain('Logged out 1 other device; this one has a new session ID');
    expect(page.text).toContain('<li data-event="regenerated">');
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

describe('last seen', () => {
  let opened: OpenedStore;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    opened = await openStore('memory');
    app = demoOn(opened);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  afterAll(() => opened.close());

  test('is written at most once a minute (touchAfter), and shown with when the session logged in', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.parse('2026-03-01T10:00:00Z');
    vi.setSystemTime(start);
    const agent = request.agent(app);
    expect((await logIn(agent, 'alice', 'wonderland')).status).toBe(303);
    const lastSeen = async () => (await opened.store!.listUserSessions('alice'))[0]!.lastSeenAt?.getTime();
    expect(await lastSeen()).toBe(start);

    vi.setSystemTime(start + 30_000);
    await agent.get('/dashboard').expect(200);
    expect(await lastSeen()).toBe(start);

    vi.setSystemTime(start + 5 * 60_000);
    await agent.get('/dashboard').expect(200);
    expect(await lastSeen()).toBe(start + 5 * 60_000);

    vi.setSystemTime(start + 7 * 60_000);
    const page = await agent.get('/sessions').expect(200);
    expect(page.text).toMatch(/logged in <span class="created"><time datetime="2026-03-01T10:00:00.000Z"[^>]*>7 minutes ago<\/time>/);
    expect(page.text).toMatch(/last seen <span class="seen"><time datetime="2026-03-01T10:05:00.000Z"[^>]*>2 minutes ago<\/time>/);
    expect(page.text).toMatch(/ends <span class="ends"><time datetime="2026-03-01T18:00:00.000Z"[^>]*>in 8 hours<\/time>/);
  });
});
