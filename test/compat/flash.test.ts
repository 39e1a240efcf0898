/**
 * connect-flash, as apps use it to show a message once after a redirect: it keeps messages
 * in `req.session.flash` and deletes them inside that object when they are read, a change
 * sessionkit must see and save. Run on `session()` with every sessionkit store, beside
 * express-session on the same store, and on `cookieSession()`.
 */
import express from 'express';
import flash from 'connect-flash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, cookieOnly, factories, otherStoreKinds, sessionOptions, storeKinds, type OpenedStore } from './sessions.js';

function flashApp(sessionMiddleware: express.RequestHandler) {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(sessionMiddleware);
  app.use(flash());
  app.post('/items', (req, res) => {
    req.flash('info', 'Saved %s', req.body.name);
    req.flash('info', 'Saved twice?');
    req.flash('error', ['Low stock', 'Reorder soon']);
    res.redirect('/items');
  });
  // Reads one kind of message; the others wait for their page.
  app.get('/items', (req, res) => res.json({ info: req.flash('info') }));
  app.get('/errors', (req, res) => res.json({ error: req.flash('error') }));
  app.get('/all', (req, res) => res.json(req.flash()));
  return app;
}

async function flashFlow(app: express.Express) {
  const browser = new Browser(app);
  // A layout that reads every message on every page, for a visitor with no session yet:
  // req.flash() writes an empty `flash` into the session, which saves it, as express-session does.
  const visitor = await new Browser(app).get('/all');
  const saved = await browser.post('/items', { name: 'teapot' });
  const withMessages = browser.snapshot();
  return {
    visitor: { status: visitor.status, body: visitor.body, setsCookie: visitor.setsCookie },
    saved: { status: saved.status, location: saved.headers.location, setsCookie: saved.setsCookie },
    shown: (await browser.get('/items')).body,
    // Shown once: the next page has none of them, and the other kind is still waiting.
    shownAgain: (await browser.get('/items')).body,
    errors: (await browser.get('/errors')).body,
    errorsAgain: (await browser.get('/errors')).body,
    // A copy of the cookie from before they were read.
    replayed: (await browser.get('/all', withMessages)).body,
    more: { status: (await browser.post('/items', { name: 'kettle' })).status },
    all: (await browser.get('/all')).body,
    allAgain: (await browser.get('/all')).body,
  };
}

const expected = {
  visitor: { status: 200, body: {}, setsCookie: true },
  saved: { status: 302, location: '/items', setsCookie: true },
  shown: { info: ['Saved teapot', 'Saved twice?'] },
  shownAgain: { info: [] },
  errors: { error: ['Low stock', 'Reorder soon'] },
  errorsAgain: { error: [] },
  // The session is on the server: what was read is gone whichever cookie asks.
  replayed: {},
  more: { status: 302 },
  all: { info: ['Saved kettle', 'Saved twice?'], error: ['Low stock', 'Reorder soon'] },
  allAgain: {},
};

describe.each([...storeKinds, ...otherStoreKinds])('connect-flash on $name', (kind) => {
  let opened: OpenedStore;
  beforeAll(async () => {
    opened = await kind.open('flash');
  });
  afterAll(async () => {
    await opened?.close();
  });

  it('shows each message once, the same on sessionkit as on express-session', async () => {
    const results: Record<string, unknown> = {};
    for (const factory of factories) {
      results[factory.name] = await flashFlow(flashApp(factory.session({ ...sessionOptions, store: opened.store })));
    }
    expect(results['express-session']).toEqual(expected);
    expect(results.sessionkit).toEqual(results['express-session']);
  });
});

describe('connect-flash on cookieSession()', () => {
  it('shows each message once', async () => {
    expect(await flashFlow(flashApp(cookieOnly()))).toEqual({
      ...expected,
      // The session lives in the cookie: a copy from before the messages were read still holds them.
      replayed: { info: ['Saved teapot', 'Saved twice?'], error: ['Low stock', 'Reorder soon'] },
    });
  });
});
