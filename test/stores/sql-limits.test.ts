/**
 * The SQL stores' per-user limit (maxSessionsPerUser, onLimit), their listing's device fields and
 * destroySession, the same cases on PostgreSQL, MariaDB and SQLite: through the store API and
 * through an Express app doing the logins.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import express from 'express';
import mysql from 'mysql2/promise';
import pg from 'pg';
import Database from 'better-sqlite3';
import request from 'supertest';
import session, { SessionLimitError, type SessionRecord } from '../../src/index.js';
import { META_KEY } from '../../src/core/meta.js';
import { MySQLStore } from '../../src/stores/sql/mysql.js';
import { PostgresStore } from '../../src/stores/sql/postgres.js';
import { SQLiteStore } from '../../src/stores/sql/sqlite.js';
import type { SqlStore, SqlStoreOptions } from '../../src/stores/sql/backend.js';
import { MYSQL_URL, POSTGRES_URL, uniqueTable } from '../helpers/sql.js';
import { record } from './conformance.js';

const pgAdmin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
const myAdmin = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2 });
const dir = mkdtempSync(join(tmpdir(), 'sessionkit-sql-limits-'));
afterAll(async () => {
  await pgAdmin.end();
  await myAdmin.end();
  rmSync(dir, { recursive: true, force: true });
});

/** A store under test, and plain SQL on its tables (the user index table is `<table>_users`). */
interface Dialect {
  name: string;
  create(options: SqlStoreOptions): Promise<{ store: SqlStore; table: string; path?: string }>;
  /** Another store on the same tables (as another process would have). */
  reopen(t: { table: string; path?: string }, options: SqlStoreOptions): SqlStore;
  /** Rows in the session table, live or not. */
  rows(t: { table: string; path?: string }): Promise<number>;
  /** Entries of `user` in the user index table. */
  entries(t: { table: string; path?: string }, user: string): Promise<number>;
  /** Deletes a session's row only, leaving its user index entry behind. */
  deleteRow(t: { table: string; path?: string }, sid: string): Promise<void>;
  /** Makes the user index table as it was before logins were ordered (no `filed` column). */
  dropFiled(t: { table: string; path?: string }): Promise<void>;
  drop(t: { table: string; path?: string }): Promise<void>;
}

const pq = (name: string) => `"${name.replace(/"/g, '""')}"`;
const mq = (name: string) => `\`${name.replace(/`/g, '``')}\``;
let files = 0;

/** Plain SQL on a SQLite file, on a connection of its own, closed after. */
function onFile<T>(path: string, work: (db: Database.Database) => T): T {
  const db = new Database(path, { timeout: 5000 });
  try {
    return work(db);
  } finally {
    db.close();
  }
}

