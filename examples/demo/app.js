import { randomBytes, timingSafeEqual } from 'node:crypto';
import express from 'express';
import session, { MemoryStore } from 'sessionkit';
import { checkPassword } from './accounts.js';
import { Audit, handleOf, sessionEvents } from './audit.js';
import { describeBrowser } from './browser.js';
import { defaultAbsoluteTimeout, defaultLimits } from './settings.js';
import { userId } from './stores.js';
import { html } from './html.js';
import {
  csrfField, duration, intro, loginForm, logoutButton, page, pleaseLogIn, when,
} from './views.js';

/** The session cookie's name. */
export const cookieName = 'sessionkit.demo';

/** How long a session lasts without being used: a week (its time since login ends it sooner). */
const maxAge = 7 * 24 * 60 * 60 * 1000;

/**
 * The demo app: login, a visit counter and the list of one's sessions on every device.
 *
 * - `store`: a sessionkit store (its `listUserSessions`, `destroySession` and
 *   `destroyUserSessions` power the sessions page); by default a MemoryStore. None with
 *   `sessionMiddleware`.
 * - `sessionMiddleware`: a factory taking the session options, used instead of
 *   `session()` (the cookie-only sessions of `sessionkit/cookie`).
 * - `storeLabel`: what the footer says about the store.
 * - `secret`: signs (or seals) the session cookie.
 * - `absoluteTimeout`: how long (ms) a session lasts after login, however active; 8 hours.
 * - `limits`: the `maxSessionsPerUser` and `onLimit` the store was given, for the pages to say
 *   (and for the default MemoryStore: 3 devices, evict-oldest).
 * - `log`: called with a line for each session event (the server passes console.log); the
 *   sessions page lists each user's events too.
 */
