/**
 * What sessionkit adds to express-session: Promises from every session method, Promise
 * genid, touchAfter. Its entry points, which need the build, are in test/package/.
 */
import express from 'express';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import session, { MemoryStore, Session } from '../../src/index.js';
import { TestStore } from './harness.js';

const minute = 60_000;

function cookieOf(res: request.Response): string {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined;
  expect(header, 'a session cookie is set').toBeTruthy();
  return header![0]!.split(';')[0]!;
}

function appWith(options: Record<string, unknown>, routes: (app: express.Express) => void) {
  const app = express();
  app.use(session({ secret: 'features', resave: false, saveUninitialized: false, ...options }));
  routes(app);
  app.use((err: Error, _req: any, res: any, _next: any) => res.status(500).send(`handled: ${err.message}`));
  return app;
}

describe('Promise API', () => {
  it('every session method returns a Promise without a callback', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const app = appWith({ store }, (a) => {
      a.get('/flow', async (req: any, res) => {
        req.session.step = 'saved';
        await req.session.save();
        const afterSave = await store.get(req.sessionID);
        req.session.step = 'not saved';
        await req.session.reload();
        const afterReload = req.session.step;
        const oldId = req.sessionID;
        await req.session.regenerate();
        const oldGone = (await store.get(oldId)) === null;
        req.session.step = 'regenerated';
        await req.session.save();
        const newId = req.sessionID;
        await req.session.destroy();
        res.json({ afterSave: afterSave?.step, afterReload, oldGone, regenerated: newId !== oldId, destroyed: (await store.get(newId)) === null, session: req.session ?? null });
      });
    });
    const res = await request(app).get('/flow').expect(200);
    expect(res.body).toEqual({ afterSave: 'saved', afterReload: 'saved', oldGone: true, regenerated: true, destroyed: true, session: null });
  });

  it('with a callback, every method returns the session (chainable, as in express-session)', async () => {
    const app = appWith({}, (a) => {
      a.get('/', (req: any, res) => {
        const sess = req.session;
        const results = [
          sess.touch() === sess,
          sess.resetMaxAge() === sess,
          sess.save(() => {
            const reloaded = sess.reload(() => {
              // A reload replaces req.session, as in express-session.
              const current = req.session;
              const regenerated = current.regenerate(() => {
                const fresh = req.session;
                const destroyed = fresh.destroy(() => res.json([...results, reloaded === sess, regenerated === current, destroyed === fresh]));
              });
            });
          }) === sess,
        ];
      });
    });
    const res = await request(app).get('/').expect(200);
    expect(res.body).toEqual([true, true, true, true, true, true]);
  });

  it('a rejected Promise that nobody awaits never crashes the process', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const store = new TestStore();
      // express-session's order, where the page is answered whatever the store said (by default
      // the failed save makes the answer an error: answered-means-saved.test.ts).
      const app = appWith({ store, answerAfterSave: false }, (a) => {
        a.get('/', (req: any, res) => {
          store.fail = { set: 'store is down', get: 'store is down', destroy: 'store is down' };
          req.session.x = 1;
          req.session.save();
          req.session.reload();
          req.session.regenerate();
          res.send('ignored');
        });
      });
      await request(app).get('/').expect('ignored');
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 20));
      expect(rejections).toEqual([]);
      // The same failures, awaited, reject with the store's error.
      store.fail = {};
      const awaited = appWith({ store, answerAfterSave: false }, (a) => {
        a.get('/', async (req: any, res) => {
          store.fail = { set: 'store is down' };
          req.session.x = 1;
          await req.session.save().then(() => res.send('saved'), (err: Error) => res.send(`rejected: ${err.message}`));
        });
      });
      await request(awaited).get('/').expect('rejected: store is down');
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('a session loaded without the middleware (Store#load) saves and reloads through its store', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    await store.set('loose', { cookie: { originalMaxAge: null, path: '/', httpOnly: true }, n: 1 } as any);
    const loaded: any = await new Promise((resolve, reject) => store.load('loose', (err: unknown, s: unknown) => (err ? reject(err) : resolve(s))));
    expect(loaded).toBeInstanceOf(Session);
    loaded.n = 2;
    await loaded.save();
    expect((await store.get('loose'))?.n).toBe(2);
    await loaded.destroy();
    expect(await store.get('loose')).toBeNull();
  });
});

