/**
 * The package as users get it: `npm pack`ed, unpacked into node_modules/sessionkit of small
 * TypeScript projects, one per way TypeScript resolves it (node10, node16 and nodenext from ES
 * and CommonJS files, bundler), each compiled by tsc with `skipLibCheck: false`, so an error
 * inside the shipped declarations fails too. Every project uses every export of every entry,
 * augments SessionData, and holds `@ts-expect-error` lines that tsc reports when the error they
 * expect does not happen. Needs `npm run build` first (npm test does it).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'sessionkit-consumers-'));
const installed = join(dir, 'node_modules', 'sessionkit');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(command, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      done({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }));
  });
}

// What the consumers import besides sessionkit (and what sessionkit needs to run), taken from
// this repository's node_modules.
const dependencies = [
  ...Object.keys(createRequire(import.meta.url)('../../package.json').dependencies),
  '@types', 'express', 'redis', '@redis', 'ioredis', 'mysql2', 'pg', 'better-sqlite3',
];

beforeAll(async () => {
  const packed = await run('npm', ['pack', '--silent', '--pack-destination', dir], root);
  expect(packed.code, packed.out).toBe(0);
  const tarball = readdirSync(dir).find((file) => file.endsWith('.tgz'));
  expect(tarball, packed.out).toBeDefined();
  mkdirSync(installed, { recursive: true });
  const unpacked = await run('tar', ['xzf', join(dir, tarball!), '-C', installed, '--strip-components=1'], dir);
  expect(unpacked.code, unpacked.out).toBe(0);
  for (const name of dependencies) symlinkSync(join(root, 'node_modules', name), join(dir, 'node_modules', name));
}, 120_000);

/** The names each public module exports, as TypeScript reads them from the shipped ES declarations. */
function exportsOf(entries: string[]): Map<string, string[]> {
  const files = entries.map((entry) => join(installed, 'dist', `${entry}.d.ts`));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, types: [],
  });
  const checker = program.getTypeChecker();
  return new Map(entries.map((entry, i) => {
    const module = checker.getSymbolAtLocation(program.getSourceFile(files[i])!)!;
    return [entry, checker.getExportsOfModule(module).map((s) => s.name).sort()];
  }));
}

// Each public module and the name the consumers give it.
const modules = {
  sk: ['sessionkit', 'index'],
  redis: ['sessionkit/redis', 'redis'],
  postgres: ['sessionkit/postgres', 'postgres'],
  mysql: ['sessionkit/mysql', 'mysql'],
  sqlite: ['sessionkit/sqlite', 'sqlite'],
  sealed: ['sessionkit/cookie', 'cookie'],
} as const;

const esHead = `import session from 'sessionkit';
import * as sk from 'sessionkit';
import express from 'express';
import * as redis from 'sessionkit/redis';
import * as postgres from 'sessionkit/postgres';
import * as mysql from 'sessionkit/mysql';
import * as sqlite from 'sessionkit/sqlite';
import * as sealed from 'sessionkit/cookie';
`;

const cjsHead = `import sk = require('sessionkit');
import express = require('express');
import redis = require('sessionkit/redis');
import postgres = require('sessionkit/postgres');
import mysql = require('sessionkit/mysql');
import sqlite = require('sessionkit/sqlite');
import sealed = require('sessionkit/cookie');
const session = sk;
`;