export function createApp({
  store, sessionMiddleware, storeLabel = 'MemoryStore', secret,
  absoluteTimeout = defaultAbsoluteTimeout, limits, log,
} = {}) {
  if (!secret) throw new Error('createApp needs a secret');
  if (!store && !sessionMiddleware) {
    limits ??= defaultLimits;
    store = new MemoryStore({ userId, ...limits });
  }
  // Cookie-only sessions live sealed in the browser: the pages must not speak of a store.
  const sealed = Boolean(sessionMiddleware);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.locals.storeLabel = storeLabel;

  const options = {
    secret,
    name: cookieName,
    saveUninitialized: false,
    rolling: false,
    cookie: { maxAge, httpOnly: true, sameSite: 'lax', secure: 'auto' },
    // However active, a session ends this long after login; nothing the browser sends extends it.
    absoluteTimeout,
    // Each session keeps the browser (User-Agent) and IP it came from, for the sessions page.
    devices: true,
  };
  if (!sessionMiddleware) {
    // Store-backed sessions only (a sealed session has no store to save to or touch).
    options.resave = false;
    // An unmodified session's expiry, and when it was last seen, are written at most once a minute.
    options.touchAfter = 60;
  }
  if (store) options.store = store;
  const sessions = sessionMiddleware ? sessionMiddleware(options) : session(options);
  const audit = new Audit({ log });
  if (typeof sessions.on === 'function') {
    for (const name of sessionEvents) sessions.on(name, (payload) => audit.event(name, payload));
  }
  app.use(express.urlencoded({ extended: false, limit: '4kb' }));
  app.use(sessions);
  app.use(checkCsrf);

  const render = (req, res, title, body, status = 200) => {
    res.status(status).type('html').send(page({ title, path: req.path, storeLabel, user: req.session?.username }, body));
  };

  /** When a session that started at `started` ends, by its absolute timeout. */
  const endOf = (started) => (typeof started === 'number' ? started + absoluteTimeout : undefined);

  app.get('/', (req, res) => {
    const user = req.session.username;
    if (user) {
      render(req, res, 'Home', html`<section>
  <h1>Hello, ${user}</h1>
  <p>You are logged in. Go to your <a href="/dashboard">dashboard</a>.</p>
</section>${intro({ sealed })}`);
      return;
    }
    render(req, res, 'Log in', html`${loginForm({ csrf: csrfToken(req) })}${intro({ sealed })}`);
  });

  app.post('/login', async (req, res) => {
    const { username, password } = req.body ?? {};
    const user = await checkPassword(username, password);
    if (!user) {
      const form = loginForm({
        csrf: csrfToken(req),
        error: 'Invalid credentials',
        username: typeof username === 'string' ? username.slice(0, 100) : '',
      });
      render(req, res, 'Log in', form, 401);
      return;
    }
    // A new session ID at login: an ID planted before login (session fixation) is worthless.
    // Nothing of the anonymous session is kept (a plain regenerate), as express-session advises.
    await req.session.regenerate();
    Object.assign(req.session, { username: user, startedAt: Date.now() });
    try {
      // Saving files the session under its user: the store enforces maxSessionsPerUser here.
      await req.session.save();
    } catch (err) {
      if (err?.code !== 'ESESSIONLIMIT') throw err;
      // Refused (onLimit: 'refuse'): nothing was stored. Start again from an anonymous session.
      await req.session.regenerate();
      const form = loginForm({
        csrf: csrfToken(req),
        error: `${user} is logged in on ${devices(err.limit)} already, the most allowed: log out on one of them first.`,
        username: user,
      });
      render(req, res, 'Log in', form, 409);
      return;
    }
    res.redirect(303, '/dashboard');
  });

  // Reloading the page after a failed login, or typing the address, lands on the form.
  app.get('/login', (req, res) => res.redirect(303, '/'));

  app.get('/dashboard', (req, res) => {
    const s = req.session;
    if (!s.username) {
      render(req, res, 'Please log in', pleaseLogIn());
      return;
    }
    render(req, res, 'Dashboard', html`<section>
  <h1>Welcome back, ${s.username}</h1>
  <p id="how">${sealed
    ? html`Your browser sent the whole session, sealed in a cookie: encrypted, so that only the
  server (which holds the secret) can read it, and authenticated, so that nobody can change it.
  The server keeps no copy; it opened the seal,
  and the session says <code>username: ${JSON.stringify(s.username)}</code>.`
    : html`Your browser sent only a signed session ID, in a cookie; the server found that session in
  its store, and it says <code>username: ${JSON.stringify(s.username)}</code>.`}</p>
  <dl>
    <dt>Logged in</dt><dd>${when(s.startedAt)}</dd>
    <dt>Browser</dt><dd>${describeBrowser(req.get('user-agent'))}</dd>
    <dt>Session ends</dt><dd id="ends">${when(endOf(s.startedAt))}, ${duration(absoluteTimeout)} after login however active</dd>
    <dt>Visit counter</dt><dd id="visit-count">${visitCount(s.views)}</dd>
  </dl>
  <p><a href="/sessions">See your sessions on other devices</a></p>
  ${logoutButton(csrfToken(req))}
</section>`);
  });

  app.get('/visit', (req, res) => {
    const views = (Number.isSafeInteger(req.session.views) ? req.session.views : 0) + 1;
    req.session.views = views;
    const message = views === 1
      ? 'Welcome to this page for the first time!'
      : `You visited this page ${views} times`;
    render(req, res, 'Visit counter', html`<section>
  <h1>Visit counter</h1>
  <p class="big" id="visits">${message}</p>
  <p>${sealed
    ? 'Reload the page: the count lives in your session, sealed in your browser\'s cookie, where only the server can read it and nobody can change it.'
    : 'Reload the page: the count lives in your session, on the server, not in the browser.'}</p>
  <p class="muted">Logging in or out starts a new session, so the count starts again.</p>
</section>`);
  });

  const listable = typeof store?.listUserSessions === 'function';
  const endable = typeof store?.destroySession === 'function';

  app.get('/sessions', async (req, res) => {
    const s = req.session;
    if (!s.username) {
      render(req, res, 'Please log in', pleaseLogIn());
      return;
    }
    const sessions = listable ? await store.listUserSessions(s.username) : [thisSession(req)];
    // This device first, then the most recently used.
    const rank = (entry) => (entry.id === req.sessionID ? Infinity : lastSeenOf(entry) ?? 0);
    sessions.sort((a, b) => rank(b) - rank(a));
    const others = sessions.length - 1;
    const csrf = csrfToken(req);
    const activity = audit.of(s.username);
    render(req, res, 'Your sessions', html`<section>
  <h1>Your sessions</h1>
  ${endedNotice(req.query.ended)}
  <p>Every browser where <strong>${s.username}</strong> is logged in has its own session.</p>
  <ul class="sessions">${sessions.map((entry) => sessionItem(entry, {
    current: entry.id === req.sessionID, csrf: endable ? csrf : undefined, endsAt: endOf(createdOf(entry)),
  }))}</ul>
  ${listable
    ? html`<form method="post" action="/sessions/logout-others">
    ${csrfField(csrf)}
    <button type="submit" class="secondary"${others ? '' : html` disabled`}>Log out other devices</button>
  </form>`
    : sessionMiddleware
      ? html`<p class="muted">With cookie-only sessions the session lives in each browser, so the server
  can neither list nor end the sessions of other devices.</p>`
      : html`<p class="muted">This store keeps no index of sessions by user (its <code>userId</code> option),
  so only this session is shown.</p>`}
  <p class="muted" id="rules">Each session ends ${duration(absoluteTimeout)} after its login, however active.
  ${listable && limits ? limitRule(limits) : ''}</p>
</section>${listable ? html`
<section>
  <h2>Recent activity</h2>
  ${activity.length
    ? html`<ol class="activity" id="activity">${activity.map((entry) => html`
    <li data-event="${entry.event}">${when(entry.at)}: ${entry.text} <code class="muted">${entry.handle}</code></li>`)}</ol>`
    : html`<p class="muted" id="activity">Nothing yet.</p>`}
  <p class="muted">What this server process saw since it started; each code names a session by a short hash, never its ID.</p>
</section>` : ''}`);
  });

  app.post('/sessions/logout-others', async (req, res) => {
    const user = req.session.username;
    if (!user) {
      render(req, res, 'Please log in', pleaseLogIn(), 401);
      return;
    }
    if (typeof store?.destroyUserSessions !== 'function') {
      res.redirect(303, '/sessions');
      return;
    }
    const ended = await store.destroyUserSessions(user, { except: req.sessionID });
    // This device keeps its session under a new ID: had its cookie been copied, the copy ends
    // with the other devices. Its data and its login time (so its absolute timeout) stay.
    await req.session.regenerate({ keepData: true });
    await req.session.save();
    audit.add({
      event: 'ended-others', userId: user, handle: handleOf(req.sessionID),
      text: `Logged out ${ended} other ${ended === 1 ? 'device' : 'devices'}; this one has a new session ID`,
    });
    res.redirect(303, `/sessions?ended=${ended}`);
  });

  app.post('/sessions/logout-device', async (req, res) => {
    const user = req.session.username;
    if (!user) {
      render(req, res, 'Please log in', pleaseLogIn(), 401);
      return;
    }
    const device = req.body?.device;
    if (!endable || typeof device !== 'string') {
      res.redirect(303, '/sessions');
      return;
    }
    // The form names the session by its handle; only this user's other sessions can match.
    const target = (await store.listUserSessions(user))
      .find((entry) => entry.id !== req.sessionID && handleOf(entry.id) === device);
    if (target) {
      await store.destroySession(target.id);
      audit.add({
        event: 'ended', userId: user, handle: handleOf(target.id),
        text: `Logged out from another device (${describeBrowser(req.get('user-agent'))})`,
      });
    }
    res.redirect(303, `/sessions?ended=${target ? 1 : 0}`);
  });

  app.post('/logout', async (req, res) => {
    await req.session.destroy();
    // The browser can forget the cookie too; the session it named is gone either way.
    if (!sealed) res.clearCookie(cookieName, { path: '/' });
    // A redirect, so that reloading the page that follows doesn't send the form again (with
    // the token of a session that is gone).
    res.redirect(303, '/logged-out');
  });

  app.get('/logged-out', (req, res) => {
    if (req.session.username) {
      res.redirect(303, '/dashboard');
      return;
    }
    render(req, res, 'Logged out', html`<section>
  <h1>Logged out</h1>
  <p id="how">${sealed
    ? 'Your browser has dropped its session cookie. With cookie-only sessions the server keeps nothing it could destroy: a copy of that cookie would still open the session until it expires.'
    : 'Your session is destroyed on the server: its cookie is worthless now.'}
  <a href="/">Home</a></p>
</section>`);
  });

  app.use((req, res) => {
    render(req, res, 'Not found', html`<section><h1>Not found</h1><p><a href="/">Home</a></p></section>`, 404);
  });

  app.use((err, req, res, _next) => {
    const status = Number.isInteger(err?.status) && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) console.error(err);
    if (res.headersSent) {
      res.end();
      return;
    }
    const title = status === 500 ? 'Something went wrong' : 'Bad request';
    res.status(status).type('html').send(page({ title, path: req.path, storeLabel, user: req.session?.username }, html`<section>
  <h1>${title}</h1>
  <p>${status === 500 ? 'The server could not handle this request. Try again in a moment.' : 'The server could not read this request.'}
  <a href="/">Home</a></p>
</section>`));
  });

  return app;
}

