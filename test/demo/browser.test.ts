// The demo app in a real browser (Debian's Chromium driven by playwright-core), served in-process.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { cookieName, createApp } from '../../examples/demo/app.js';
import { openStore, type OpenedStore } from '../../examples/demo/stores.js';
import { launchChromium, listen, logIn, root, userAgents } from './helpers.js';

let browser: Browser;
let opened: OpenedStore;
let server: { url: string; close: () => Promise<void> };
let base: string;
/** The same app and store, with sessions that end a minute after login. */
let shortLived: { url: string; close: () => Promise<void> };
let dir: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  // The store `npm start` uses, SQLite, with its file in a temp dir; the footer says what
  // `npm start` shows, as the screenshot in README is of that.
  dir = mkdtempSync(join(tmpdir(), 'sessionkit-demo-browser-'));
  opened = await openStore('sqlite', { SQLITE_PATH: join(dir, 'sessions.db') });
  const options = { store: opened.store, storeLabel: 'SQLiteStore (data/sessions.db)', limits: opened.limits, secret: 'browser test secret' };
  server = await listen(createApp(options));
  base = server.url;
  shortLived = await listen(createApp({ ...options, absoluteTimeout: 60_000 }));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await shortLived?.close();
  await opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  // Each test starts with nobody logged in anywhere.
  await opened.store!.destroyUserSessions('alice');
  await opened.store!.destroyUserSessions('bob');
});

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});

/**
 * A browser of its own (its own cookies): one device. With `ip`, its requests come through a
 * proxy the app trusts (loopback) that names that client address.
 */
async function device(userAgent = userAgents.chrome, ip?: string): Promise<Page> {
  const context = await browser.newContext({
    userAgent, viewport: { width: 900, height: 520 },
    extraHTTPHeaders: ip ? { 'X-Forwarded-For': ip } : {},
  });
  contexts.push(context);
  return context.newPage();
}

/** An element's text as a reader sees it: line breaks in the markup are spaces. */
const text = async (page: Page, selector: string) => (await page.textContent(selector))?.replace(/\s+/g, ' ').trim();

/** The session ID in a signed cookie value (`s:<id>.<signature>`). */
function idOf(cookie: string): string {
  const value = decodeURIComponent(cookie);
  return value.slice(2, value.lastIndexOf('.'));
}

async function sessionCookie(page: Page): Promise<string | undefined> {
  return (await page.context().cookies()).find((c) => c.name === cookieName)?.value;
}