// One body for every consumer, so each kind of project is held to the same types.
const body = `
declare module 'sessionkit' {
  interface SessionData {
    user?: { id: string };
    views?: number;
  }
}

const secret = 'a secret of at least thirty-two characters, to seal with';
const sameSite: sk.SameSite = 'lax';
const cookieOptions: sk.CookieOptions = { maxAge: 60_000, sameSite, secure: 'auto', priority: 'high' };
const userIndex: sk.UserIndexOptions = { userId: (record: sk.SessionRecord) => record.user?.id };
const memoryOptions: sk.MemoryStoreOptions = { max: 100, checkPeriod: 0, ...userIndex };
const memory: sk.MemoryStore = new sk.MemoryStore(memoryOptions);
const contract: sk.StoreContract = memory;
const atomic: sk.AtomicStore = memory;
const options: sk.SessionOptions = { secret, resave: false, saveUninitialized: false, store: contract, cookie: cookieOptions };
// @ts-expect-error unset is 'keep' or 'destroy'
const badOptions: sk.SessionOptions = { unset: 'sometimes' };
const middleware: sk.SessionMiddleware = session(options);
middleware.on('created', (e: sk.SessionEvents['created']) => void e.sessionId);
// @ts-expect-error no such event
middleware.on('landed', () => undefined);
// What the middlewares add to Express's Request, as a type of its own.
const onRequest: sk.SessionRequestProperties = { session: {} as sk.Session & Partial<sk.SessionData>, sessionID: 'id' };
const others: sk.SessionMiddleware[] = [sk.session(options), sk.default(options), session.session(options)];

const cookie: sk.Cookie = new sk.Cookie(cookieOptions);
const cookieData: sk.CookieData = cookie.toJSON();
const record: sk.SessionRecord = { cookie: cookieData, user: { id: 'alice' } };
const versioned: sk.VersionedRecord = { record, version: JSON.stringify(record) };
const loaded: sk.Callback<sk.SessionRecord | null | undefined> = (err, value) => void [err, value];
contract.get('id', loaded);
async function saveOver(sid: string): Promise<sk.ConditionalWrite> {
  const current = await atomic.getVersioned(sid);
  return atomic.setIfVersion(sid, current?.version ?? versioned.version, record);
}
async function devices(): Promise<sk.UserSession[]> {
  return memory.listUserSessions('alice');
}

class LegacyStore extends sk.Store {
  get(sid: string, callback: sk.Callback<sk.SessionRecord | null>): void {
    callback(null, sid ? null : undefined);
  }
  set(_sid: string, _record: sk.SessionRecord, callback?: sk.Callback): void {
    callback?.();
  }
  destroy(_sid: string, callback?: sk.Callback): void {
    callback?.();
  }
}
const legacy: sk.Store = new LegacyStore();

// The session lifecycle: limits, meta, devices, events, the user index of sessionkit's stores.
const limits: sk.UserIndexOptions = { ...userIndex, maxSessionsPerUser: 3, onLimit: 'evict-oldest' };
// @ts-expect-error onLimit is 'evict-oldest' or 'refuse'
const badLimits: sk.UserIndexOptions = { onLimit: 'sometimes' };
const meta: sk.SessionMeta = { created: 0, seen: 0, ua: 'Firefox' };
const devicesOption: sk.DevicesOption = { userAgent: true, ip: false };
const eventName: sk.SessionEventName = 'expired';
function audit(source: sk.SessionEventSource): void {
  source.on('expired', (e: sk.SessionEvents['expired']) => void e.reason);
}
function endDevice(store: sk.UserIndexStore, sid: string): Promise<void> {
  return store.indexesUsers ? store.destroySession(sid) : Promise.resolve();
}
const regenerateOptions: sk.RegenerateOptions = { keepData: true };
const timed: sk.SessionOptions = { ...options, absoluteTimeout: 8 * 3600_000, idleTimeout: 1800_000, rotateEvery: 600_000, devices: devicesOption };
// @ts-expect-error absoluteTimeout is a number of milliseconds
const badTimed: sk.SessionOptions = { absoluteTimeout: '8h' };
const lifecycle = { limits, badLimits, meta, devicesOption, eventName, audit, endDevice, regenerateOptions, timed, badTimed };


const errors = {
  secret: new sk.SecretRequiredError() as sk.SecretRequiredError,
  notFound: new sk.SessionNotFoundError() as sk.SessionNotFoundError,
  conflict: new sk.SessionConflictError('id', 3) as sk.SessionConflictError,
  tooLarge: new sk.SessionTooLargeError(5000, 4096) as sk.SessionTooLargeError,
  headersSent: new sk.HeadersSentError('save') as sk.HeadersSentError,
  timeout: new sk.RedisTimeoutError(2000) as sk.RedisTimeoutError,
  storeTimeout: new sk.StoreTimeoutError('PostgresStore', 2000) as sk.StoreTimeoutError,
  userId: new sk.UserIdOptionError('listUserSessions') as sk.UserIdOptionError,
  closed: new sk.StoreClosedError('MemoryStore') as sk.StoreClosedError,
  driver: new sk.DriverMissingError('RedisStore', 'redis', null) as sk.DriverMissingError,
  limit: new sk.SessionLimitError('alice', 3) as sk.SessionLimitError,
};
function explain(err: unknown): string {
  if (err instanceof sk.SessionConflictError) {
    const code: 'ESESSIONCONFLICT' = err.code;
    return code + err.attempts;
  }
  return err instanceof Error ? err.message : String(err);
}

const app = express();
app.use(middleware);
app.get('/', async (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  req.session.user = { id: 'alice' };
  // @ts-expect-error views is a number
  req.session.views = 'many';
  // @ts-expect-error no such key in SessionData
  req.session.nope = true;
  const data: Partial<sk.SessionData> = { views: req.session.views, user: req.session.user };
  // @ts-expect-error no such key in SessionData
  const badData: Partial<sk.SessionData> = { nope: 1 };
  const current: sk.Session = req.session;
  const maxAge: number | null | undefined = req.session.cookie.maxAge;
  await req.session.save();
  req.session.regenerate((err) => void explain(err));
  res.json({ data, badData, current, maxAge, sid: req.sessionID, isSession: req.session instanceof sk.Session });
});

const serializer: redis.Serializer = { parse: (text) => JSON.parse(text), stringify: (r) => JSON.stringify(r) };
const redisOptions: redis.RedisStoreOptions = { client: {}, prefix: 'app:', commandTimeout: 1000, serializer, ...userIndex };
const sqlOptions: postgres.SqlStoreOptions & mysql.SqlStoreOptions & sqlite.SqlStoreOptions = { ttl: 3600, pruneInterval: false };
const postgresOptions: postgres.PostgresStoreOptions = { connectionString: 'postgres://localhost/test', ...sqlOptions };
const mysqlOptions: mysql.MySQLStoreOptions = { uri: 'mysql://root@localhost/test', ...sqlOptions };
const mysqlSchema: mysql.MySQLSchemaOptions = { tableName: 'sessions' };
const mysqlPool = null as unknown as mysql.MySQLConnectionLike;
const mysqlOld: mysql.MySQLStoreOptions = { pool: mysqlPool, schema: mysqlSchema };
const sqliteOptions: sqlite.SQLiteStoreOptions = { path: 'data/sessions.db', ...sqlOptions };
// @ts-expect-error a RedisStore needs a client
const noClient: redis.RedisStoreOptions = { prefix: 'app:' };
const stores: sk.StoreContract[] = [
  new redis.RedisStore(redisOptions) as redis.RedisStore,
  new postgres.PostgresStore(postgresOptions) as postgres.PostgresStore,
  new mysql.MySQLStore(mysqlOptions) as mysql.MySQLStore,
  new sqlite.SQLiteStore(sqliteOptions) as sqlite.SQLiteStore,
];
const redisTimeout: sk.RedisTimeoutError = new redis.RedisTimeoutError(100) as redis.RedisTimeoutError;
const sqlTimeouts: sk.StoreTimeoutError[] = [
  new postgres.StoreTimeoutError('PostgresStore', 100) as postgres.StoreTimeoutError,
  new mysql.StoreTimeoutError('MySQLStore', 100) as mysql.StoreTimeoutError,
  new sqlite.StoreTimeoutError('SQLiteStore', 100) as sqlite.StoreTimeoutError,
];

const sealedCookie: sealed.CookieOptions = { ...cookieOptions, path: '/' };
const sealedOptions: sealed.CookieSessionOptions = { secret, cookie: sealedCookie, maxSize: 4096 };
app.use(sealed.cookieSession(sealedOptions));
const sealedSession: sealed.Session = new sealed.Session({}, { views: 1 });
const sealedMiddleware: sealed.SessionMiddleware = sealed.cookieSession({ secret: 'a'.repeat(32) });
const sealedRequest: sealed.SessionRequestProperties = { session: sealedSession, sessionID: 'id' };
// The seal on its own, without a request.
const keys: sealed.SealKeys = new sealed.SealKeys('a'.repeat(32));
const opened: { text: string; keyIndex: number } | undefined = sealed.unseal(sealed.seal('text', keys, Buffer.from('aad')), keys, Buffer.from('aad'));
const sealedData: Partial<sealed.SessionData> = { views: 2 };
const revocationStore: sealed.RevocationStore = new sk.MemoryStore({ checkPeriod: 0 });
const revocation: sealed.RevocationOptions = { store: revocationStore, userId: (data) => data.user?.id };
const revocable: sealed.CookieSessionMiddleware = sealed.cookieSession({ secret, absoluteTimeout: 3600_000, revocation });
revocable.on('revoked', (e: sealed.SessionEvents['revoked']) => void e.userId);
const revoking: Promise<void> = revocable.revokeUserCookies('alice');
const sealedErrors: Error[] = [
  new sealed.SessionTooLargeError(1, 0) as sealed.SessionTooLargeError,
  new sealed.SessionNotFoundError() as sealed.SessionNotFoundError,
  new sealed.HeadersSentError('save') as sealed.HeadersSentError,
];

export const used = [
  badOptions, others, saveOver, devices, legacy, errors, noClient, stores, redisTimeout, sqlTimeouts, onRequest, mysqlOld, sealedMiddleware, sealedRequest, opened,
  sealedSession, sealedData, sealedErrors, lifecycle, revoking,
];
`;