/** What the dashboard says of the visit counter: the number /visit shows, in the same words. */
function visitCount(views) {
  const times = Number.isSafeInteger(views) && views > 0 ? views : 0;
  const counter = html`<a href="/visit">the visit counter</a>`;
  if (times === 0) return html`You have not opened ${counter} since you logged in`;
  return html`You opened ${counter} ${times === 1 ? 'once' : `${times} times`} since you logged in`;
}

/** The notice after ending sessions from the sessions page: how many ended. */
function endedNotice(ended) {
  if (typeof ended !== 'string' || !/^\d{1,9}$/.test(ended)) return '';
  const count = Number(ended);
  const text = count === 0
    ? 'That session had already ended.'
    : `Logged out ${count} other ${count === 1 ? 'session' : 'sessions'}.`;
  return html`<p class="notice" role="status">${text}</p>`;
}

const devices = (count) => `${count} ${count === 1 ? 'device' : 'devices'}`;

/** What the sessions page says of the store's limit on devices. */
function limitRule({ maxSessionsPerUser, onLimit }) {
  const most = html`You can be logged in on at most <strong id="limit">${maxSessionsPerUser}</strong> ${maxSessionsPerUser === 1 ? 'device' : 'devices'} at once:`;
  return onLimit === 'refuse'
    ? html`${most} to log in on another, log out one of these first.`
    : html`${most} logging in on another logs out the one that logged in longest ago.`;
}

