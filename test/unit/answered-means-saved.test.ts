/**
 * Answered means saved: when the handler changed the session (a write, a login, regenerate(),
 * destroy(), `unset: 'destroy'`), the response waits for the store, head included, and a store
 * that fails the change turns it into the app's error response. What the handler did not change
 * (a touch, an untouched new session, a resave) and a response whose head already went out are
 * answered as express-session answers them, with the error reported after.
 */
import { describe, expect, it } from 'vitest';
import express from 'express';
import request from 'supertest';
import session, { MemoryStore } from '../../src/index.js';
import { expressSession, TestStore } from './harness.js';

type Factory = (options: Record<string, unknown>) => express.RequestHandler;

/** An app whose error handler answers 500 with the message, and remembers errors that came after the response. */
function appWith(store: object, options: Record<string, unknown> = {}, factory: Factory = session as unknown as Factory) {
  const late: string[] = [];
  const app = express();
  app.use(factory({ secret: 'answered', resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 }, ...options }));
  app.get('/login', (req: any, res) => {
    req.session.user = 'ann';
    res.send('logged in');
  });
  app.get('/write', (req: any, res) => {
    req.session.n = (req.session.n ?? 0) + 1;
    res.send(`n=${req.session.n}`);
  });
  app.get('/view', (req: any, res) => res.send(req.session.user ? `user ${req.session.user}` : 'nobody'));
  app.get('/logout', (req: any, res) => {
    // As the tutorials write it: no callback, the page answered at once.
    req.session.destroy();
    res.send('logged out');
  });
  app.get('/logout-checked', (req: any, res) => {
    req.session.destroy((err: Error | null) => {
      if (err) res.status(503).send(`could not log out: ${err.message}`);
      else res.send('logged out');
    });
  });
  app.get('/unset', (req: any, res) => {
    req.session = null;
    res.send('unset');
  });
  app.get('/regenerate', (req: any, res) => {
    req.session.regenerate(() => {
      req.session.user = 'bob';
      res.send('regenerated');
    });
  });
  app.get('/stream', (req: any, res) => {
    req.session.streamed = true;
    res.write('part one, ');
    res.end('part two');
  });
  app.use((err: Error, _req: any, res: any, _next: any) => {
    if (res.headersSent) late.push(err.message);
    else res.status(500).send(`handled: ${err.message}`);
  });
  return { app, late };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

function cookieOf(res: request.Response): string | undefined {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined;
  return header?.[0]?.split(';')[0];
}

/** A sessionkit MemoryStore whose conditional write fails, while its get/set stay its own (so it is used). */
function failingConditionalStore(message = 'store is down') {
  const store = new MemoryStore();
  (store as any).setIfVersion = () => Promise.reject(new Error(message));
  return store;
}

