import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import request from 'supertest';
import { loadDriver } from '../../src/stores/sql/backend.js';
import { SQLiteStore } from '../../src/stores/sql/sqlite.js';
import { counterApp, manySessionsOfOneUser, overlapAcrossServers, purgeWhileServing } from '../helpers/sql.js';
import { record, runConformance } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'sessionkit-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `db${files++}`, 'sessions.db');

runConformance({
  name: 'SQLiteStore',
  userIndex: true,
  create: async (options) => new SQLiteStore({ path: freshPath(), pruneInterval: false, ...options }),
  breakStore: async (store) => void (await store.close?.()),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SQLiteStore', () => {
  it('keeps sessions across a restart (close, then reopen the same file)', async () => {
    const path = freshPath();
    const first = new SQLiteStore({ path });
    const before = request(counterApp(first));
    const cookie = (await before.get('/count').expect(200, { count: 1 })).headers['set-cookie'];
    await before.get('/count').set('Cookie', cookie).expect(200, { count: 2 });
    await first.close();
    // The last connection to close checkpoints the WAL into the file: nothing is left open.
    expect(existsSync(`${path}-wal`)).toBe(false);
    await expect(first.get('x')).rejects.toThrow(/SQLiteStore is closed/);

    const second = new SQLiteStore({ path });
    const after = request(counterApp(second));
    await after.get('/count').set('Cookie', cookie).expect(200, { count: 3 });
    await second.close();
  });

  it('opens the file in WAL mode and creates the table on first use', async () => {
    const path = freshPath();
    const store = new SQLiteStore({ path, tableName: 'my "odd" table' });
    expect(existsSync(path)).toBe(false);
    await store.set('a', record({ n: 1 }));
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const row = db.prepare('SELECT sid, sess, expire FROM "my ""odd"" table"').get() as any;
    expect(row.sid).toBe('a');
    expect(JSON.parse(row.sess)).toMatchObject({ n: 1 });
    expect(row.expire).toBe(Date.parse(JSON.parse(row.sess).cookie.expires));
    db.close();
    await store.close();
  });

  it('creating the schema twice, or from two connections at once, is harmless', async () => {
    const path = freshPath();
    const one = new SQLiteStore({ path, userId: (d) => d.user });
    const two = new SQLiteStore({ db: new Database(join(dir, 'db-shared.db')) });
    const three = new SQLiteStore({ db: new Database(join(dir, 'db-shared.db')) });
    await Promise.all([one.length(), two.length(), three.length()]);
    await Promise.all([two.set('s', record({ v: 2 })), three.set('t', record({ v: 3 }))]);
    expect((await two.ids()).sort()).toEqual(['s', 't']);
    await one.set('u', record({ user: 'ann' }));
    await one.close();
    const again = new SQLiteStore({ path, userId: (d) => d.user });
    expect(await again.get('u')).toMatchObject({ user: 'ann' });
    expect((await again.listUserSessions('ann')).map((s) => s.id)).toEqual(['u']);
    await Promise.all([two.close(), three.close(), again.close()]);
  });

  it('close() stops the purge timer and leaves a database passed in open', async () => {
    const db = new Database(join(dir, 'passed-in.db'));
    const store = new SQLiteStore({ db, pruneInterval: 0.05 });
    await store.set('live', record({ a: 1 }));
    await store.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT count(*) FROM sessions').pluck().get()).toBe(1);
    // With the timer stopped, an expired row stays until someone purges it.
    db.prepare('INSERT INTO sessions (sid, sess, expire) VALUES (?, ?, ?)').run('old', '{"cookie":{}}', Date.now() - 1000);
    await sleep(200);
    expect(db.prepare('SELECT count(*) FROM sessions').pluck().get()).toBe(2);
    await expect(store.set('x', record())).rejects.toThrow(/closed/);
    db.close();
  });

  it('the unref\'d timer purges expired rows and their user index entries', async () => {
    const db = new Database(join(dir, 'timer.db'));
    const store = new SQLiteStore({ db, pruneInterval: 0.05, pruneBatchSize: 2, userId: (d) => d.user });
    await store.set('live', record({ user: 'ann' }));
    for (const sid of ['e1', 'e2', 'e3', 'e4', 'e5']) await store.set(sid, record({ user: 'ann' }, 60_000));
    db.prepare('UPDATE sessions SET expire = ? WHERE sid != ?').run(Date.now() - 1, 'live');
    for (let i = 0; i < 100 && (db.prepare('SELECT count(*) FROM sessions').pluck().get() as number) > 1; i++) await sleep(20);
    expect(db.prepare('SELECT sid FROM sessions').pluck().all()).toEqual(['live']);
    expect(db.prepare('SELECT sid FROM sessions_users').pluck().all()).toEqual(['live']);
    await store.close();
    db.close();
  });

  it('a touch renews the row, and the renewed expiry shows in the record', async () => {
    const store = new SQLiteStore({ path: freshPath(), pruneInterval: false });
    const short = record({ a: 1 }, 1000);
    await store.set('t', short);
    const renewed = record({ a: 1 }, 3_600_000);
    await store.touch('t', renewed);
    const got = (await store.get('t'))!;
    expect(Date.parse(got.cookie.expires as string)).toBe(Date.parse(renewed.cookie.expires as string));
    // A browser-session cookie (no expiry) is kept for `ttl`.
    const browser = { cookie: { originalMaxAge: null, expires: null, path: '/' } } as any;
    await store.set('b', browser);
    expect(await store.get('b')).toEqual(browser);
    await store.close();
  });

  it('treats bad ids and unreadable rows as no session, with clear errors for writes', async () => {
    const db = new Database(join(dir, 'bad.db'));
    const store = new SQLiteStore({ db, pruneInterval: false });
    expect(await store.get(undefined as any)).toBeNull();
    await expect(store.set(42 as any, record())).rejects.toThrow(/session id must be a string/);
    await expect(store.destroy(null as any)).rejects.toThrow(/session id must be a string/);
    await store.length();
    const insert = db.prepare('INSERT INTO sessions (sid, sess, expire) VALUES (?, ?, ?)');
    insert.run('garbage', 'not json {', Date.now() + 60_000);
    insert.run('no-cookie', '{"user":"ann"}', Date.now() + 60_000);
    expect(await store.get('garbage')).toBeNull();
    expect(await store.get('no-cookie')).toBeNull();
    expect(await store.getVersioned('garbage')).toBeNull();
    // A conditional write goes by the stored text alone; on a mismatch, an unreadable row counts as gone.
    expect(await store.setIfVersion('garbage', 'not json {', record({ a: 1 }))).toEqual({ written: true, version: expect.any(String) });
    expect(await store.setIfVersion('no-cookie', 'stale', record({ a: 1 }))).toEqual({ written: false, current: null });
    expect(Object.keys(await store.all())).toEqual(['garbage']);
    await store.close();
    db.close();
  });

  it('rejects bad options with clear errors', () => {
    expect(() => new SQLiteStore({} as any)).toThrow(/path.*db/);
    expect(() => new SQLiteStore({ path: 'x.db', tableName: '' })).toThrow(/tableName/);
    expect(() => new SQLiteStore({ path: 'x.db', pruneInterval: -1 })).toThrow(/pruneInterval/);
    expect(() => new SQLiteStore({ path: 'x.db', ttl: 0 })).toThrow(/ttl/);
    expect(() => new SQLiteStore({ path: 'x.db', pruneBatchSize: 1.5 })).toThrow(/pruneBatchSize/);
    expect(() => new SQLiteStore({ path: 'x.db', pruneInterval: 30 * 86_400 })).toThrow(/at most 2147483 seconds/);
  });

  it('says which package to install when a driver is missing', async () => {
    const missing = 'sessionkit-no-such-driver';
    await expect(loadDriver('SQLiteStore', missing, () => import(missing))).rejects.toThrow(
      `SQLiteStore needs the ${missing} package: npm install ${missing}`);
  });

  it('keeps every change of overlapping requests served by two processes on one file', async () => {
    const path = freshPath();
    const [one, two] = [new SQLiteStore({ path, pruneInterval: false }), new SQLiteStore({ path, pruneInterval: false })];
    await overlapAcrossServers(one, two);
    await Promise.all([one.close(), two.close()]);
  });

  it('purges 100k expired rows while requests keep being served', async () => {
    const db = new Database(join(dir, 'purge.db'));
    db.pragma('journal_mode = WAL');
    const store = new SQLiteStore({ db, pruneInterval: false });
    await purgeWhileServing({
      store,
      insertExpired: async (n) => {
        const insert = db.prepare('INSERT INTO sessions (sid, sess, expire) VALUES (?, ?, ?)');
        const text = JSON.stringify(record({ old: true }, -60_000));
        const expire = Date.now() - 60_000;
        db.transaction(() => {
          for (let i = 0; i < n; i++) insert.run(`expired-${i}`, text, expire);
        })();
      },
      countRows: async () => db.prepare('SELECT count(*) FROM sessions').pluck().get() as number,
    });
    await store.close();
    db.close();
  });

  it('lists and ends a user\'s 2,500 sessions in a transaction each', async () => {
    // A file the store opens, so in WAL mode, as an app's would be.
    const path = freshPath();
    const store = new SQLiteStore({ path, pruneInterval: false, userId: (d) => d.user });
    await store.length();
    const db = new Database(path);
    await manySessionsOfOneUser({
      store,
      expireRows: async (sids) => {
        const expire = db.prepare('UPDATE sessions SET expire = ? WHERE sid = ?');
        for (const sid of sids) expire.run(Date.now() - 60_000, sid);
      },
      filed: async (user) => db.prepare('SELECT sid FROM sessions_users WHERE user_id = ?').pluck().all(user) as string[],
    });
    await store.close();
    db.close();
  });
});