// A generous limit: a browser shares two cores with the rest of the suite.
describe('demo app in Chromium', { timeout: 90_000 }, () => {
  test('logs in through the form, with a new session ID, and greets the user on the dashboard', async () => {
    const page = await device();
    await page.goto(`${base}/`);
    const home = await page.textContent('body');
    expect(home).toContain('alice');
    expect(home).toContain('wonderland');
    expect(home).toContain('bob');
    expect(home).toContain('builder');
    expect(await page.locator('form[action="/login"] input[name=username]').count()).toBe(1);
    expect(await page.locator('form[action="/login"] input[name=password][type=password]').count()).toBe(1);
    const before = await sessionCookie(page);
    expect(before).toBeTruthy();

    await logIn(page, base, 'alice', 'wonderland');
    expect(new URL(page.url()).pathname).toBe('/dashboard');
    expect(await text(page, 'h1')).toBe('Welcome back, alice');
    expect(await page.locator('form[action="/logout"] button').textContent()).toBe('Log out');
    expect(await text(page, '#store')).toContain('SQLiteStore');
    // No fixation: the ID the browser held before logging in no longer names a session.
    const after = await sessionCookie(page);
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
    expect(await opened.store!.get(idOf(before!))).toBeFalsy();
    expect(await opened.store!.get(idOf(after!))).toMatchObject({ username: 'alice' });
    expect(await opened.store!.listUserSessions('alice')).toHaveLength(1);
  });

  test('saves a screenshot of the dashboard for README', async () => {
    const page = await device();
    await logIn(page, base, 'alice', 'wonderland');
    await page.goto(`${base}/visit`);
    await page.goto(`${base}/visit`);
    await page.goto(`${base}/visit`);
    await page.goto(`${base}/dashboard`);
    expect(await text(page, 'h1')).toBe('Welcome back, alice');
    mkdirSync(join(root, 'docs'), { recursive: true });
    const png = await page.screenshot({ path: join(root, 'docs/dashboard.png'), fullPage: true });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  test('counts visits in the session, separately for each browser', async () => {
    const page = await device();
    await page.goto(`${base}/visit`);
    expect(await text(page, '#visits')).toBe('Welcome to this page for the first time!');
    await page.reload();
    expect(await text(page, '#visits')).toBe('You visited this page 2 times');
    await page.reload();
    expect(await text(page, '#visits')).toBe('You visited this page 3 times');

    const other = await device();
    await other.goto(`${base}/visit`);
    expect(await text(other, '#visits')).toBe('Welcome to this page for the first time!');
    await page.reload();
    expect(await text(page, '#visits')).toBe('You visited this page 4 times');
  });

  test('a wrong password shows the form again with "Invalid credentials" and logs nobody in', async () => {
    const page = await device();
    await logIn(page, base, 'alice', 'looking-glass');
    expect(await text(page, '[role=alert]')).toBe('Invalid credentials');
    expect(await page.inputValue('input[name=username]')).toBe('alice');
    expect(await page.inputValue('input[name=password]')).toBe('');
    await page.goto(`${base}/dashboard`);
    expect(await text(page, 'h1')).toBe('Please log in');
    expect(await page.getAttribute('main a', 'href')).toBe('/');

    await logIn(page, base, 'mallory', 'wonderland');
    expect(await text(page, '[role=alert]')).toBe('Invalid credentials');
    expect(await opened.store!.listUserSessions('alice')).toHaveLength(0);
  });

  test('what the user typed comes back escaped, never as markup', async () => {
    const page = await device();
    const typed = '<img src=x id=injected onerror="document.title=1">"\'&';
    await logIn(page, base, typed, 'nope');
    expect(await text(page, '[role=alert]')).toBe('Invalid credentials');
    expect(await page.inputValue('input[name=username]')).toBe(typed);
    expect(await page.locator('#injected').count()).toBe(0);
    expect(await page.title()).not.toBe('1');
  });

  test('two devices: each sees both sessions, and one logs out the other', async () => {
    const laptop = await device(userAgents.chrome, '203.0.113.7');
    const desktop = await device(userAgents.firefox, '198.51.100.23');
    const bobsPhone = await device();
    await logIn(laptop, base, 'alice', 'wonderland');
    await logIn(desktop, base, 'alice', 'wonderland');
    await logIn(bobsPhone, base, 'bob', 'builder');

    await laptop.goto(`${base}/sessions`);
    const items = laptop.locator('[data-session]');
    expect(await items.count()).toBe(2);
    const listed = await items.allTextContents();
    expect(listed.some((t) => t.includes('Chrome 156 on Linux') && t.includes('IP 203.0.113.7'))).toBe(true);
    expect(listed.some((t) => t.includes('Firefox 146 on Windows') && t.includes('IP 198.51.100.23'))).toBe(true);
    for (const t of listed) {
      expect(t).toMatch(/logged in\s+just now/);
      expect(t).toMatch(/last seen\s+just now/);
      expect(t).toMatch(/ends\s+in 8 hours/);
    }
    expect(await laptop.locator('[data-session][data-current]').count()).toBe(1);
    expect(await laptop.locator('[data-session][data-current]').textContent()).toContain('Chrome 156 on Linux');
    expect(await laptop.locator('[data-session][data-current]').textContent()).toContain('this device');
    // Handles, not session IDs: the page never shows what would log someone in.
    const handles = await items.evaluateAll((els) => els.map((el) => el.getAttribute('data-session')));
    const cookie = await sessionCookie(laptop);
    for (const handle of handles) expect(decodeURIComponent(cookie!)).not.toContain(handle);

    await desktop.goto(`${base}/visit`);
    await desktop.goto(`${base}/sessions`);
    expect(await desktop.locator('[data-session]').count()).toBe(2);
    expect(await desktop.locator('[data-session][data-current]').textContent()).toContain('Firefox 146 on Windows');
    const before = await sessionCookie(desktop);
    await Promise.all([desktop.waitForNavigation(), desktop.click('text=Log out other devices')]);
    expect(await text(desktop, '[role=status]')).toBe('Logged out 1 other session.');
    expect(await desktop.locator('[data-session]').count()).toBe(1);
    expect(await desktop.locator('[data-session][data-current]').count()).toBe(1);
    // This device goes on under a new session ID, with its session as it was.
    const after = await sessionCookie(desktop);
    expect(idOf(after!)).not.toBe(idOf(before!));
    expect(await opened.store!.get(idOf(before!))).toBeFalsy();
    expect(await opened.store!.get(idOf(after!))).toMatchObject({ username: 'alice', views: 1 });

    await laptop.goto(`${base}/dashboard`);
    expect(await text(laptop, 'h1')).toBe('Please log in');
    await desktop.goto(`${base}/dashboard`);
    expect(await text(desktop, 'h1')).toBe('Welcome back, alice');
    await bobsPhone.goto(`${base}/dashboard`);
    expect(await text(bobsPhone, 'h1')).toBe('Welcome back, bob');
    expect(await opened.store!.listUserSessions('alice')).toHaveLength(1);
  });

  test('log out destroys the session on the server, so its cookie is worthless', async () => {
    const page = await device();
    await logIn(page, base, 'bob', 'builder');
    const cookies = await page.context().cookies();
    expect(cookies.some((c) => c.name === cookieName)).toBe(true);

    await Promise.all([page.waitForNavigation(), page.click('form[action="/logout"] button')]);
    expect(await text(page, 'h1')).toBe('Logged out');
    expect(await text(page, '#how')).toContain('Your session is destroyed on the server: its cookie is worthless now.');
    expect(await page.getAttribute('main a', 'href')).toBe('/');
    expect(await text(page, '#who')).toBe('Not logged in');
    expect(await sessionCookie(page)).toBeUndefined();
    expect(await opened.store!.listUserSessions('bob')).toHaveLength(0);

    // The POST answered with a redirect: what the browser shows came from a GET, so reloading
    // it sends no form again (with the token of a session that is gone).
    expect(new URL(page.url()).pathname).toBe('/logged-out');
    const reloaded = await page.reload();
    expect(reloaded!.request().method()).toBe('GET');
    expect(reloaded!.status()).toBe(200);
    expect(await text(page, 'h1')).toBe('Logged out');
    expect(await page.textContent('body')).not.toContain('CSRF');

    // Even a browser that kept the old cookie is logged out.
    await page.context().addCookies(cookies);
    await page.goto(`${base}/dashboard`);
    expect(await text(page, 'h1')).toBe('Please log in');
  });

  test('the header says who is logged in, on every page of each browser', async () => {
    const alices = await device();
    const bobs = await device();
    for (const path of ['/', '/dashboard', '/visit', '/sessions']) {
      await alices.goto(`${base}${path}`);
      expect(await text(alices, 'header #who')).toBe('Not logged in');
    }
    await logIn(alices, base, 'alice', 'wonderland');
    await logIn(bobs, base, 'bob', 'builder');
    for (const path of ['/', '/dashboard', '/visit', '/sessions', '/nowhere']) {
      await alices.goto(`${base}${path}`);
      expect(await text(alices, 'header #who')).toBe('Logged in as alice');
      expect(await text(alices, 'header #who strong')).toBe('alice');
      await bobs.goto(`${base}${path}`);
      expect(await text(bobs, 'header #who')).toBe('Logged in as bob');
    }
  });

  test('the dashboard\'s visit count is the number the visit counter shows', async () => {
    const page = await device();
    // Visits before logging in belong to the session that login replaces.
    await page.goto(`${base}/visit`);
    await page.goto(`${base}/visit`);
    await logIn(page, base, 'alice', 'wonderland');
    expect(await text(page, '#visit-count')).toBe('You have not opened the visit counter since you logged in');
    expect(await page.getAttribute('#visit-count a', 'href')).toBe('/visit');

    await page.click('#visit-count a');
    expect(await text(page, '#visits')).toBe('Welcome to this page for the first time!');
    await page.goto(`${base}/dashboard`);
    expect(await text(page, '#visit-count')).toBe('You opened the visit counter once since you logged in');

    await page.goto(`${base}/visit`);
    await page.goto(`${base}/visit`);
    expect(await text(page, '#visits')).toBe('You visited this page 3 times');
    // Other pages are not counted: the dashboard and the sessions page leave the number alone.
    await page.goto(`${base}/sessions`);
    await page.goto(`${base}/dashboard`);
    await page.reload();
    expect(await text(page, '#visit-count')).toBe('You opened the visit counter 3 times since you logged in');
  });

  test('a POST without the session\'s CSRF token is rejected and changes nothing', async () => {
    const page = await device();
    const other = await device();
    await logIn(page, base, 'alice', 'wonderland');
    await logIn(other, base, 'alice', 'wonderland');
    const request = page.request;

    const forms: Record<string, string>[] = [{}, { _csrf: '' }, { _csrf: 'forged-token' }];
    for (const form of forms) {
      const logout = await request.post(`${base}/logout`, { form, maxRedirects: 0 });
      expect(logout.status()).toBe(403);
      expect(await logout.text()).toContain('Invalid or missing CSRF token');
      const others = await request.post(`${base}/sessions/logout-others`, { form, maxRedirects: 0 });
      expect(others.status()).toBe(403);
    }
    // A token from another session (here, the other device's) doesn't count either.
    await other.goto(`${base}/dashboard`);
    const othersToken = await other.getAttribute('input[name=_csrf]', 'value');
    const stolen = await request.post(`${base}/logout`, { form: { _csrf: othersToken! }, maxRedirects: 0 });
    expect(stolen.status()).toBe(403);

    await page.goto(`${base}/dashboard`);
    expect(await text(page, 'h1')).toBe('Welcome back, alice');
    expect(await opened.store!.listUserSessions('alice')).toHaveLength(2);

    // The token on the page works.
    const token = await page.getAttribute('input[name=_csrf]', 'value');
    const ok = await request.post(`${base}/logout`, { form: { _csrf: token! }, maxRedirects: 0 });
    expect(ok.status()).toBe(303);
    expect(ok.headers().location).toBe('/logged-out');
    expect(await opened.store!.listUserSessions('alice')).toHaveLength(1);
  });

  test('"Log out this device" on one row logs that browser out, and no other', async () => {
    const laptop = await device(userAgents.chrome, '203.0.113.7');
    const desktop = await device(userAgents.firefox, '198.51.100.23');
    const bobs = await device(userAgents.chrome, '192.0.2.50');
    await logIn(laptop, base, 'alice', 'wonderland');
    await logIn(desktop, base, 'alice', 'wonderland');
    await logIn(bobs, base, 'bob', 'builder');

    await laptop.goto(`${base}/sessions`);
    // A button on every other device's row, none on this device's.
    expect(await laptop.locator('[data-session][data-current] button:has-text("Log out this device")').count()).toBe(0);
    const firefox = laptop.locator('[data-session]', { hasText: 'Firefox 146 on Windows' });
    expect(await firefox.count()).toBe(1);
    expect(await text(laptop, '[data-session]:has-text("Firefox 146 on Windows") .ip')).toBe('198.51.100.23');
    expect(await text(laptop, '[data-session][data-current] .ip')).toBe('203.0.113.7');
    const handle = await firefox.getAttribute('data-session');
    await Promise.all([laptop.waitForNavigation(), firefox.locator('button', { hasText: 'Log out this device' }).click()]);
    expect(new URL(laptop.url()).pathname).toBe('/sessions');
    expect(await text(laptop, '[role=status]')).toBe('Logged out 1 other session.');
    expect(await laptop.locator('[data-session]').count()).toBe(1);
    expect(await laptop.locator('[data-session][data-current]').count()).toBe(1);
    expect(await text(laptop, `#activity [data-event=ended]`)).toContain(`Logged out from another device (Chrome 156 on Linux) ${handle}`);

    // The next page the other browser loads is logged out; the rest stay logged in.
    await desktop.goto(`${base}/dashboard`);
    expect(await text(desktop, 'h1')).toBe('Please log in');
    await laptop.goto(`${base}/dashboard`);
    expect(await text(laptop, 'h1')).toBe('Welcome back, alice');
    await bobs.goto(`${base}/dashboard`);
    expect(await text(bobs, 'h1')).toBe('Welcome back, bob');
    expect(await opened.store!.listUserSessions('alice')).toHaveLength(1);
  });

  test('with at most 3 devices, a 4th login logs out the one that logged in first', async () => {
    const devices = [
      await device(userAgents.chrome, '192.0.2.1'), await device(userAgents.firefox, '192.0.2.2'),
      await device(userAgents.chrome, '192.0.2.3'), await device(userAgents.firefox, '192.0.2.4'),
    ];
    const [first, second, third, fourth] = devices as [Page, Page, Page, Page];
    for (const page of [first, second, third]) await logIn(page, base, 'alice', 'wonderland');
    await third.goto(`${base}/sessions`);
    expect(await third.locator('[data-session]').count()).toBe(3);
    expect(await text(third, '#rules')).toContain('You can be logged in on at most 3 devices at once: logging in on another logs out the one that logged in longest ago.');

    await logIn(fourth, base, 'alice', 'wonderland');
    expect(await text(fourth, 'h1')).toBe('Welcome back, alice');
    await first.goto(`${base}/dashboard`);
    expect(await text(first, 'h1')).toBe('Please log in');
    for (const page of [second, third, fourth]) {
      await page.goto(`${base}/dashboard`);
      expect(await text(page, 'h1')).toBe('Welcome back, alice');
    }
    await fourth.goto(`${base}/sessions`);
    const ips = await fourth.locator('[data-session] .ip').allTextContents();
    expect(ips.sort()).toEqual(['192.0.2.2', '192.0.2.3', '192.0.2.4']);
  });

  test('a session ends its absolute timeout after login, however active', async () => {
    // The server runs in this process: its clock is moved on, the browser's is not.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    const page = await device(userAgents.firefox, '203.0.113.9');
    await logIn(page, shortLived.url, 'bob', 'builder');
    expect(await text(page, 'h1')).toBe('Welcome back, bob');
    expect(await text(page, '#ends')).toMatch(/^in 1 minute, 1 minute after login however active$/);
    await page.goto(`${shortLived.url}/sessions`);
    expect(await text(page, '#rules')).toContain('Each session ends 1 minute after its login, however active.');
    const loggedIn = Date.now();

    // Used all along, up to just before the minute is over.
    vi.setSystemTime(loggedIn + 30_000);
    await page.goto(`${shortLived.url}/visit`);
    vi.setSystemTime(loggedIn + 55_000);
    await page.goto(`${shortLived.url}/visit`);
    expect(await text(page, '#visits')).toBe('You visited this page 2 times');
    await page.goto(`${shortLived.url}/dashboard`);
    expect(await text(page, 'h1')).toBe('Welcome back, bob');

    vi.setSystemTime(loggedIn + 65_000);
    await page.goto(`${shortLived.url}/dashboard`);
    expect(await text(page, 'h1')).toBe('Please log in');
    expect(await text(page, '#who')).toBe('Not logged in');
    expect(await opened.store!.listUserSessions('bob')).toHaveLength(0);
  });
});

describe('demo app in Chromium, with cookie-only sessions (SESSION_STORE=cookie)', { timeout: 90_000 }, () => {
  let sealed: { url: string; close: () => Promise<void> };

  beforeAll(async () => {
    const cookie = await openStore('cookie', {});
    sealed = await listen(createApp({
      sessionMiddleware: cookie.sessionMiddleware, storeLabel: cookie.label, secret: 'a browser test secret of 32+ characters',
    }));
  });

  afterAll(async () => {
    await sealed?.close();
  });

  test('the pages say the session is sealed in the browser, never that the server found it in a store', async () => {
    const page = await device();
    await page.goto(`${sealed.url}/`);
    const intro = await text(page, 'main');
    expect(intro).toContain('the whole session travels in your browser\'s cookie, sealed');
    expect(intro).not.toContain('store');
    expect(await text(page, '#store')).toBe('cookie-only sessions (sealed in the browser)');

    await logIn(page, sealed.url, 'alice', 'wonderland');
    expect(await text(page, 'h1')).toBe('Welcome back, alice');
    expect(await text(page, 'header #who')).toBe('Logged in as alice');
    const how = await text(page, '#how');
    expect(how).toContain('Your browser sent the whole session, sealed in a cookie');
    expect(how).toContain('The server keeps no copy');
    expect(how).toContain('username: "alice"');
    expect(how).not.toMatch(/store|signed session ID/);
    // What the page says is so: the cookie holds the session, not an ID with a signature.
    const value = (await page.context().cookies()).find((c) => c.name === 'sessionkit.demo')?.value;
    expect(value).toMatch(/^\d+\.[A-Za-z0-9_-]{40,}$/);
    expect(value).not.toContain('alice');

    await page.goto(`${sealed.url}/visit`);
    expect(await text(page, 'main')).toContain('sealed in your browser\'s cookie');
    expect(await text(page, 'main')).not.toContain('on the server');
  });

  test('logout redirects, and says truly what a kept copy of the cookie could do', async () => {
    const page = await device();
    await logIn(page, sealed.url, 'bob', 'builder');
    const cookies = await page.context().cookies();
    await Promise.all([page.waitForNavigation(), page.click('form[action="/logout"] button')]);
    expect(new URL(page.url()).pathname).toBe('/logged-out');
    expect(await text(page, 'h1')).toBe('Logged out');
    expect(await text(page, 'header #who')).toBe('Not logged in');
    const how = await text(page, '#how');
    expect(how).toContain('Your browser has dropped its session cookie');
    expect(how).toContain('a copy of that cookie would still open the session until it expires');
    expect(how).not.toContain('destroyed on the server');
    expect((await page.context().cookies()).some((c) => c.name === 'sessionkit.demo')).toBe(false);

    await page.reload();
    expect(await text(page, 'h1')).toBe('Logged out');
    expect(await page.textContent('body')).not.toContain('CSRF');

    // As the page says: the server can't revoke a sealed session, so the old cookie still opens it.
    await page.context().addCookies(cookies);
    await page.goto(`${sealed.url}/dashboard`);
    expect(await text(page, 'h1')).toBe('Welcome back, bob');
  });
});