describe('a plain object assigned to req.session', () => {
  it('becomes the session data, keeping the session and its cookie', async () => {
    const app = appWith({ cookie: { maxAge: minute } }, (a) => {
      a.get('/assign', (req: any, res) => {
        req.session = { user: 'assigned', cart: [1] };
        res.send('assigned');
      });
      a.get('/view', (req: any, res) => {
        const { cookie, ...data } = req.session;
        res.json({ data, originalMaxAge: cookie.originalMaxAge, isSession: req.session instanceof Session });
      });
    });
    const res = await request(app).get('/assign').expect('assigned');
    await request(app).get('/view').set('Cookie', cookieOf(res))
      .expect(200, { data: { user: 'assigned', cart: [1] }, originalMaxAge: minute, isSession: true });
  });
});

describe('genid returning a Promise', () => {
  it('is awaited for new and regenerated sessions; a rejection goes to next(err)', async () => {
    let n = 0;
    const app = appWith({ genid: async () => `async-${++n}` }, (a) => {
      a.get('/set', (req: any, res) => {
        req.session.a = 1;
        res.json({ id: req.sessionID, sessionId: req.session.id });
      });
      a.get('/regenerate', (req: any, res) => req.session.regenerate(() => res.json({ id: req.sessionID, sessionId: req.session.id })));
    });
    const first = await request(app).get('/set').expect(200, { id: 'async-1', sessionId: 'async-1' });
    expect(cookieOf(first)).toMatch(/^connect\.sid=s%3Aasync-1\./);
    await request(app).get('/regenerate').set('Cookie', cookieOf(first)).expect(200, { id: 'async-2', sessionId: 'async-2' });

    const failing = appWith({ genid: () => Promise.reject(new Error('no ids left')) }, (a) => a.get('/', (_req, res) => res.send('unreachable')));
    await request(failing).get('/').expect(500, 'handled: no ids left');
    const throwing = appWith({ genid: () => { throw new Error('genid threw'); } }, (a) => a.get('/', (_req, res) => res.send('unreachable')));
    await request(throwing).get('/').expect(500, 'handled: genid threw');
  });
});

describe('touchAfter', () => {
  afterEach(() => vi.useRealTimers());

  for (const [label, makeStore] of [
    ['a third-party store', () => new TestStore()],
    ["sessionkit's MemoryStore", () => new MemoryStore({ checkPeriod: 0 })],
  ] as const) {
    it(`touches an unmodified session at most once per period (${label})`, async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2026, 0, 1) });
      const store: any = makeStore();
      const touches: number[] = [];
      const touch = store.touch.bind(store);
      store.touch = (sid: string, sess: any, cb: any) => {
        touches.push(Date.now());
        return touch(sid, sess, cb);
      };
      const app = appWith({ store, touchAfter: 60, cookie: { maxAge: 60 * minute } }, (a) => {
        a.get('/set', (req: any, res) => {
          req.session.n = (req.session.n ?? 0) + 1;
          res.send(String(req.session.n));
        });
        a.get('/view', (req: any, res) => res.send(String(req.session.n ?? 'none')));
      });
      const start = Date.now();
      const cookie = cookieOf(await request(app).get('/set').expect('1'));
      const at = async (seconds: number, path = '/view') => {
        vi.setSystemTime(start + seconds * 1000);
        return (await request(app).get(path).set('Cookie', cookie)).text;
      };
      expect(await at(10)).toBe('1');
      expect(await at(59)).toBe('1');
      expect(touches).toEqual([]);
      expect(await at(61)).toBe('1');
      expect(touches).toEqual([start + 61_000]);
      expect(await at(100)).toBe('1');
      expect(await at(120)).toBe('1');
      expect(touches).toHaveLength(1);
      expect(await at(122)).toBe('1');
      expect(touches).toEqual([start + 61_000, start + 122_000]);
      // A modified session is saved whatever touchAfter says.
      expect(await at(123, '/set')).toBe('2');
      expect(await at(130)).toBe('2');
      expect(touches).toHaveLength(2);
      // The store's expiry follows the last touch or save.
      const stored = await new Promise<any>((r) => store.get(/s%3A([^.]+)\./.exec(cookie)![1], (_: unknown, v: unknown) => r(v)));
      expect(new Date(stored.cookie.expires).getTime()).toBe(start + 123_000 + 60 * minute);
    });
  }

  it('without touchAfter every unmodified request touches', async () => {
    const store = new TestStore();
    const app = appWith({ store, cookie: { maxAge: minute } }, (a) => {
      a.get('/set', (req: any, res) => {
        req.session.n = 1;
        res.send('set');
      });
      a.get('/view', (_req, res) => res.send('view'));
    });
    const cookie = cookieOf(await request(app).get('/set'));
    store.calls = [];
    for (let i = 0; i < 3; i++) await request(app).get('/view').set('Cookie', cookie);
    expect(store.calls.filter((c: any) => c[0] === 'touch')).toHaveLength(3);
  });
});