const dialects: Dialect[] = [
  {
    name: 'PostgresStore',
    async create(options) {
      const table = uniqueTable('pglim');
      return { store: this.reopen({ table }, options), table };
    },
    reopen: ({ table }, options) => new PostgresStore({ connectionString: POSTGRES_URL, tableName: table, pruneInterval: false, ...options }),
    rows: async ({ table }) => (await pgAdmin.query(`SELECT count(*)::int AS n FROM ${pq(table)}`)).rows[0].n,
    entries: async ({ table }, user) =>
      (await pgAdmin.query(`SELECT count(*)::int AS n FROM ${pq(`${table}_users`)} WHERE user_id = $1`, [user])).rows[0].n,
    deleteRow: async ({ table }, sid) => void (await pgAdmin.query(`DELETE FROM ${pq(table)} WHERE sid = $1`, [sid])),
    dropFiled: async ({ table }) => void (await pgAdmin.query(`ALTER TABLE ${pq(`${table}_users`)} DROP COLUMN filed`)),
    drop: async ({ table }) => void (await pgAdmin.query(`DROP TABLE IF EXISTS ${pq(table)}, ${pq(`${table}_users`)}`)),
  },
  {
    name: 'MySQLStore',
    async create(options) {
      const table = uniqueTable('mylim');
      return { store: this.reopen({ table }, options), table };
    },
    reopen: ({ table }, options) => new MySQLStore({ uri: MYSQL_URL, tableName: table, pruneInterval: false, ...options }),
    rows: async ({ table }) => Number(((await myAdmin.query(`SELECT count(*) AS n FROM ${mq(table)}`)) as any)[0][0].n),
    entries: async ({ table }, user) =>
      Number(((await myAdmin.query(`SELECT count(*) AS n FROM ${mq(`${table}_users`)} WHERE user_id = ?`, [user])) as any)[0][0].n),
    deleteRow: async ({ table }, sid) => void (await myAdmin.query(`DELETE FROM ${mq(table)} WHERE session_id = ?`, [sid])),
    dropFiled: async ({ table }) => void (await myAdmin.query(`ALTER TABLE ${mq(`${table}_users`)} DROP COLUMN filed`)),
    drop: async ({ table }) => void (await myAdmin.query(`DROP TABLE IF EXISTS ${mq(table)}, ${mq(`${table}_users`)}`)),
  },
  {
    name: 'SQLiteStore',
    async create(options) {
      const path = join(dir, `limits${files++}.db`);
      return { store: this.reopen({ table: 'sessions', path }, options), table: 'sessions', path };
    },
    reopen: ({ path }, options) => new SQLiteStore({ path: path!, pruneInterval: false, ...options }),
    rows: async ({ table, path }) => onFile(path!, (db) => (db.prepare(`SELECT count(*) AS n FROM ${pq(table)}`).get() as { n: number }).n),
    entries: async ({ table, path }, user) =>
      onFile(path!, (db) => (db.prepare(`SELECT count(*) AS n FROM ${pq(`${table}_users`)} WHERE user_id = ?`).get(user) as { n: number }).n),
    deleteRow: async ({ table, path }, sid) => void onFile(path!, (db) => db.prepare(`DELETE FROM ${pq(table)} WHERE sid = ?`).run(sid)),
    // SQLite drops a column by rebuilding the table: the old shape, made anew.
    dropFiled: async ({ table, path }) =>
      void onFile(path!, (db) => db.exec(`
        CREATE TABLE old_users (user_id TEXT NOT NULL, sid TEXT NOT NULL, PRIMARY KEY (user_id, sid)) WITHOUT ROWID;
        INSERT INTO old_users SELECT user_id, sid FROM ${pq(`${table}_users`)};
        DROP TABLE ${pq(`${table}_users`)};
        ALTER TABLE old_users RENAME TO ${pq(`${table}_users`)};
        CREATE INDEX IF NOT EXISTS ${pq(`${table}_users_sid`)} ON ${pq(`${table}_users`)} (sid);`)),
    drop: async () => undefined,
  },
];

const userOf = (data: SessionRecord) => (data as { user?: { id?: string } }).user?.id;

/** A record of `user`, with the meta the middleware writes when `created` is given. */
function login(user: string | undefined, created?: number, extra: Record<string, unknown> = {}): SessionRecord {
  const r = record(user === undefined ? {} : { user: { id: user } });
  if (created !== undefined) r[META_KEY] = { created, seen: created, ...extra };
  return r;
}

const ids = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);

