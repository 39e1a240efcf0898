/**
 * What the hardening campaign shares: a seeded random source (printed, replayable with
 * HARDENING_SEED), the scale of a run (HARDENING_SCALE), every store on its real server with a
 * way to write raw records into its backend, a bounded HTTP client for real servers, and the
 * checks that nothing crashed and no prototype was polluted.
 */
import { createServer, request as httpRequest, Agent, type Server } from 'node:http';
import { createServer as createTcpServer, connect as tcpConnect, type Socket } from 'node:net';
import express from 'express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import mysql from 'mysql2/promise';
import Database from 'better-sqlite3';
import { createClient } from 'redis';
import session, { MemoryStore } from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { PostgresStore } from '../../src/stores/sql/postgres.js';
import { MySQLStore } from '../../src/stores/sql/mysql.js';
import { SQLiteStore } from '../../src/stores/sql/sqlite.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { MYSQL_URL, POSTGRES_URL, uniqueTable } from '../helpers/sql.js';

/** Multiplies every count of the campaign: 1 in CI, 10 or more for a long run. */
export const SCALE = Math.max(1, Number(process.env.HARDENING_SCALE) || 1);

/** The seed of this run: HARDENING_SEED to replay one, else fresh; every file prints it. */
export const SEED = process.env.HARDENING_SEED ? Number(process.env.HARDENING_SEED) >>> 0 : randomBytes(4).readUInt32BE(0);

/** `n` at this run's scale. */
export const scaled = (n: number): number => Math.round(n * SCALE);

/** A small seeded generator (mulberry32): the same seed gives the same inputs. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  /** `n` characters drawn from `alphabet`. */
  text(n: number, alphabet: string): string {
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }
}

/** A generator for one target, seeded from the run's seed and the target's name (so targets don't share streams). */
export function randomFor(target: string): Random {
  let h = SEED ^ 0x9e3779b9;
  for (let i = 0; i < target.length; i++) h = Math.imul(h ^ target.charCodeAt(i), 0x01000193);
  return new Random(h >>> 0);
}

/** Prints a result line of the campaign: `[hardening] <what> <details>`. */
export function report(what: string, details: Record<string, unknown>): void {
  const sorted = (value: unknown): unknown =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sorted(v)]))
      : value;
  console.log(`[hardening] ${what} ${JSON.stringify(sorted(details))}`);
}

/** Counts outcomes by name: what each target's inputs got. */
export class Tally {
  readonly counts: Record<string, number> = {};
  tried = 0;
  add(outcome: string): void {
    this.tried++;
    this.counts[outcome] = (this.counts[outcome] ?? 0) + 1;
  }
}

// Crashes and pollution.

/** Collects unhandled rejections and uncaught exceptions while it is on. */
export function watchProcess(): { problems: unknown[]; stop(): void } {
  const problems: unknown[] = [];
  const onProblem = (err: unknown) => problems.push(err);
  process.on('unhandledRejection', onProblem);
  process.on('uncaughtException', onProblem);
  return {
    problems,
    stop() {
      process.off('unhandledRejection', onProblem);
      process.off('uncaughtException', onProblem);
    },
  };
}

const PROTOTYPES: Array<[string, object]> = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
];

/** The own keys of the built-in prototypes now, to compare with later. */
export function prototypeKeys(): string[] {
  return PROTOTYPES.flatMap(([name, proto]) => Reflect.ownKeys(proto).map((k) => `${name}.${String(k)}`)).sort();
}

/** Names a fuzzed record uses to try to pollute a prototype, and the value it plants. */
export const POLLUTION_KEY = 'hardeningPolluted';

/** True when anything reachable from a fresh object carries the planted key. */
export function polluted(): boolean {
  const probe: any = {};
  return probe[POLLUTION_KEY] !== undefined || ([] as any)[POLLUTION_KEY] !== undefined || (() => {}).constructor.prototype[POLLUTION_KEY] !== undefined;
}

// A bounded HTTP client for real servers.

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

/** Thrown when a request gets no answer within its bound: a hang. */
export class HangError extends Error {
  constructor(readonly path: string, readonly ms: number) {
    super(`no answer to ${path} within ${ms} ms`);
  }
}

