/**
 * What the SQL store tests share: unique table names (test files run in parallel against the
 * same servers), the server URLs, and the "purge 100k expired rows while serving" scenario.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { expect } from 'vitest';
import express from 'express';
import request from 'supertest';
import session from '../../src/index.js';

export const POSTGRES_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/test';

/** A table name no other test file or run uses: `sk_<tag>_<pid>_<random>`. */
export function uniqueTable(tag: string): string {
  return `sk_${tag}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

/**
 * An Express app over `store` whose `/count` adds one to a counter in the session; `factory`
 * is sessionkit's `session` by default, or express-session for the migration tests.
 */
export function counterApp(store: any, factory: (options: any) => any = session) {
  const app = express();
  app.use(factory({ secret: 'sql-tests', resave: false, saveUninitialized: false, store, cookie: { maxAge: 600_000 } }));
  app.get('/count', (req, res) => {
    const s = req.session as any;
    s.count = (s.count ?? 0) + 1;
    res.json({ count: s.count });
  });
  return app;
}

export const PURGE_ROWS = 100_000;

interface PurgeScenario {
  store: { prune(): Promise<number>; length(): Promise<number> };
  /** Inserts `n` rows that expired a minute ago (fast: one statement or a few). */
  insertExpired(n: number): Promise<void>;
  /** Every row in the session table, expired or not. */
  countRows(): Promise<number>;
}

/**
 * Purges 100k expired rows while a user keeps making requests that read and write their
 * session: every request succeeds, some are served while the purge runs, and afterwards only
 * the live session is left.
 */
export async function purgeWhileServing({ store, insertExpired, countRows }: PurgeScenario): Promise<void> {
  const agent = request.agent(counterApp(store));
  await agent.get('/count').expect(200, { count: 1 });
  await insertExpired(PURGE_ROWS);
  expect(await countRows()).toBe(PURGE_ROWS + 1);
  expect(await store.length()).toBe(1);

  let done = false;
  const pruning = store.prune().finally(() => {
    done = true;
  });
  let count = 1;
  let servedDuringPurge = 0;
  while (!done) {
    const res = await agent.get('/count').expect(200);
    count++;
    expect(res.body.count).toBe(count);
    if (!done) servedDuringPurge++;
  }
  expect(await pruning).toBe(PURGE_ROWS);
  expect(servedDuringPurge).toBeGreaterThan(0);
  expect(await countRows()).toBe(1);
  await agent.get('/count').expect(200, { count: count + 1 });
}

/**
 * Two app servers (two stores, each with its own connections, as two processes would have)
 * behind one cookie: 30 overlapping requests, alternating between them, each set a different
 * key, and all 30 keys are kept.
 */
export async function overlapAcrossServers(first: any, second: any): Promise<void> {
  const app = (store: any) => {
    const a = express();
    a.use(session({ secret: 'sql-tests', resave: false, saveUninitialized: false, store, cookie: { maxAge: 600_000 } }));
    a.get('/set/:key', async (req, res) => {
      await new Promise((r) => setTimeout(r, Number(req.query.delay ?? 0)));
      (req.session as any)[req.params.key] = true;
      res.send('ok');
    });
    a.get('/keys', (req, res) => res.json(Object.keys(req.session).filter((k) => k !== 'cookie').sort()));
    return a;
  };
  const servers = [request(app(first)), request(app(second))];
  const cookie = (await servers[0]!.get('/set/start').expect(200)).headers['set-cookie'];
  const keys = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, '0')}`);
  await Promise.all(keys.map((k, i) => servers[i % 2]!.get(`/set/${k}?delay=${(i * 7) % 50}`).set('Cookie', cookie).expect(200)));
  const { body } = await servers[1]!.get('/keys').set('Cookie', cookie).expect(200);
  expect(body).toEqual([...keys, 'start'].sort());
}

/**
 * An app for the fault tests: `/count` adds one to a counter; `/count-then` does the same, runs
 * `before()` (which breaks the store), then saves and answers, so the save meets the fault and
 * its failure is the response. Errors answer 500 with the error's name and code; one that comes
 * after the response went out (a save at the end of a request) is kept in `app.locals.lateErrors`.
 */
export function faultApp(store: any, before: () => unknown = () => undefined) {
  const app = express();
  app.locals.lateErrors = [];
  app.use(session({ secret: 'sql-tests', resave: false, saveUninitialized: false, store, cookie: { maxAge: 600_000 } }));
  const count = (req: express.Request) => {
    const s = req.session as any;
    s.count = (s.count ?? 0) + 1;
    return s.count;
  };
  app.get('/count', (req, res) => {
    res.json({ count: count(req) });
  });
  app.get('/count-then', async (req, res) => {
    const n = count(req);
    await before();
    await req.session.save();
    res.json({ count: n });
  });
  app.get('/peek', (req, res) => {
    res.json({ count: (req.session as any).count ?? null });
  });
  app.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (res.headersSent) app.locals.lateErrors.push(err);
    else res.status(500).json({ name: err?.name, code: err?.code });
  });
  return app;
}

