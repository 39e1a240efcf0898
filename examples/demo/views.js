import { demoAccounts } from './accounts.js';
import { html, trusted } from './html.js';

const style = `
  :root { color-scheme: light dark; --accent: #4f46e5; --muted: #6b7280; --line: #e5e7eb; --card: #fff; --bg: #f5f6fa; }
  @media (prefers-color-scheme: dark) { :root { --line: #2e3440; --card: #1b1f27; --bg: #12151b; --muted: #9aa3b2; --accent: #8b93ff; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); }
  header, main, footer { max-width: 44rem; margin: 0 auto; padding: 0 1.25rem; }
  header { display: flex; align-items: baseline; gap: .4rem 1.5rem; flex-wrap: wrap; padding-top: 1.25rem; }
  header strong { font-size: 1.15rem; }
  header strong a { color: inherit; }
  nav { display: flex; gap: 1rem; flex-wrap: wrap; }
  nav a[aria-current] { font-weight: 600; text-decoration: underline; }
  /* Who is logged in, beside the title; the navigation gets a row of its own. */
  #who { order: 2; margin-left: auto; color: var(--muted); font-size: .92rem; }
  #who strong { font-size: inherit; color: var(--accent); }
  header nav { order: 3; flex-basis: 100%; }
  a { color: var(--accent); text-decoration: none; }
  a:hover { text-decoration: underline; }
  main > section { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 1.25rem 1.5rem; margin: 1.25rem 0; }
  h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
  h2 { font-size: 1.1rem; margin: 0 0 .5rem; }
  p { margin: .5rem 0; }
  .muted { color: var(--muted); font-size: .92rem; }
  label { display: block; margin: .75rem 0 .25rem; font-weight: 500; }
  input[type=text], input[type=password] { width: 100%; max-width: 20rem; padding: .5rem .65rem; border: 1px solid var(--line); border-radius: 8px; font: inherit; background: transparent; color: inherit; }
  button { font: inherit; padding: .5rem 1rem; border-radius: 8px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; margin-top: .75rem; }
  button.secondary { background: transparent; color: var(--accent); }
  form.inline { display: inline; }
  .error { color: #b91c1c; background: #fef2f2; border: 1px solid #fecaca; padding: .5rem .75rem; border-radius: 8px; }
  .notice { background: #ecfdf5; color: #065f46; border: 1px solid #a7f3d0; padding: .5rem .75rem; border-radius: 8px; }
  .big { font-size: 1.35rem; font-weight: 600; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.25rem; margin: .75rem 0; }
  dt { color: var(--muted); }
  dd { margin: 0; }
  ul.sessions { list-style: none; padding: 0; margin: .75rem 0; }
  ul.sessions li { border: 1px solid var(--line); border-radius: 10px; padding: .75rem 1rem; margin: .5rem 0; }
  ul.sessions li.current { border-color: var(--accent); }
  ul.sessions li form { margin: 0; }
  ul.sessions li button { margin-top: .4rem; padding: .25rem .75rem; font-size: .9rem; }
  ol.activity { padding-left: 1.25rem; margin: .5rem 0; }
  .badge { display: inline-block; font-size: .8rem; padding: .05rem .5rem; border-radius: 999px; background: var(--accent); color: #fff; margin-left: .5rem; vertical-align: middle; }
  code { font-size: .9em; }
  footer { padding-bottom: 2rem; }
`;

const links = [
  ['/', 'Home'],
  ['/dashboard', 'Dashboard'],
  ['/visit', 'Visit counter'],
  ['/sessions', 'Your sessions'],
];

/**
 * The page around every view: title, navigation, who is logged in (`user`, the session's
 * username), and a footer naming where sessions are kept.
 */
export function page({ title, path, storeLabel, user }, body) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · sessionkit demo</title>
<style>${trusted(style)}</style>
</head>
<body>
<header>
  <strong><a href="/">sessionkit demo</a></strong>
  <nav>${links.map(([href, text]) => html`<a href="${href}"${href === path ? html` aria-current="page"` : ''}>${text}</a>`)}</nav>
  <span id="who">${typeof user === 'string' && user ? html`Logged in as <strong>${user}</strong>` : 'Not logged in'}</span>
</header>
<main>
${body}
</main>
<footer class="muted">Sessions: <span id="store">${storeLabel}</span></footer>
</body>
</html>
`.toString();
}

/** A hidden field with the session's CSRF token: every POST form carries one. */
export function csrfField(token) {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

export function loginForm({ csrf, error, username }) {
  return html`<section>
  <h1>Log in</h1>
  ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
  <form method="post" action="/login">
    ${csrfField(csrf)}
    <label for="username">Username</label>
    <input id="username" type="text" name="username" autocomplete="username" required value="${username ?? ''}">
    <label for="password">Password</label>
    <input id="password" type="password" name="password" autocomplete="current-password" required>
    <div><button type="submit">Log in</button></div>
  </form>
  <p class="muted">Demo accounts: ${demoAccounts.map(({ username: u, password: p }, i) =>
    html`${i ? ' and ' : ''}<code>${u}</code> / <code>${p}</code>`)}.
  Log in as the same user in two browsers (or a private window) to see two devices on <a href="/sessions">Your sessions</a>.</p>
</section>`;
}

/** What sessions are for, and where this demo keeps them: `sealed` for cookie-only sessions. */
export function intro({ sealed = false } = {}) {
  return html`<section>
  <h2>What this shows</h2>
  ${sealed
    ? html`<p>HTTP is stateless: each request stands alone. A session keeps what the server needs to
  remember about you (who you are, how many times you visited a page). Here the whole session
  travels in your browser's cookie, sealed: encrypted, so that only the server can read it, and
  authenticated, so that nobody can change it. The server keeps nothing.</p>
  <p class="muted">Restart the server: you stay logged in, because the session is in your browser.</p>`
    : html`<p>HTTP is stateless: each request stands alone. A session keeps what the server needs to
  remember about you (who you are, how many times you visited a page) in a store on the server,
  and gives your browser only a signed cookie with the session's ID.</p>
  <p class="muted">Restart the server: with a persistent store you stay logged in.</p>`}
</section>`;
}

export function logoutButton(csrf) {
  return html`<form class="inline" method="post" action="/logout">${csrfField(csrf)}<button type="submit">Log out</button></form>`;
}

export function pleaseLogIn() {
  return html`<section>
  <h1>Please log in</h1>
  <p>This page is for logged-in users. <a href="/">Log in</a> first.</p>
</section>`;
}

/** A point in time as "3 minutes ago" (or "in 8 hours"), with the exact UTC time on hover and for machines. */
export function when(ms, now = Date.now()) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return html`<span>unknown</span>`;
  const date = new Date(ms);
  return html`<time datetime="${date.toISOString()}" title="${date.toUTCString()}">${relativeTime(ms - now)}</time>`;
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

const steps = [[60, 'minute'], [60 * 60, 'hour'], [24 * 60 * 60, 'day']];

function relativeTime(offset) {
  const seconds = Math.round(offset / 1000);
  const size = Math.abs(seconds);
  if (size < 45) return seconds > 0 ? 'in a few seconds' : 'just now';
  let [unit, name] = steps[0];
  for (const step of steps) if (size >= step[0]) [unit, name] = step;
  return relative.format(Math.sign(seconds) * Math.round(size / unit), name);
}

/** A length of time in words: "8 hours", "90 minutes", "2 seconds". */
export function duration(ms) {
  const units = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute'], [1000, 'second']];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms === size ? '' : 's'}`;
  }
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} seconds`;
}
