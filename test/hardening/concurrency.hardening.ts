/**
 * Concurrency on every store, through a real Express app on a real server: overlapping writers
 * of different keys keep every key; a regenerate racing writes leaves the old session gone;
 * `destroyUserSessions` racing writes leaves nothing of the user's sessions behind; concurrent
 * logins of one user keep the user index exact.
 */
import { describe, expect, it } from 'vitest';
import express from 'express';
import session from '../../src/index.js';
import { cookiesOf, openStore, randomFor, report, scaled, send, serve, SEED, sleep, STORE_NAMES, watchProcess, type StoreUnderTest } from './harness.js';

const WRITERS = 50;
const ROUNDS = scaled(1);
const LOGINS = 10;

function app(store: any) {
  const a = express();
  a.use(session({ secret: 'hardening concurrency', store, resave: false, saveUninitialized: false, cookie: { maxAge: 600_000 } }));
  a.get('/set/:key', async (req, res) => {
    await sleep(Number(req.query.delay ?? 0));
    (req.session as any)[req.params.key] = true;
    res.json({ id: req.sessionID });
  });
  a.get('/login/:user', async (req, res) => {
    await sleep(Number(req.query.delay ?? 0));
    await req.session.regenerate();
    (req.session as any).user = req.params.user;
    res.json({ id: req.sessionID });
  });
  a.get('/keys', (req, res) => {
    res.json({ id: req.sessionID, keys: Object.keys(req.session).filter((k) => k !== 'cookie').sort() });
  });
  a.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(503).json({ error: err.message });
  });
  return a;
}

const userOf = (data: any) => data.user;

async function withApp<T>(name: (typeof STORE_NAMES)[number], run: (target: StoreUnderTest, http: Awaited<ReturnType<typeof serve>>) => Promise<T>): Promise<T> {
  const target = await openStore(name, { userId: userOf });
  const http = await serve(app(target.store));
  try {
    return await run(target, http);
  } finally {
    await http.close();
    await target.dispose();
  }
}

describe(`concurrency on every store (seed ${SEED})`, () => {
  for (const name of STORE_NAMES) {
    describe(name, () => {
      it(`${WRITERS} overlapping writers of different keys keep ${WRITERS}/${WRITERS}`, async () => {
        const watch = watchProcess();
        const r = randomFor(`writers:${name}`);
        const kept: number[] = [];
        await withApp(name, async (_target, http) => {
          for (let round = 0; round < ROUNDS; round++) {
            const cookie = cookiesOf(await send(http, '/set/start'));
            const keys = Array.from({ length: WRITERS }, (_, i) => `k${String(i).padStart(2, '0')}`);
            const answers = await Promise.all(keys.map((k) => send(http, `/set/${k}?delay=${r.int(40)}`, { cookie })));
            expect(answers.map((a) => a.status)).toEqual(keys.map(() => 200));
            const { keys: stored } = JSON.parse((await send(http, '/keys', { cookie })).body);
            kept.push(stored.filter((k: string) => k !== 'start').length);
            expect(stored).toEqual([...keys, 'start'].sort());
          }
        });
        report(`writers ${name}`, { seed: SEED, rounds: ROUNDS, kept: kept.map((n) => `${n}/${WRITERS}`) });
        watch.stop();
        expect(watch.problems).toEqual([]);
      });

      it('a regenerate racing writes: the old session is gone, the new one has what login set', async () => {
        const watch = watchProcess();
        const r = randomFor(`regenerate:${name}`);
        await withApp(name, async (target, http) => {
          for (let round = 0; round < ROUNDS * 3; round++) {
            const first = await send(http, '/set/start');
            const oldId = JSON.parse(first.body).id;
            const cookie = cookiesOf(first);
            const writes = Array.from({ length: 20 }, (_, i) => send(http, `/set/w${i}?delay=${r.int(30)}`, { cookie }));
            const login = send(http, `/login/alice?delay=${r.int(30)}`, { cookie });
            const answers = await Promise.all([login, ...writes]);
            expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
            const newId = JSON.parse((await login).body).id;
            expect(newId).not.toBe(oldId);
            // No write that loaded the old session before the regenerate brought it back.
            expect(await target.readRaw(oldId)).toBe(null);
            expect(await target.store.get(oldId)).toBeFalsy();
            const fresh = await target.store.get(newId);
            expect(fresh.user).toBe('alice');
            expect((await target.store.listUserSessions('alice')).map((s: any) => s.id)).toContain(newId);
            await target.store.destroyUserSessions('alice');
          }
        });
        watch.stop();
        expect(watch.problems).toEqual([]);
      });

      it('destroyUserSessions racing writes leaves none of the sessions it ended', async () => {
        const watch = watchProcess();
        const r = randomFor(`destroy-user:${name}`);
        let ended = 0;
        let writesAfter = 0;
        await withApp(name, async (target, http) => {
          for (let round = 0; round < ROUNDS * 3; round++) {
            const logins = await Promise.all(Array.from({ length: 5 }, () => send(http, '/login/bob')));
            const ids = logins.map((a) => JSON.parse(a.body).id as string);
            const cookies = logins.map(cookiesOf);
            const writes = cookies.flatMap((cookie) => Array.from({ length: 6 }, (_, i) => send(http, `/set/w${i}?delay=${r.int(40)}`, { cookie })));
            await sleep(r.int(20));
            const destroyed = target.store.destroyUserSessions('bob');
            const answers = await Promise.all(writes);
            ended += await destroyed;
            expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
            // Writes that ran after the logout made sessions of their own, never one of bob's again.
            writesAfter += answers.filter((a) => !ids.includes(JSON.parse(a.body).id)).length;
            for (const id of ids) expect(await target.readRaw(id)).toBe(null);
            expect(await target.store.listUserSessions('bob')).toEqual([]);
          }
        });
        report(`destroyUserSessions during writes ${name}`, { seed: SEED, rounds: ROUNDS * 3, ended, writesAfterLogout: writesAfter, resurrected: 0 });
        watch.stop();
        expect(watch.problems).toEqual([]);
      });

      it(`${LOGINS} concurrent logins of one user keep the user index exact`, async () => {
        const watch = watchProcess();
        const r = randomFor(`logins:${name}`);
        await withApp(name, async (target, http) => {
          for (let round = 0; round < ROUNDS * 2; round++) {
            // Each device has an anonymous session first, which its login replaces.
            const anonymous = await Promise.all(Array.from({ length: LOGINS }, () => send(http, '/set/visited')));
            const oldIds = anonymous.map((a) => JSON.parse(a.body).id as string);
            const answers = await Promise.all(
              anonymous.map((a) => send(http, `/login/carol?delay=${r.int(30)}`, { cookie: cookiesOf(a) })),
            );
            const newIds = answers.map((a) => JSON.parse(a.body).id as string).sort();
            const listed = (await target.store.listUserSessions('carol')).map((s: any) => s.id).sort();
            expect(listed).toEqual(newIds);
            for (const id of oldIds) expect(await target.store.get(id)).toBeFalsy();
            expect(await target.store.destroyUserSessions('carol')).toBe(LOGINS);
            expect(await target.store.listUserSessions('carol')).toEqual([]);
          }
        });
        watch.stop();
        expect(watch.problems).toEqual([]);
      });
    });
  }
});
