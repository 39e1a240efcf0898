/**
 * passport 0.7 with passport-local, as apps use it: it calls `req.session.regenerate()` and
 * `save()` itself at login and logout. The whole flow runs on `session()` with every
 * sessionkit store, beside express-session on the same store, and on `cookieSession()`.
 */
import { createRequire } from 'node:module';
import express from 'express';
import { Passport } from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Browser, cookieName, cookieOnly, factories, idOf, otherStoreKinds, sessionOptions, storeKinds, stored, type OpenedStore,
} from './sessions.js';

const require = createRequire(import.meta.url);
/** Express 4, which most passport apps still run on. */
const express4: typeof express = require('express4');

interface User {
  id: string;
  username: string;
  password: string;
}

const users: User[] = [
  { id: 'u1', username: 'alice', password: 'wonderland' },
  { id: 'u2', username: 'bob', password: 'builder' },
];

/**
 * A login app as passport's guide writes it, on the session middleware given. With
 * `keepSessionInfo`, what the session held before login (the page to return to) is copied
 * into the new session at login and logout, as apps upgrading to passport 0.6+ are told to do.
 */
function passportApp(
  sessionMiddleware: express.RequestHandler,
  { keepSessionInfo = false, gate = Promise.resolve(), reached = () => {}, framework = express } = {},
) {
  const passport = new Passport();
  passport.use(new LocalStrategy((username, password, done) => {
    const user = users.find((u) => u.username === username && u.password === password);
    done(null, user ?? false);
  }));
  passport.serializeUser((user, done) => done(null, (user as User).id));
  passport.deserializeUser((id: string, done) => done(null, users.find((u) => u.id === id) ?? false));

  const app = framework();
  app.use(framework.urlencoded({ extended: false }));
  app.use(sessionMiddleware);
  app.use(passport.initialize());
  app.use(passport.session());
  // Something kept in the session before login: the page to return to, as login pages do.
  app.get('/login', (req, res) => {
    (req.session as any).returnTo = '/account';
    res.send('login form');
  });
  app.post('/login', passport.authenticate('local', { successRedirect: '/me', failureRedirect: '/login', keepSessionInfo }));
  app.get('/me', (req, res) => {
    res.json({
      user: (req.user as User | undefined)?.username ?? null,
      authenticated: req.isAuthenticated(),
      returnTo: (req.session as any)?.returnTo ?? null,
      id: req.sessionID,
    });
  });
  // A slow page that changes the session (a cart, say): it waits for `gate` once `reached`.
  app.post('/cart', async (req, res) => {
    reached();
    await gate;
    (req.session as any).cart = ['teapot'];
    res.json({ user: (req.user as User | undefined)?.username ?? null });
  });
  app.post('/logout', (req, res, next) => {
    req.logout({ keepSessionInfo }, (err) => (err ? next(err) : res.redirect('/login')));
  });
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: err.message });
  });
  return app;
}

/** What a person sees at each step, and the cookies that carried it: the same on every session middleware. */
async function loginFlow(app: express.Express) {
  const browser = new Browser(app);
  const steps: Record<string, unknown> = {};
  const sessionIds: string[] = [];
  /** What /me says, less the session ID, which is kept to compare. */
  const me = async (jar?: Map<string, string>) => {
    const { id, ...body } = (await browser.get('/me', jar)).body;
    sessionIds.push(id);
    return body;
  };

  const form = await browser.get('/login');
  steps.form = { status: form.status, setsCookie: form.setsCookie };
  const anonymous = browser.snapshot();
  steps.anonymous = await me();

  const wrong = await browser.post('/login', { username: 'alice', password: 'looking-glass' });
  steps.wrong = { status: wrong.status, location: wrong.headers.location };
  steps.afterWrong = await me();

  const login = await browser.post('/login', { username: 'alice', password: 'wonderland' });
  steps.login = { status: login.status, location: login.headers.location, setsCookie: login.setsCookie };
  steps.loginCookie = attributes(login.headers['set-cookie']);
  const loggedIn = browser.snapshot();
  steps.cookieChangedAtLogin = loggedIn.get(cookieName) !== anonymous.get(cookieName);
  const before = sessionIds.at(-1);
  steps.me = await me();
  steps.idChangedAtLogin = sessionIds.at(-1) !== before;
  steps.meAgain = await me();
  const during = sessionIds.at(-1);
  // Session fixation: whoever planted or kept the cookie from before login is not logged in.
  steps.preLoginCookie = await me(anonymous);

  const logout = await browser.post('/logout');
  steps.logout = { status: logout.status, location: logout.headers.location };
  steps.afterLogout = await me();
  steps.idChangedAtLogout = sessionIds.at(-1) !== during;
  steps.keptLoggedInCookie = await me(loggedIn);

  // And again, on the same browser: logging in after a logout works.
  const again = await browser.post('/login', { username: 'bob', password: 'builder' });
  steps.loginAgain = { status: again.status, location: again.headers.location };
  steps.meAsBob = await me();

  // A client that posts the login form with no cookie at all.
  const direct = new Browser(app);
  const first = await direct.post('/login', { username: 'alice', password: 'wonderland' });
  const { id: _id, ...directMe } = (await direct.get('/me')).body;
  steps.direct = { status: first.status, location: first.headers.location, me: directMe };
  return {
    steps,
    ids: { anonymous: anonymous.get(cookieName), loggedIn: loggedIn.get(cookieName), last: browser.cookies.get(cookieName) },
  };
}