/**
 * A TCP proxy to a database server that can stop answering, as a paused (SIGSTOP) server or a
 * lost network does: `freeze()` stops forwarding on open connections and accepts new ones
 * without ever answering them; `thaw()` carries on with everything held.
 */
export class FreezableProxy {
  frozen = false;
  port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly held: Array<() => void> = [];
  private readonly server: Server;

  private constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(target: { host: string; port: number }): Promise<FreezableProxy> {
    const proxy = new FreezableProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as AddressInfo).port;
    return proxy;
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    const open = () => {
      const upstream = connect(this.target.port, this.target.host);
      this.sockets.add(upstream);
      upstream.on('close', () => {
        this.sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => undefined);
      client.on('close', () => upstream.destroy());
      // 'data' rather than pipe(): a paused socket then stays paused until thaw().
      client.on('data', (chunk) => upstream.write(chunk));
      upstream.on('data', (chunk) => client.write(chunk));
      if (this.frozen) upstream.pause();
    };
    if (this.frozen) {
      client.pause();
      this.held.push(() => {
        if (client.destroyed) return;
        open();
        client.resume();
      });
    } else {
      open();
    }
  }

  freeze(): void {
    this.frozen = true;
    for (const socket of this.sockets) socket.pause();
  }

  thaw(): void {
    this.frozen = false;
    for (const socket of this.sockets) socket.resume();
    for (const release of this.held.splice(0)) release();
  }

  async close(): Promise<void> {
    this.held.length = 0;
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Sessions of one user, more than one statement's worth (a thousand), so loading and ending them spans several. */
export const MANY_SESSIONS = 2500;

interface ManySessionsScenario {
  /** A store with `userId: (data) => data.user`. */
  store: {
    set(sid: string, record: any): Promise<void>;
    get(sid: string): Promise<any>;
    listUserSessions(user: string): Promise<Array<{ id: string }>>;
    destroyUserSessions(user: string, options?: { except?: string | string[] }): Promise<number>;
  };
  /** Makes the given sessions' rows expired, as time passing would. */
  expireRows(sids: string[]): Promise<void>;
  /** The session IDs the user index holds for a user. */
  filed(user: string): Promise<string[]>;
}

/**
 * One user with 2,500 sessions (some expired, one now someone else's) beside another user's:
 * listing finds exactly the live ones still theirs and drops the rest from the index; ending
 * them all but one ends exactly those, and leaves the other user's untouched.
 */
export async function manySessionsOfOneUser({ store, expireRows, filed }: ManySessionsScenario): Promise<void> {
  const minute = 60_000;
  const rec = (user: string, n: number) => ({
    cookie: { originalMaxAge: 10 * minute, expires: new Date(Date.now() + 10 * minute).toISOString(), httpOnly: true, path: '/' },
    user,
    n,
  });
  const ids = Array.from({ length: MANY_SESSIONS }, (_, i) => `many-${i}`);
  for (let i = 0; i < ids.length; i += 100) {
    await Promise.all(ids.slice(i, i + 100).map((id, j) => store.set(id, rec('ann', i + j))));
  }
  await store.set('bob-1', rec('bob', 0));
  const expired = [ids[0]!, ids[1500]!, ids[MANY_SESSIONS - 1]!];
  await expireRows(expired);
  // A session of ann's now logged in as carol: still filed under ann, but no longer hers.
  await store.set(ids[999]!, rec('carol', 999));
  const live = ids.filter((id) => !expired.includes(id) && id !== ids[999]);

  const listed = await store.listUserSessions('ann');
  expect(listed.map((s) => s.id).sort()).toEqual([...live].sort());
  expect((await filed('ann')).sort()).toEqual([...live].sort());

  const kept = live[1234]!;
  expect(await store.destroyUserSessions('ann', { except: kept })).toBe(live.length - 1);
  expect((await store.listUserSessions('ann')).map((s) => s.id)).toEqual([kept]);
  expect(await filed('ann')).toEqual([kept]);
  expect(await store.get(live[0]!)).toBeNull();
  expect(await store.get(kept)).toMatchObject({ user: 'ann' });
  expect(await store.get('bob-1')).toMatchObject({ user: 'bob' });
  expect(await store.get(ids[999]!)).toMatchObject({ user: 'carol' });
  expect((await store.listUserSessions('carol')).map((s) => s.id)).toEqual([ids[999]]);
}