// A program that imports the package in express-session's default-import style.
const esInteropFile = `import session from 'sessionkit';
import { RedisStore } from 'sessionkit/redis';
import { cookieSession } from 'sessionkit/cookie';
declare module 'sessionkit' {
  interface SessionData { cart?: string[] }
}
const handlers: session.SessionMiddleware[] = [session({ secret: 's' })];
const store: session.Store = new session.MemoryStore();
export const used = [handlers, store, RedisStore, cookieSession({ secret: 'x'.repeat(32) })];
`;

// An app written for express-session and its DefinitelyTyped types, in both module systems.
// Swapping the import is not enough: the SessionData augmentation names the module, so it
// names sessionkit too (`from` is what the migration edits).
const expressSessionApp = (from: string, head: string) => `${head}
import type { SessionData, SessionOptions, CookieOptions } from 'sessionkit';

declare module '${from}' {
  interface SessionData {
    userId: string;
    views: number;
  }
}

class FileStore extends session.Store {
  get(sid: string, callback: (err: any, session?: SessionData | null) => void): void {
    callback(null, sid ? null : undefined);
  }
  set(_sid: string, _session: unknown, callback?: (err?: any) => void): void {
    callback?.();
  }
  destroy(_sid: string, callback?: (err?: any) => void): void {
    callback?.();
  }
}

const cookie: CookieOptions = { maxAge: 3_600_000, sameSite: 'lax', secure: 'auto' };
const options: SessionOptions = { secret: 'keyboard cat', resave: false, saveUninitialized: false, store: new FileStore(), cookie };
const app = express();
app.use(session(options));
app.use(session({ secret: 'keyboard cat', store: new session.MemoryStore() }));

app.post('/login', (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.userId = 'alice';
    req.session.save((err) => (err ? next(err) : res.redirect('/')));
  });
});
app.get('/', (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  req.session.cookie.maxAge = 60_000;
  const data: Partial<SessionData> = { userId: req.session.userId, views: req.session.views };
  res.json({ data, id: req.session.id, sid: req.sessionID });
});
app.post('/logout', (req, res, next) => {
  req.session.destroy((err) => (err ? next(err) : res.redirect('/')));
});
`;
const expressSessionEs = `import express from 'express';
import session from 'sessionkit';`;
const expressSessionCjs = `import express = require('express');
import session = require('sessionkit');`;