/** The session cookie's attributes, the expiry's date left out (it moves with the clock). */
function attributes(setCookie: string | string[] | undefined): string[] {
  const line = ([] as string[]).concat(setCookie ?? []).find((l) => l.startsWith(`${cookieName}=`));
  return (line ?? '').split(';').slice(1).map((a) => a.trim().replace(/^(expires)=.*/i, '$1')).sort();
}

const nobody = { user: null, authenticated: false };

/** What the flow must show on a server-side session, whichever middleware runs it. */
const expected = {
  form: { status: 200, setsCookie: true },
  anonymous: { ...nobody, returnTo: '/account' },
  wrong: { status: 302, location: '/login' },
  afterWrong: { ...nobody, returnTo: '/account' },
  login: { status: 302, location: '/me', setsCookie: true },
  loginCookie: ['Expires', 'HttpOnly', 'Path=/'],
  cookieChangedAtLogin: true,
  idChangedAtLogin: true,
  // passport 0.7 regenerates the session at login and keeps nothing of the old one.
  me: { user: 'alice', authenticated: true, returnTo: null },
  meAgain: { user: 'alice', authenticated: true, returnTo: null },
  preLoginCookie: { ...nobody, returnTo: null },
  logout: { status: 302, location: '/login' },
  afterLogout: { ...nobody, returnTo: null },
  idChangedAtLogout: true,
  keptLoggedInCookie: { ...nobody, returnTo: null },
  loginAgain: { status: 302, location: '/me' },
  meAsBob: { user: 'bob', authenticated: true, returnTo: null },
  direct: { status: 302, location: '/me', me: { user: 'alice', authenticated: true, returnTo: null } },
};

describe.each([...storeKinds, ...otherStoreKinds])('passport login and logout on $name', (kind) => {
  let opened: OpenedStore;
  beforeAll(async () => {
    opened = await kind.open('passport');
  });
  afterAll(async () => {
    await opened?.close();
  });

  it('runs the same on sessionkit as on express-session, and the cookie from before login never carries the login', async () => {
    const results: Record<string, unknown> = {};
    for (const factory of factories) {
      const { steps, ids } = await loginFlow(passportApp(factory.session({ ...sessionOptions, store: opened.store })));
      results[factory.name] = steps;
      // The same on Express 4.
      const on4 = await loginFlow(passportApp(factory.session({ ...sessionOptions, store: opened.store }), { framework: express4 }));
      results[`${factory.name} on Express 4`] = on4.steps;
      // The IDs before login and while logged in name no session in the store any more.
      expect(await stored(opened.store, idOf(ids.anonymous!)), `${factory.name}: pre-login session`).toBeFalsy();
      expect(await stored(opened.store, idOf(ids.loggedIn!)), `${factory.name}: logged-in session after logout`).toBeFalsy();
      expect(await stored(opened.store, idOf(ids.last!)), `${factory.name}: bob's session`).toMatchObject({ passport: { user: 'u2' } });
    }
    expect(results['express-session']).toEqual(expected);
    expect(results['express-session on Express 4']).toEqual(expected);
    expect(results.sessionkit).toEqual(results['express-session']);
    expect(results['sessionkit on Express 4']).toEqual(results['express-session']);
  });
});

/** With `keepSessionInfo`, the login keeps the page to return to, in a session with a new ID all the same. */
const keeping = {
  ...expected,
  me: { user: 'alice', authenticated: true, returnTo: '/account' },
  meAgain: { user: 'alice', authenticated: true, returnTo: '/account' },
  afterLogout: { ...nobody, returnTo: '/account' },
  meAsBob: { user: 'bob', authenticated: true, returnTo: '/account' },
};