describe.each([false, true])('a store that fails (calling back %s)', (sync) => {
  const label = sync ? 'synchronously' : 'asynchronously';

  it(`a login whose save fails is an error response without a session cookie (${label})`, async () => {
    const store = new TestStore({ sync });
    const { app } = appWith(store);
    store.fail = { set: 'disk on fire' };
    const res = await request(app).get('/login').expect(500, 'handled: disk on fire');
    expect(cookieOf(res)).toBeUndefined();
    store.fail = {};
    await request(app).get('/view').expect(200, 'nobody');
  });

  it(`a write to a loaded session that fails is an error response (${label})`, async () => {
    const store = new TestStore({ sync });
    const { app } = appWith(store);
    const agent = request.agent(app);
    await agent.get('/write').expect(200, 'n=1');
    store.fail = { set: 'disk on fire' };
    await agent.get('/write').expect(500, 'handled: disk on fire');
    store.fail = {};
    await agent.get('/write').expect(200, 'n=2');
  });

  it(`a logout whose destroy fails unseen by the handler is an error response (${label})`, async () => {
    const store = new TestStore({ sync });
    const { app } = appWith(store);
    const agent = request.agent(app);
    await agent.get('/login').expect(200);
    store.fail = { destroy: 'disk on fire' };
    await agent.get('/logout').expect(500, 'handled: disk on fire');
    store.fail = {};
    await agent.get('/view').expect(200, 'user ann');
  });

  it(`a handler that answers the failure itself keeps its own answer (${label})`, async () => {
    const store = new TestStore({ sync });
    const { app, late } = appWith(store);
    const agent = request.agent(app);
    await agent.get('/login').expect(200);
    store.fail = { destroy: 'disk on fire' };
    await agent.get('/logout-checked').expect(503, 'could not log out: disk on fire');
    await settle();
    expect(late).toEqual(['disk on fire']);
  });

  it(`unset: 'destroy' whose destroy fails is an error response (${label})`, async () => {
    const store = new TestStore({ sync });
    const { app } = appWith(store, { unset: 'destroy' });
    const agent = request.agent(app);
    await agent.get('/login').expect(200);
    store.fail = { destroy: 'disk on fire' };
    await agent.get('/unset').expect(500, 'handled: disk on fire');
  });

  it(`a regenerate whose destroy fails is an error response even if the handler answers 200 (${label})`, async () => {
    const store = new TestStore({ sync });
    const { app } = appWith(store);
    const agent = request.agent(app);
    await agent.get('/login').expect(200);
    store.fail = { destroy: 'disk on fire' };
    await agent.get('/regenerate').expect(500, 'handled: disk on fire');
  });

  it(`what the handler did not change is answered, the error reported after (${label})`, async () => {
    const store = new TestStore({ sync });
    const { app, late } = appWith(store, { saveUninitialized: true });
    // An untouched new session (saveUninitialized): answered, as express-session answers it.
    store.fail = { set: 'disk on fire' };
    await request(app).get('/view').expect(200, 'nobody');
    await settle();
    expect(late).toEqual(['disk on fire']);
    // A touch of a loaded session: answered too.
    store.fail = {};
    const agent = request.agent(app);
    await agent.get('/login').expect(200);
    store.fail = { touch: 'disk on fire' };
    await agent.get('/view').expect(200, 'user ann');
    await settle();
    expect(late).toEqual(['disk on fire', 'disk on fire']);
  });

  it(`a response whose head went out first is answered, the error reported after (${label})`, async () => {
    const store = new TestStore({ sync });
    const { app, late } = appWith(store);
    store.fail = { set: 'disk on fire' };
    await request(app).get('/stream').expect(200, 'part one, part two');
    await settle();
    expect(late).toEqual(['disk on fire']);
  });

  it(`answerAfterSave: false answers first and reports after, as express-session (${label})`, async () => {
    for (const factory of [session as unknown as Factory, expressSession as Factory]) {
      const store = new TestStore({ sync });
      const { app, late } = appWith(store, { answerAfterSave: false }, factory);
      store.fail = { set: 'disk on fire' };
      await request(app).get('/login').expect(200, 'logged in');
      await settle();
      expect(late).toEqual(['disk on fire']);
    }
  });
});

describe("sessionkit's own stores", () => {
  it('a conditional write that fails is an error response', async () => {
    const { app } = appWith(failingConditionalStore());
    const agent = request.agent(app);
    await agent.get('/write').expect(200, 'n=1');
    await agent.get('/write').expect(500, 'handled: store is down');
  });

  it('a successful change is answered with its cookie, the body whole', async () => {
    const { app } = appWith(new MemoryStore());
    const res = await request(app).get('/login').expect(200, 'logged in');
    expect(cookieOf(res)).toMatch(/^connect\.sid=s%3A/);
    await request(app).get('/view').set('Cookie', cookieOf(res)!).expect(200, 'user ann');
  });

  it('answerAfterSave must be true or false', () => {
    expect(() => session({ secret: 'x', resave: false, saveUninitialized: false, answerAfterSave: 'yes' } as never)).toThrow(
      /answerAfterSave option must be true or false/,
    );
  });
});