interface Consumer {
  /** The consumer's package.json `type`. */
  type: 'module' | 'commonjs';
  compilerOptions: Record<string, unknown>;
  files: Record<string, string>;
}

const strict = { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', types: ['node'] };
const consumers: Record<string, Consumer> = {
  'node10 (module commonjs)': {
    type: 'commonjs',
    compilerOptions: { ...strict, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
    files: { 'app.ts': cjsHead + body, 'interop.ts': esInteropFile },
  },
  // Without esModuleInterop, a declaration that default-imports an `export =` module is an error.
  'node10 (module commonjs), without esModuleInterop': {
    type: 'commonjs',
    compilerOptions: { ...strict, module: 'commonjs', moduleResolution: 'node10' },
    files: { 'app.ts': cjsHead + body },
  },
  'node16, ES module': {
    type: 'module',
    compilerOptions: { ...strict, module: 'node16', moduleResolution: 'node16' },
    files: { 'app.ts': esHead + body },
  },
  'node16, CommonJS': {
    type: 'commonjs',
    compilerOptions: { ...strict, module: 'node16', moduleResolution: 'node16' },
    files: { 'app.ts': cjsHead + body, 'interop.ts': esInteropFile },
  },
  'nodenext, ES module': {
    type: 'module',
    compilerOptions: { ...strict, module: 'nodenext', moduleResolution: 'nodenext' },
    files: { 'app.ts': esHead + body },
  },
  'nodenext, CommonJS': {
    type: 'commonjs',
    compilerOptions: { ...strict, module: 'nodenext', moduleResolution: 'nodenext' },
    files: { 'app.ts': cjsHead + body },
  },
  // Both kinds of file in one program: they must share one SessionData and one req.session.
  'nodenext, ES and CommonJS files together': {
    type: 'module',
    compilerOptions: { ...strict, module: 'nodenext', moduleResolution: 'nodenext' },
    files: { 'app.ts': esHead + body, 'legacy.cts': cjsHead + body },
  },
  bundler: {
    type: 'module',
    compilerOptions: { ...strict, module: 'esnext', moduleResolution: 'bundler' },
    files: { 'app.ts': esHead + body },
  },
};

// The same app with only the import swapped, and with the one edit the migration takes.
const migrations: Record<string, Consumer> = {
  'ES module (nodenext)': {
    type: 'module',
    compilerOptions: { ...strict, module: 'nodenext', moduleResolution: 'nodenext' },
    files: { 'app.ts': '' },
  },
  'CommonJS (node10)': {
    type: 'commonjs',
    compilerOptions: { ...strict, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
    files: { 'app.ts': '' },
  },
};

function writeProject(name: string, consumer: Consumer): string {
  const project = join(dir, name.replace(/\W+/g, '-'));
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: consumer.type }));
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: consumer.compilerOptions, files: Object.keys(consumer.files),
  }));
  for (const [file, text] of Object.entries(consumer.files)) writeFileSync(join(project, file), text);
  return project;
}