for (const dialect of dialects) {
  describe(`${dialect.name}: sessions per user`, () => {
    const made: Array<{ store: SqlStore; table: string; path?: string }> = [];
    const fresh = async (options: SqlStoreOptions) => {
      const t = await dialect.create({ userId: userOf, ...options });
      made.push(t);
      return t;
    };
    afterAll(async () => {
      for (const t of made) {
        await t.store.close();
        await dialect.drop(t);
      }
    });

    it('validates maxSessionsPerUser and onLimit', async () => {
      for (const bad of [0, -1, 1.5, '3', Number.NaN]) {
        await expect(dialect.create({ userId: userOf, maxSessionsPerUser: bad as number })).rejects.toThrow(
          /maxSessionsPerUser option must be a positive integer/);
      }
      await expect(dialect.create({ maxSessionsPerUser: 3 })).rejects.toThrow(/maxSessionsPerUser option needs the userId option/);
      await expect(dialect.create({ userId: userOf, maxSessionsPerUser: 3, onLimit: 'oldest' as 'refuse' })).rejects.toThrow(
        /onLimit option must be 'evict-oldest' or 'refuse'/);
      await expect(dialect.create({ userId: userOf, onLimit: 'refuse' })).rejects.toThrow(/onLimit option needs the maxSessionsPerUser/);
      const { store } = await fresh({ maxSessionsPerUser: 3, onLimit: 'refuse' });
      expect(store.indexesUsers).toBe(true);
      expect(store.userIdOf(login('ann'))).toBe('ann');
      expect(store.userIdOf(login(undefined))).toBeUndefined();
    });

    it('10 concurrent logins of one user with a limit of 3 leave exactly 3 (evict-oldest)', async () => {
      const t = await fresh({ maxSessionsPerUser: 3 });
      const sids = ids(10, 'ev');
      const now = Date.now();
      await Promise.all(sids.map((sid, i) => t.store.set(sid, login('alice', now + i))));
      const listed = await t.store.listUserSessions('alice');
      expect(listed).toHaveLength(3);
      // The evicted sessions are destroyed, rows and entries.
      expect(await dialect.rows(t)).toBe(3);
      expect(await dialect.entries(t, 'alice')).toBe(3);
      const alive = (await Promise.all(sids.map((sid) => t.store.get(sid)))).filter(Boolean);
      expect(alive).toHaveLength(3);
    });

    it('10 concurrent logins of one user with a limit of 3: 3 succeed, 7 are refused (refuse)', async () => {
      const t = await fresh({ maxSessionsPerUser: 3, onLimit: 'refuse' });
      const sids = ids(10, 'rf');
      const outcomes = await Promise.allSettled(sids.map((sid) => t.store.set(sid, login('bob', Date.now()))));
      const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
      expect(refused).toHaveLength(7);
      for (const { reason } of refused) {
        expect(reason).toBeInstanceOf(SessionLimitError);
        expect(reason).toMatchObject({ code: 'ESESSIONLIMIT', status: 409, userId: 'bob', limit: 3 });
      }
      expect((await t.store.listUserSessions('bob')).map((s) => s.id).sort()).toEqual(
        sids.filter((_, i) => outcomes[i]!.status === 'fulfilled').sort());
      // A refused login wrote nothing.
      expect(await dialect.rows(t)).toBe(3);
      expect(await dialect.entries(t, 'bob')).toBe(3);
      // The callback form gets the error too; another user is not limited by bob's sessions.
      const err = await new Promise((resolve) => t.store.set('rf-cb', login('bob', Date.now()), resolve));
      expect(err).toBeInstanceOf(SessionLimitError);
      await t.store.set('rf-carol', login('carol', Date.now()));
      expect(await t.store.listUserSessions('carol')).toHaveLength(1);
    });

    it('evicts the oldest by meta.created, a record without meta first, then by login order', async () => {
      const t = await fresh({ maxSessionsPerUser: 2 });
      const now = Date.now();
      // Created out of login order: 'late' logged in first but was created last.
      await t.store.set('late', login('dan', now + 30));
      await t.store.set('early', login('dan', now + 10));
      await t.store.set('mid', login('dan', now + 20));
      expect((await t.store.listUserSessions('dan')).map((s) => s.id).sort()).toEqual(['late', 'mid']);
      // No meta counts as oldest; among those, the first login goes first.
      await t.store.set('plain1', login('dan'));
      await t.store.set('plain2', login('dan'));
      expect((await t.store.listUserSessions('dan')).map((s) => s.id).sort()).toEqual(['late', 'plain2']);
      await t.store.set('plain3', login('dan'));
      expect((await t.store.listUserSessions('dan')).map((s) => s.id).sort()).toEqual(['late', 'plain3']);
      expect(await t.store.get('plain2')).toBeNull();
    });

    it('re-saves of a filed session never count; a session logging in again does', async () => {
      const t = await fresh({ maxSessionsPerUser: 2, onLimit: 'refuse' });
      await t.store.set('a', login('erin', 1));
      await t.store.set('b', login('erin', 2));
      // Saves of both, plain and conditional, at the limit.
      await t.store.set('a', { ...login('erin', 1), n: 1 });
      const loaded = await t.store.getVersioned('b');
      expect(await t.store.setIfVersion('b', loaded!.version, { ...loaded!.record, n: 2 })).toMatchObject({ written: true });
      // A conditional save that lost its race changes nothing and is told so.
      expect(await t.store.setIfVersion('b', loaded!.version, { ...loaded!.record, n: 3 })).toMatchObject({ written: false });
      expect((await t.store.get('b'))!.n).toBe(2);
      // 'b' logs out, then in again: a login, which now fits (only 'a' is live for erin) ...
      await t.store.set('b', login(undefined));
      await t.store.set('c', login('erin', 3));
      const out = await t.store.getVersioned('b');
      await expect(t.store.setIfVersion('b', out!.version, login('erin', 4))).rejects.toBeInstanceOf(SessionLimitError);
      // ... and a refused conditional save left the anonymous record as it was.
      expect((await t.store.getVersioned('b'))!.version).toBe(out!.version);
      expect((await t.store.listUserSessions('erin')).map((s) => s.id).sort()).toEqual(['a', 'c']);
    });

    it('a session of the user saved for the first time under the index counts as a login', async () => {
      // Written while the store had no user index: the record is the user's, but never filed.
      const t = await fresh({ userId: undefined });
      await t.store.set('legacy', login('lee', 1));
      const limited = dialect.reopen(t, { userId: userOf, maxSessionsPerUser: 1, onLimit: 'refuse' });
      made.push({ ...t, store: limited });
      await limited.set('a', login('lee', 2));
      const legacy = await limited.getVersioned('legacy');
      await expect(limited.setIfVersion('legacy', legacy!.version, { ...legacy!.record, n: 1 })).rejects.toBeInstanceOf(SessionLimitError);
      expect((await limited.listUserSessions('lee')).map((s) => s.id)).toEqual(['a']);
      // Once filed, its saves are re-saves: 'a' saved conditionally at the limit.
      const a = await limited.getVersioned('a');
      expect(await limited.setIfVersion('a', a!.version, { ...a!.record, n: 1 })).toMatchObject({ written: true });
    });

    it('stale entries (logged out, expired, row gone) do not count and are dropped by the next login', async () => {
      // Filed by a store with no limit, as a store over the same tables may have.
      const t = await fresh({});
      await t.store.set('live', login('fay', 1));
      await t.store.set('out', login('fay', 2));
      await t.store.set('out', login(undefined));
      const expired = login('fay', 3);
      expired.cookie.expires = new Date(Date.now() - 60_000).toISOString();
      await t.store.set('expired', expired);
      await t.store.set('gone', login('fay', 4));
      await dialect.deleteRow(t, 'gone');
      expect(await dialect.entries(t, 'fay')).toBe(4);

      const limited = dialect.reopen(t, { userId: userOf, maxSessionsPerUser: 2, onLimit: 'refuse' });
      made.push({ ...t, store: limited });
      await limited.set('new', login('fay', 5));
      // Only 'live' and 'new' are filed now: the stale entries went in the same step.
      expect(await dialect.entries(t, 'fay')).toBe(2);
      await expect(limited.set('third', login('fay', 6))).rejects.toBeInstanceOf(SessionLimitError);
      expect((await limited.listUserSessions('fay')).map((s) => s.id).sort()).toEqual(['live', 'new']);
    });

    it('lists the device fields from the meta, and destroySession ends one device', async () => {
      const t = await fresh({ maxSessionsPerUser: 3 });
      const created = Date.now() - 5000;
      await t.store.set('laptop', login('gus', created, { seen: created + 1000, ua: 'Firefox/140', ip: '203.0.113.7' }));
      await t.store.set('phone', login('gus'));
      const listed = await t.store.listUserSessions('gus');
      const laptop = listed.find((s) => s.id === 'laptop')!;
      expect(laptop.createdAt).toEqual(new Date(created));
      expect(laptop.lastSeenAt).toEqual(new Date(created + 1000));
      expect(laptop.userAgent).toBe('Firefox/140');
      expect(laptop.ip).toBe('203.0.113.7');
      expect(laptop.data).not.toHaveProperty(META_KEY);
      expect(laptop.data.user).toEqual({ id: 'gus' });
      const phone = listed.find((s) => s.id === 'phone')!;
      expect(phone).toMatchObject({ createdAt: null, lastSeenAt: null });
      expect(phone).not.toHaveProperty('userAgent');

      await t.store.destroySession('laptop');
      expect(await t.store.get('laptop')).toBeNull();
      expect((await t.store.listUserSessions('gus')).map((s) => s.id)).toEqual(['phone']);
      expect(await dialect.entries(t, 'gus')).toBe(1);
      // A missing session is no error.
      await expect(t.store.destroySession('laptop')).resolves.toBeUndefined();
      await expect(t.store.destroySession('never-was')).resolves.toBeUndefined();
    });

    it('orders logins in a user index made before the limit existed (adds the column)', async () => {
      const first = await fresh({});
      await first.store.set('old', login('hal'));
      await first.store.close();
      await dialect.dropFiled(first);
      const store = dialect.reopen(first, { userId: userOf, maxSessionsPerUser: 2 });
      made.push({ ...first, store });
      await store.set('new1', login('hal'));
      // The entry from before counts as the oldest login.
      await store.set('new2', login('hal'));
      expect((await store.listUserSessions('hal')).map((s) => s.id).sort()).toEqual(['new1', 'new2']);
    });

    describe('through an Express app doing the logins', () => {
      function app(store: SqlStore) {
        const a = express();
        a.use(session({ secret: 'sql-limits', resave: false, saveUninitialized: false, store, cookie: { maxAge: 600_000 } }));
        a.post('/login/:user', (req, res, next) => {
          req.session.regenerate((err) => {
            if (err) return next(err);
            (req.session as any).user = { id: req.params.user };
            res.json({ id: req.session.id });
          });
        });
        a.get('/me', (req, res) => res.json({ user: (req.session as any).user?.id ?? null }));
        a.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
          res.status(err.status ?? 500).json({ code: err.code ?? null });
        });
        return a;
      }

      it('10 concurrent logins with a limit of 3: 3 devices stay logged in (evict-oldest)', async () => {
        const t = await fresh({ maxSessionsPerUser: 3 });
        const a = app(t.store);
        const devices = Array.from({ length: 10 }, () => request.agent(a));
        const logins = await Promise.all(devices.map((agent) => agent.post('/login/ivy')));
        for (const res of logins) expect(res.status).toBe(200);
        const me = await Promise.all(devices.map((agent) => agent.get('/me').expect(200)));
        const still = me.filter((res) => res.body.user === 'ivy');
        expect(still).toHaveLength(3);
        const listed = (await t.store.listUserSessions('ivy')).map((s) => s.id).sort();
        expect(listed).toEqual(logins.filter((_, i) => me[i]!.body.user === 'ivy').map((res) => res.body.id).sort());
      });

      it('10 concurrent logins with a limit of 3: 3 succeed, 7 are answered 409 with no session (refuse)', async () => {
        const t = await fresh({ maxSessionsPerUser: 3, onLimit: 'refuse' });
        const a = app(t.store);
        const devices = Array.from({ length: 10 }, () => request.agent(a));
        const logins = await Promise.all(devices.map((agent) => agent.post('/login/jo')));
        const ok = logins.filter((res) => res.status === 200);
        const refused = logins.filter((res) => res.status === 409);
        expect(ok).toHaveLength(3);
        expect(refused).toHaveLength(7);
        for (const res of refused) {
          expect(res.body).toEqual({ code: 'ESESSIONLIMIT' });
          expect(res.headers['set-cookie']).toBeUndefined();
        }
        const me = await Promise.all(devices.map((agent) => agent.get('/me').expect(200)));
        expect(me.filter((res) => res.body.user === 'jo')).toHaveLength(3);
        expect((await t.store.listUserSessions('jo')).map((s) => s.id).sort()).toEqual(ok.map((res) => res.body.id).sort());
        // A device logging out makes room for one more.
        const leaving = devices[logins.indexOf(ok[0]!)]!;
        const gone = ok[0]!.body.id as string;
        await t.store.destroySession(gone);
        expect((await leaving.get('/me').expect(200)).body.user).toBeNull();
        const late = devices[logins.indexOf(refused[0]!)]!;
        await late.post('/login/jo').expect(200);
        expect(await t.store.listUserSessions('jo')).toHaveLength(3);
      });
    });
  });
}

describe('MySQLStore on one connection: sessions per user', () => {
  it('10 concurrent logins with a limit of 3 on a single connection: 3 succeed, 7 refused; other writes meanwhile are kept', async () => {
    const connection = await mysql.createConnection(MYSQL_URL);
    const table = uniqueTable('myone');
    const store = new MySQLStore({ pool: connection, tableName: table, pruneInterval: false, userId: userOf, maxSessionsPerUser: 3, onLimit: 'refuse' });
    try {
      const logins = Promise.allSettled(ids(10, 'one').map((sid) => store.set(sid, login('kim', Date.now()))));
      // Writes of anonymous sessions between the logins' statements: none joins (or is rolled back with) a refused login.
      const others = Promise.all(ids(10, 'anon').map((sid) => store.set(sid, login(undefined))));
      const outcomes = await logins;
      await others;
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
      expect(outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof SessionLimitError)).toHaveLength(7);
      expect(await store.length()).toBe(13);
      expect(await store.listUserSessions('kim')).toHaveLength(3);
    } finally {
      await store.close();
      await myAdmin.query(`DROP TABLE IF EXISTS ${mq(table)}, ${mq(`${table}_users`)}`);
      await connection.end();
    }
  });
});