/** A listening server for `app` on a free loopback port, with a keep-alive agent and headers up to 64 KB. */
export async function serve(app: (req: any, res: any) => void): Promise<{ server: Server; port: number; agent: Agent; close(): Promise<void> }> {
  const server = createServer({ maxHeaderSize: 65536 }, app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return {
    server,
    port,
    agent,
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Sends one request and resolves with its answer, or rejects with a {@link HangError} after
 * `bound` ms. `cookie` is sent as given, byte for byte (latin1), so any header a client may send gets through.
 */
export function send(
  target: { port: number; agent: Agent },
  path: string,
  { cookie, method = 'GET', bound = 10_000 }: { cookie?: string | string[]; method?: string; bound?: number } = {},
): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = {};
    if (cookie !== undefined) headers.cookie = cookie;
    const req = httpRequest({ host: '127.0.0.1', port: target.port, path, method, headers, agent: target.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new HangError(path, bound));
    }, bound);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/** The `name=value` pairs of a response's Set-Cookie headers, ready for a Cookie header. */
export function cookiesOf(answer: Answer): string {
  const raw = answer.headers['set-cookie'];
  const set = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return set.map((c) => c.split(';')[0]).join('; ');
}

// Every store on its real server.

export interface StoreUnderTest {
  name: string;
  store: any;
  /** Writes `text` as the stored record of `sid`, as the backend keeps it, live for an hour; false when the backend refuses the text. */
  writeRaw(sid: string, text: string): Promise<boolean>;
  /** The stored text of `sid`, or null. */
  readRaw(sid: string): Promise<string | null>;
  /** Removes everything this store wrote and closes its connections. */
  dispose(): Promise<void>;
}

export type StoreName = 'MemoryStore' | 'RedisStore' | 'PostgresStore' | 'MySQLStore' | 'SQLiteStore';
export const STORE_NAMES: StoreName[] = ['MemoryStore', 'RedisStore', 'PostgresStore', 'MySQLStore', 'SQLiteStore'];

const HOUR = 3600_000;

/** A fresh store of `name` on its server (its own Redis prefix or table), with the `userId` option given. */
export async function openStore(name: StoreName, options: { userId?: (data: any) => any } = {}): Promise<StoreUnderTest> {
  switch (name) {
    case 'MemoryStore': {
      const store = new MemoryStore({ checkPeriod: 0, ...options });
      return {
        name,
        store,
        writeRaw: async (sid, text) => {
          store.sessions.set(sid, text);
          return true;
        },
        readRaw: async (sid) => store.sessions.get(sid) ?? null,
        dispose: async () => store.close(),
      };
    }
    case 'RedisStore': {
      const client = createClient({ url: redisUrl });
      client.on('error', () => {});
      await client.connect();
      const prefix = uniquePrefix('hardening');
      const store = new RedisStore({ client, prefix, ...options });
      return {
        name,
        store,
        writeRaw: async (sid, text) => {
          await client.set(prefix + sid, text, { PX: HOUR });
          return true;
        },
        readRaw: async (sid) => client.get(prefix + sid),
        dispose: async () => {
          store.close();
          await deleteByPrefix(client, prefix);
          await deleteByPrefix(client, store.userPrefix);
          await client.quit();
        },
      };
    }
    case 'PostgresStore': {
      const tableName = uniqueTable('hard');
      const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
      const store = new PostgresStore({ pool, tableName, pruneInterval: false, ...options });
      await store.length();
      const table = `"${tableName}"`;
      return {
        name,
        store,
        writeRaw: async (sid, text) => {
          try {
            await pool.query(
              `INSERT INTO ${table} (sid, sess, expire) VALUES ($1, $2, now() + interval '1 hour')
               ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expire = excluded.expire`,
              [sid, text],
            );
            return true;
          } catch {
            return false; // Not JSON: a json column cannot hold it.
          }
        },
        readRaw: async (sid) => (await pool.query(`SELECT sess::text AS t FROM ${table} WHERE sid = $1`, [sid])).rows[0]?.t ?? null,
        dispose: async () => {
          await store.close();
          await pool.query(`DROP TABLE IF EXISTS ${table}, "${tableName}_users"`);
          await pool.end();
        },
      };
    }
    case 'MySQLStore': {
      const tableName = uniqueTable('hard');
      const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 4 });
      const store = new MySQLStore({ pool, tableName, pruneInterval: false, ...options } as any);
      await store.length();
      const table = `\`${tableName}\``;
      return {
        name,
        store,
        writeRaw: async (sid, text) => {
          await pool.query(`REPLACE INTO ${table} (session_id, expires, data) VALUES (?, ?, ?)`, [sid, Math.floor((Date.now() + HOUR) / 1000), text]);
          return true;
        },
        readRaw: async (sid) => ((await pool.query(`SELECT data FROM ${table} WHERE session_id = ?`, [sid])) as any)[0][0]?.data ?? null,
        dispose: async () => {
          await store.close();
          await pool.query(`DROP TABLE IF EXISTS ${table}, \`${tableName}_users\``);
          await pool.end();
        },
      };
    }
    case 'SQLiteStore': {
      const dir = mkdtempSync(join(tmpdir(), 'sk-hardening-'));
      const path = join(dir, 'sessions.db');
      const store = new SQLiteStore({ path, pruneInterval: false, ...options });
      await store.length();
      // A second connection to the same file, as another process writing the table would be.
      const db = new Database(path);
      db.pragma('busy_timeout = 5000');
      const table = `"${store.tableName}"`;
      return {
        name,
        store,
        writeRaw: async (sid, text) => {
          db.prepare(`INSERT OR REPLACE INTO ${table} (sid, sess, expire) VALUES (?, ?, ?)`).run(sid, text, Date.now() + HOUR);
          return true;
        },
        readRaw: async (sid) => (db.prepare(`SELECT sess FROM ${table} WHERE sid = ?`).get(sid) as { sess?: string } | undefined)?.sess ?? null,
        dispose: async () => {
          db.close();
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// Requests under a fault: an app whose answers say what was saved, and users loading it.

/**
 * An app of two keys written by one request (a half-applied write would leave them apart). Its
 * error handler answers 503, and records in `unsaved` (by the `r` query parameter) any error
 * that arrives after the response went out: a 2xx for a change the store did not take.
 * `/inc?delay=ms` waits between the load and the change, so a fault can fall in between.
 */
export function counterApp(store: any, unsaved: Set<string>, options: Record<string, unknown> = {}) {
  const a = express();
  a.use(session({ secret: 'hardening counter', resave: false, saveUninitialized: false, store, cookie: { maxAge: 600_000 }, ...options }));
  a.get('/login/:user', (req, res) => {
    Object.assign(req.session, { user: req.params.user, a: 0, b: 0 });
    res.json({ id: req.sessionID });
  });
  a.get('/inc', async (req, res) => {
    const s = req.session as any;
    if (typeof s.a !== 'number') {
      res.status(409).json({ error: 'no session' });
      return;
    }
    const delay = Number(req.query.delay ?? 0);
    if (delay > 0) await sleep(delay);
    s.a += 1;
    s.b = s.a;
    res.json({ a: s.a });
  });
  a.use((err: Error, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (res.headersSent) {
      unsaved.add(String(req.query.r));
      return;
    }
    res.status(503).json({ error: err.message, code: (err as { code?: string }).code });
  });
  return a;
}

/** What a load saw. */
export interface LoadFigures {
  requests: number;
  /** 2xx answers: each claims its increment was stored. */
  ok: number;
  /** The app's error answers (a failed load or save): the client knows. */
  errorAnswers: number;
  /** Error answers by the error's code. */
  errorCodes: Record<string, number>;
  hung: number;
  otherErrors: number;
  longestMs: number;
}

/**
 * Users (one cookie each) making `/inc` requests one after another until stopped, each bounded
 * by `bound`. `delay()` gives each request's wait between its load and its change.
 */
export function loadUsers(
  http: { port: number; agent: Agent },
  cookies: string[],
  { bound, delay = () => 0, pause = 20 }: { bound: number; delay?: () => number; pause?: number },
) {
  const figures: LoadFigures = { requests: 0, ok: 0, errorAnswers: 0, errorCodes: {}, hung: 0, otherErrors: 0, longestMs: 0 };
  const answered: Array<{ user: number; r: string; a: number }> = [];
  let stopped = false;
  let lastOk = 0;
  let n = 0;
  const loops = cookies.map(async (cookie, user) => {
    while (!stopped) {
      figures.requests++;
      const r = String(n++);
      try {
        const answer = await send(http, `/inc?r=${r}&delay=${delay()}`, { cookie, bound });
        figures.longestMs = Math.max(figures.longestMs, answer.ms);
        if (answer.status === 200) {
          figures.ok++;
          answered.push({ user, r, a: JSON.parse(answer.body).a });
          lastOk = performance.now();
        } else {
          figures.errorAnswers++;
          let code = String(answer.status);
          try {
            const body = JSON.parse(answer.body);
            code = body.code ?? `${code} ${String(body.error).slice(0, 60)}`;
          } catch {
            // Not the app's JSON: counted by status.
          }
          figures.errorCodes[code] = (figures.errorCodes[code] ?? 0) + 1;
          await sleep(pause);
        }
      } catch (err) {
        if (err instanceof HangError) figures.hung++;
        else figures.otherErrors++;
      }
    }
  });
  return {
    figures,
    answered,
    lastOk: () => lastOk,
    /** The highest count each user was answered 2xx for. */
    acked: () => {
      const out = cookies.map(() => 0);
      for (const { user, a } of answered) out[user] = Math.max(out[user]!, a);
      return out;
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** Milliseconds from now until the load's next 2xx; fails after `limit`. */
export async function untilRecovered(running: { lastOk(): number }, limit = 30_000): Promise<number> {
  const from = performance.now();
  while (running.lastOk() <= from) {
    if (performance.now() - from > limit) throw new Error(`no recovery within ${limit} ms`);
    await sleep(10);
  }
  return Math.round(running.lastOk() - from);
}

/**
 * A TCP server that accepts connections and never answers, until `heal()`: then it closes what
 * it held and forwards new connections to `upstreamPort`, as a network that came back would.
 */
export async function silentServer(upstreamPort: number) {
  let healed = false;
  const held = new Set<Socket>();
  const open = new Set<Socket>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => open.delete(socket));
  };
  const server = createTcpServer((socket) => {
    track(socket);
    if (!healed) {
      held.add(socket);
      socket.on('close', () => held.delete(socket));
      return;
    }
    const upstream = tcpConnect(upstreamPort, '127.0.0.1');
    track(upstream);
    upstream.on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    heal() {
      healed = true;
      for (const socket of held) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}
