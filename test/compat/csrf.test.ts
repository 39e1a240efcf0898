/**
 * csrf-sync: per-session CSRF tokens (the synchroniser token pattern), kept in
 * `req.session.csrfToken`. Chosen over the alternatives because it is maintained and made for
 * server-side sessions: csurf is deprecated, and csrf-csrf is the double-submit-cookie pattern,
 * for apps without sessions. Run on `session()` with every sessionkit store, beside
 * express-session on the same store, and on `cookieSession()`.
 */
import express from 'express';
import { csrfSync } from 'csrf-sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, cookieOnly, factories, otherStoreKinds, sessionOptions, storeKinds, type OpenedStore } from './sessions.js';

function csrfApp(sessionMiddleware: express.RequestHandler) {
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => req.body?._csrf,
  });
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(sessionMiddleware);
  // A login replaces the session, and with it the token: the one from before login stops working.
  app.post('/login', async (req, res) => {
    await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
    (req.session as any).user = 'alice';
    res.redirect('/form');
  });
  app.use(csrfSynchronisedProtection);
  app.get('/form', (req, res) => res.json({ token: generateToken(req) }));
  app.post('/transfer', (req, res) => res.json({ done: req.body.amount }));
  app.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(err.status ?? 500).json({ error: err.code ?? err.message });
  });
  return app;
}

async function csrfFlow(app: express.Express) {
  const browser = new Browser(app);
  const other = new Browser(app);
  const stranger = new Browser(app);
  const post = async (who: Browser, form: Record<string, string>) => {
    const res = await who.post('/transfer', { amount: '10', ...form });
    return { status: res.status, body: res.body };
  };

  const { token } = (await browser.get('/form')).body;
  const { token: othersToken } = (await other.get('/form')).body;
  const steps: Record<string, unknown> = {
    tokenShape: /^[0-9a-f]{256}$/.test(token),
    sameTokenOnReload: (await browser.get('/form')).body.token === token,
    tokensDiffer: othersToken !== token,
    accepted: await post(browser, { _csrf: token }),
    acceptedAgain: await post(browser, { _csrf: token }),
    missing: await post(browser, {}),
    empty: await post(browser, { _csrf: '' }),
    wrong: await post(browser, { _csrf: `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}` }),
    anotherSessionsToken: await post(browser, { _csrf: othersToken }),
    noSession: await post(stranger, { _csrf: token }),
  };
  await browser.post('/login');
  steps.beforeLoginToken = await post(browser, { _csrf: token });
  const { token: fresh } = (await browser.get('/form')).body;
  steps.newTokenAfterLogin = fresh !== token;
  steps.afterLogin = await post(browser, { _csrf: fresh });
  return steps;
}

const refused = { status: 403, body: { error: 'EBADCSRFTOKEN' } };
const expected = {
  tokenShape: true,
  sameTokenOnReload: true,
  tokensDiffer: true,
  accepted: { status: 200, body: { done: '10' } },
  acceptedAgain: { status: 200, body: { done: '10' } },
  missing: refused,
  empty: refused,
  wrong: refused,
  anotherSessionsToken: refused,
  noSession: refused,
  beforeLoginToken: refused,
  newTokenAfterLogin: true,
  afterLogin: { status: 200, body: { done: '10' } },
};

describe.each([...storeKinds, ...otherStoreKinds])('csrf-sync on $name', (kind) => {
  let opened: OpenedStore;
  beforeAll(async () => {
    opened = await kind.open('csrf');
  });
  afterAll(async () => {
    await opened?.close();
  });

  it('accepts the session\'s token and refuses a missing or wrong one, the same on sessionkit as on express-session', async () => {
    const results: Record<string, unknown> = {};
    for (const factory of factories) {
      results[factory.name] = await csrfFlow(csrfApp(factory.session({ ...sessionOptions, store: opened.store })));
    }
    expect(results['express-session']).toEqual(expected);
    expect(results.sessionkit).toEqual(results['express-session']);
  });
});

describe('csrf-sync on cookieSession()', () => {
  it('accepts the session\'s token and refuses a missing or wrong one', async () => {
    expect(await csrfFlow(csrfApp(cookieOnly()))).toEqual(expected);
  });
});