describe.each(storeKinds)('passport with keepSessionInfo on $name', (kind) => {
  let opened: OpenedStore;
  beforeAll(async () => {
    opened = await kind.open('passport-keep');
  });
  afterAll(async () => {
    await opened?.close();
  });

  it('keeps the session\'s data through login and logout, with a new ID each time, as on express-session', async () => {
    const results: Record<string, unknown> = {};
    for (const factory of factories) {
      const app = passportApp(factory.session({ ...sessionOptions, store: opened.store }), { keepSessionInfo: true });
      const { steps, ids } = await loginFlow(app);
      results[factory.name] = steps;
      expect(await stored(opened.store, idOf(ids.anonymous!)), `${factory.name}: pre-login session`).toBeFalsy();
      expect(await stored(opened.store, idOf(ids.loggedIn!)), `${factory.name}: logged-in session after logout`).toBeFalsy();
      expect(await stored(opened.store, idOf(ids.last!)), `${factory.name}: bob's session`).toMatchObject({ passport: { user: 'u2' } });
    }
    expect(results['express-session']).toEqual(keeping);
    expect(results.sessionkit).toEqual(results['express-session']);
  });
});

describe.each(storeKinds)('passport logout while a slow request is running, on $name', (kind) => {
  let opened: OpenedStore;
  beforeAll(async () => {
    opened = await kind.open('passport-slow');
  });
  afterAll(async () => {
    await opened?.close();
  });

  /** Logs in, starts a slow request that changes the session, logs out, then lets it finish. */
  async function logoutDuringSlowRequest(factory: (typeof factories)[number]) {
    let release!: () => void;
    let arrived!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const app = passportApp(factory.session({ ...sessionOptions, store: opened.store }), { gate, reached: arrived });
    const browser = new Browser(app);
    await browser.get('/login');
    await browser.post('/login', { username: 'alice', password: 'wonderland' });
    const loggedIn = browser.snapshot();
    const slow = browser.post('/cart', {}, loggedIn);
    await reached;
    await browser.post('/logout');
    release();
    const cart = await slow;
    return { cart: cart.body, keptCookie: (await browser.get('/me', loggedIn)).body, stored: await stored(opened.store, idOf(loggedIn.get(cookieName)!)) };
  }

  it('stays logged out on sessionkit; express-session writes the logged-in session back', async () => {
    const ours = await logoutDuringSlowRequest(factories[1]);
    expect(ours.cart).toEqual({ user: 'alice' });
    expect(ours.keptCookie).toMatchObject({ user: null, authenticated: false });
    expect(ours.stored).toBeFalsy();
    // What sessionkit's README says express-session does: the request that ends after the
    // logout saves the whole session it loaded, login included.
    const theirs = await logoutDuringSlowRequest(factories[0]);
    expect(theirs.cart).toEqual({ user: 'alice' });
    expect(theirs.keptCookie).toMatchObject({ user: 'alice', authenticated: true });
    expect(theirs.stored).toMatchObject({ passport: { user: 'u1' }, cart: ['teapot'] });
  });
});

describe('passport login and logout on cookieSession()', () => {
  it('logs in and out, and the cookie from before login never carries the login', async () => {
    const { steps } = await loginFlow(passportApp(cookieOnly()));
    expect((await loginFlow(passportApp(cookieOnly(), { framework: express4 }))).steps, 'on Express 4').toEqual(steps);
    expect(steps).toEqual({
      ...expected,
      // The session lives in the cookie: nothing on the server can end the copy kept from
      // before login, but it is the anonymous session it was, without the login.
      preLoginCookie: { ...nobody, returnTo: '/account' },
      // Likewise a copy of the logged-in cookie kept past logout still opens: the trade-off
      // of cookie-only sessions (the browser's own cookie was replaced at logout).
      keptLoggedInCookie: { user: 'alice', authenticated: true, returnTo: null },
    });
  });

  it('with keepSessionInfo, keeps the session\'s data through login and logout, with a new ID each time', async () => {
    const { steps } = await loginFlow(passportApp(cookieOnly(), { keepSessionInfo: true }));
    expect(steps).toEqual({
      ...keeping,
      preLoginCookie: { ...nobody, returnTo: '/account' },
      keptLoggedInCookie: { user: 'alice', authenticated: true, returnTo: '/account' },
    });
  });
});