/**
 * The current session as a listing entry, where the store lists none (cookie-only sessions):
 * the device is the one making this request.
 */
function thisSession(req) {
  return {
    id: req.sessionID, data: req.session, expires: null,
    createdAt: typeof req.session.startedAt === 'number' ? new Date(req.session.startedAt) : null,
    lastSeenAt: new Date(), userAgent: req.get('user-agent'), ip: req.ip,
  };
}

// A listing entry's device comes from the store's meta (createdAt, lastSeenAt, userAgent, ip);
// a session stored before the demo recorded devices has only what the app kept in its data.
const createdOf = (entry) => entry.createdAt?.getTime() ?? entry.data?.startedAt;
const lastSeenOf = (entry) => entry.lastSeenAt?.getTime() ?? entry.data?.lastSeen;
const browserOf = (entry) => (entry.userAgent ? describeBrowser(entry.userAgent) : entry.data?.browser ?? 'Unknown browser');
// An IPv4 client on a dual-stack socket comes as ::ffff:203.0.113.7; people know it without the prefix.
const ipOf = (entry) => (typeof entry.ip === 'string' ? entry.ip.replace(/^::ffff:(?=\d+\.)/, '') : 'unknown');

/** One row of the sessions page; `csrf` when its "Log out this device" button can be shown. */
function sessionItem(entry, { current, csrf, endsAt }) {
  const handle = handleOf(entry.id);
  return html`<li data-session="${handle}"${current ? html` class="current" data-current` : ''}>
    <strong class="device">${browserOf(entry)}</strong>${current ? html`<span class="badge">this device</span>` : ''}
    <div class="muted">IP <span class="ip">${ipOf(entry)}</span> · logged in <span class="created">${when(createdOf(entry))}</span>
    · last seen <span class="seen">${when(lastSeenOf(entry))}</span> · ends <span class="ends">${when(endsAt)}</span></div>
    ${!current && csrf ? html`<form method="post" action="/sessions/logout-device">${csrfField(csrf)}
      <input type="hidden" name="device" value="${handle}"><button type="submit" class="secondary">Log out this device</button></form>` : ''}
  </li>`;
}

/** The session's CSRF token, made on first use: random, and secret to other sites. */
function csrfToken(req) {
  if (typeof req.session.csrf !== 'string') req.session.csrf = randomBytes(24).toString('base64url');
  return req.session.csrf;
}

/**
 * Every POST must carry the session's CSRF token: another site can make a browser send a
 * form here with its cookie, but it cannot read the token from our pages.
 */
function checkCsrf(req, res, next) {
  if (req.method !== 'POST') {
    next();
    return;
  }
  const expected = req.session?.csrf;
  const given = req.body?._csrf;
  if (typeof expected === 'string' && typeof given === 'string' && sameText(expected, given)) {
    next();
    return;
  }
  res.status(403).type('html').send(page({
    title: 'Forbidden', path: req.path, storeLabel: req.app.locals.storeLabel, user: req.session?.username,
  }, html`<section>
  <h1>Invalid or missing CSRF token</h1>
  <p>This form was not sent from a page of this session (or the session has ended).
  <a href="/">Go back home</a> and try again.</p>
</section>`));
}

function sameText(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