async function tsc(project: string) {
  return run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project], project);
}

it('uses every export of every public module in the consumers', () => {
  const exported = exportsOf(Object.values(modules).map(([, entry]) => entry));
  for (const [alias, [, entry]] of Object.entries(modules)) {
    const unused = exported.get(entry)!.filter((name) => !new RegExp(`\\b${alias}\\.${name}\\b`).test(body));
    expect(unused, `${entry}: exports the consumers never use`).toEqual([]);
  }
});

describe('compiles with skipLibCheck off', () => {
  for (const [name, consumer] of Object.entries(consumers)) {
    it(name, async () => {
      const result = await tsc(writeProject(name, consumer));
      expect(result.out).toBe('');
      expect(result.code).toBe(0);
    }, 120_000);
  }
});

describe('an express-session app', () => {
  for (const [name, consumer] of Object.entries(migrations)) {
    const head = consumer.type === 'module' ? expressSessionEs : expressSessionCjs;
    it(`${name}: with only the import swapped, its SessionData augmentation does not apply`, async () => {
      const app = expressSessionApp('express-session', head);
      const result = await tsc(writeProject(`swapped ${name}`, { ...consumer, files: { 'app.ts': app } }));
      expect(result.out).toContain("error TS2664: Invalid module name in augmentation, module 'express-session' cannot be found.");
      expect(result.out).toContain("error TS2339: Property 'userId' does not exist");
      expect(result.code).not.toBe(0);
    }, 120_000);
    it(`${name}: compiles once the augmentation names sessionkit`, async () => {
      const app = expressSessionApp('sessionkit', head);
      const result = await tsc(writeProject(`migrated ${name}`, { ...consumer, files: { 'app.ts': app } }));
      expect(result.out).toBe('');
      expect(result.code).toBe(0);
    }, 120_000);
  }
});

it('require() of each public module holds every value its ES module exports, as the declarations say', async () => {
  const require = createRequire(join(dir, 'index.js'));
  expect(dirname(require.resolve('sessionkit'))).toBe(join(installed, 'dist'));
  expect(typeof require('sessionkit')).toBe('function');
  for (const [specifier, entry] of Object.values(modules)) {
    const cjs = require(specifier);
    const esm = await import(pathToFileURL(join(installed, 'dist', `${entry}.js`)).href);
    const missing = Object.keys(esm).filter((name) => name !== 'default' && typeof cjs[name] !== typeof esm[name]);
    expect(missing, `missing from require('${specifier}')`).toEqual([]);
  }
});
