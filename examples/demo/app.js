import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import express from 'express';
import session, { MemoryStore } from 'sessionkit';
import { checkPassword } from './accounts.js';
import { describeBrowser } from './browser.js';
import { userId } from './stores.js';
import { html } from './html.js';
import {
  csrfField, expiresIn, intro, loginForm, logoutButton, page, pleaseLogIn, when,
} from './views.js';

/** The session cookie's name. */
export const cookieName = 'sessionkit.demo';

/** How long a session lasts without being used: a week. */
const maxAge = 7 * 24 * 60 * 60 * 1000;

/** "Last used" is written at most this often, so that reading a page stays a read. */
const lastSeenEvery = 60 * 1000;

/**
 * The demo app: login, a visit counter and the list of one's sessions on every device.
 *
 * - `store`: a sessionkit store (its `listUserSessions` and `destroyUserSessions` power the
 *   sessions page); by default a MemoryStore. None with `sessionMiddleware`.
 * - `sessionMiddleware`: a factory taking the session options, used instead of
 *   `session()` (the cookie-only sessions of `sessionkit/cookie`).
 * - `storeLabel`: what the footer says about the store.
 * - `secret`: signs (or seals) the session cookie.
 */
export function createApp({ store, sessionMiddleware, storeLabel = 'MemoryStore', secret } = {}) {
  if (!secret) throw new Error('createApp needs a secret');
  store ??= sessionMiddleware ? undefined : new MemoryStore({ userId });
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
  };
  if (!sessionMiddleware) {
    // Store-backed sessions only (a sealed session has no store to save to or touch).
    options.resave = false;
    // An unmodified session's expiry is renewed in the store at most once a minute.
    options.touchAfter = 60;
  }
  if (store) options.store = store;
  app.use(express.urlencoded({ extended: false, limit: '4kb' }));
  app.use(sessionMiddleware ? sessionMiddleware(options) : session(options));
  app.use(noteActivity);
  app.use(checkCsrf);

  const render = (req, res, title, body, status = 200) => {
    res.status(status).type('html').send(page({ title, path: req.path, storeLabel, user: req.session?.username }, body));
  };

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
    await req.session.regenerate();
    const now = Date.now();
    Object.assign(req.session, {
      username: user,
      startedAt: now,
      lastSeen: now,
      browser: describeBrowser(req.get('user-agent')),
    });
    await req.session.save();
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
    <dt>Browser</dt><dd>${s.browser}</dd>
    <dt>Session expires</dt><dd>${expiresIn(s.cookie?.expires)} unless used again</dd>
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

  app.get('/sessions', async (req, res) => {
    const s = req.session;
    if (!s.username) {
      render(req, res, 'Please log in', pleaseLogIn());
      return;
    }
    const listable = typeof store?.listUserSessions === 'function';
    const sessions = listable
      ? await store.listUserSessions(s.username)
      : [{ id: req.sessionID, data: s }];
    // This browser first, then the most recently used.
    const rank = ({ id, data }) => (id === req.sessionID ? Infinity : Number(data.lastSeen) || 0);
    sessions.sort((a, b) => rank(b) - rank(a));
    const { ended } = req.query;
    const others = sessions.length - 1;
    render(req, res, 'Your sessions', html`<section>
  <h1>Your sessions</h1>
  ${typeof ended === 'string' && /^\d{1,9}$/.test(ended)
    ? html`<p class="notice" role="status">Logged out ${Number(ended)} other ${ended === '1' ? 'session' : 'sessions'}.</p>` : ''}
  <p>Every browser where <strong>${s.username}</strong> is logged in has its own session.</p>
  <ul class="sessions">${sessions.map((entry) => sessionItem(entry, req.sessionID))}</ul>
  ${listable
    ? html`<form method="post" action="/sessions/logout-others">
    ${csrfField(csrfToken(req))}
    <button type="submit" class="secondary"${others ? '' : html` disabled`}>Log out other devices</button>
  </form>`
    : sessionMiddleware
      ? html`<p class="muted">With cookie-only sessions the session lives in each browser, so the server
  can neither list nor end the sessions of other devices.</p>`
      : html`<p class="muted">This store keeps no index of sessions by user (its <code>userId</code> option),
  so only this session is shown.</p>`}
</section>`);
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
    res.redirect(303, `/sessions?ended=${ended}`);
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

function sessionItem({ id, data }, currentId) {
  const current = id === currentId;
  return html`<li data-session="${handleOf(id)}"${current ? html` class="current" data-current` : ''}>
    <strong>${data.browser ?? 'Unknown browser'}</strong>${current ? html`<span class="badge">this browser</span>` : ''}
    <div class="muted">Started ${when(data.startedAt)} · last used ${when(data.lastSeen)}</div>
  </li>`;
}

/** What the page shows for a session: a short hash, never the session ID that would log one in. */
function handleOf(id) {
  return createHash('sha256').update(id).digest('base64url').slice(0, 12);
}

/** Records when a logged-in session was last used, at most once a minute. */
function noteActivity(req, _res, next) {
  const s = req.session;
  if (s?.username) {
    const now = Date.now();
    if (!(now - s.lastSeen < lastSeenEvery)) s.lastSeen = now;
  }
  next();
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
