/**
 * Differential testing: one scenario (options, routes, requests) runs once with
 * express-session@1.19.0 and once with sessionkit, on the same framework, with the clock
 * frozen, and everything a user could observe is recorded: status, body, Set-Cookie,
 * selected headers, the store calls and the records the store holds after each request.
 * The two recordings must be equal; a failure names the scenario and shows the first field
 * where they part.
 */
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect, it, vi } from 'vitest';
import express from 'express';
import sessionkit from '../../src/index.js';

const require = createRequire(import.meta.url);
export const expressSession = require('express-session');
const express4 = require('express4');
const connect = require('connect');

export type LibName = 'express-session' | 'sessionkit';
/** `https` is Express 5 behind TLS (a self-signed certificate for 127.0.0.1, test only). */
export type Framework = 'express5' | 'express4' | 'connect' | 'http' | 'https';
export const libraries: Record<LibName, (options: any) => any> = {
  'express-session': expressSession,
  sessionkit: sessionkit as any,
};

/** The frozen "now" every run starts at, so Expires and maxAge agree to the millisecond. */
export const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

type Op = 'get' | 'set' | 'destroy' | 'touch';

export interface StoreBehaviour {
  /** Call back synchronously, inside the store method, instead of on a later turn. */
  sync?: boolean;
  /** No `touch` method. */
  noTouch?: boolean;
}

/**
 * A third-party store as people write them for express-session: it extends express-session's
 * `Store`, keeps JSON text, drops expired records on `get`, and records every call. Its
 * `fail` map makes the next calls of an operation fail (`'ENOENT'` fails with that code).
 */
const BaseStore: new () => EventEmitter = expressSession.Store;
export class TestStore extends BaseStore {
  data = new Map<string, string>();
  calls: unknown[] = [];
  fail: Partial<Record<Op, string>> = {};

  constructor(private readonly behaviour: StoreBehaviour = {}) {
    super();
    if (behaviour.noTouch) (this as any).touch = undefined;
  }

  private reply(op: Op, cb: ((err?: any, value?: any) => void) | undefined, work: () => unknown): void {
    let err: any = null;
    let value: unknown;
    const failure = this.fail[op];
    if (failure) {
      err = failure === 'ENOENT' ? Object.assign(new Error('ENOENT: no such session'), { code: 'ENOENT' }) : new Error(failure);
    } else {
      value = work();
    }
    if (!cb) return;
    if (this.behaviour.sync) cb(err, value);
    else setImmediate(cb, err, value);
  }

  get(sid: string, cb: (err: any, value?: any) => void): void {
    this.calls.push(['get', sid]);
    this.reply('get', cb, () => {
      const text = this.data.get(sid);
      if (text === undefined) return undefined;
      const record = JSON.parse(text);
      if (record?.cookie?.expires && new Date(record.cookie.expires).getTime() <= Date.now()) {
        this.data.delete(sid);
        return undefined;
      }
      return record;
    });
  }

  set(sid: string, sess: unknown, cb?: (err?: any) => void): void {
    const text = JSON.stringify(sess);
    this.calls.push(['set', sid, JSON.parse(text)]);
    this.reply('set', cb, () => void this.data.set(sid, text));
  }

  destroy(sid: string, cb?: (err?: any) => void): void {
    this.calls.push(['destroy', sid]);
    this.reply('destroy', cb, () => void this.data.delete(sid));
  }

  touch(sid: string, sess: any, cb?: (err?: any) => void): void {
    this.calls.push(['touch', sid, JSON.parse(JSON.stringify(sess.cookie))]);
    this.reply('touch', cb, () => {
      const text = this.data.get(sid);
      if (text === undefined) return;
      const record = JSON.parse(text);
      record.cookie = sess.cookie;
      this.data.set(sid, JSON.stringify(record));
    });
  }

  records(): Record<string, unknown> {
    return Object.fromEntries([...this.data].map(([sid, text]) => [sid, JSON.parse(text)]));
  }
}

export interface Ctx {
  lib: LibName;
  framework: Framework;
  store: TestStore;
  /** Anything a route wants compared besides the response (return values, callback order). */
  log: unknown[];
}

export type Route = (req: any, res: any, ctx: Ctx) => unknown;
type Middleware = (req: any, res: any, next: (err?: unknown) => void) => void;

export interface Step {
  method?: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  /** The Cookie header to send instead of the jar's (false: none). */
  cookie?: string | false;
  /** Moves the frozen clock forward (ms) before the request. */
  advance?: number;
  before?(ctx: Ctx): void;
}

/**
 * What a scenario is about, so runners pick scenarios by topic rather than by name. The
 * HTTPS run takes 'cookie' (the cookie's attributes, and when a path applies) and 'rolling'.
 */
export type Tag =
  | 'saving' | 'rolling' | 'touch' | 'expiry' | 'deprecated'
  | 'cookie' | 'path' | 'secure' | 'proxy' | 'mounted'
  | 'name' | 'secret' | 'cookie-parser' | 'setup-error'
  | 'genid' | 'unset' | 'methods' | 'responses' | 'express' | 'loading' | 'store' | 'errors';

export interface Scenario {
  name: string;
  tags: Tag[];
  /** session() options besides `store` and `genid` (a counting genid unless given). */
  options?: (ctx: Ctx) => Record<string, unknown>;
  routes?: Record<string, Route>;
  steps: Step[];
  frameworks?: Framework[];
  store?: StoreBehaviour;
  /** Records put in the store before the first request. */
  seed?: Record<string, unknown>;
  /** Middleware run before the session middleware. */
  pre?: Middleware[];
  /** Express only: settings such as `trust proxy`. */
  express?: (app: any) => void;
  /** Mounts the app (session middleware and routes) under this path. */
  mount?: string;
  /** Don't pass a counting genid: session IDs are random and normalized in the recording. */
  randomIds?: boolean;
  /** Needs the test store's fault injection or call behaviour, so it is not run on MemoryStores. */
  thirdPartyOnly?: boolean;
  /** Assertions on express-session's recording, proving the scenario shows what it claims. */
  check?: (recording: Recording) => void;
}

export interface StepResult {
  status: number;
  body: string;
  setCookie: string[];
  headers: Record<string, string | undefined>;
  calls: unknown[];
  log: unknown[];
  records: Record<string, unknown>;
}

export interface Recording {
  steps: StepResult[];
  /** Set when the middleware factory threw. */
  setupError?: string;
}

const defaultRoutes: Record<string, Route> = {
  '/': (_req, res) => res.end('ok'),
  '/view': (req, res) => res.end(view(req)),
  '/set': (req, res) => {
    const query = new URL(req.url, 'http://x').searchParams;
    for (const [key, value] of query) req.session[key] = value;
    res.end(view(req));
  },
};

/** The session as a route sees it: ID, data, cookie numbers. */
export function view(req: any): string {
  const sess = req.session;
  if (!sess) return JSON.stringify({ id: req.sessionID ?? null, session: null });
  const { cookie, ...data } = sess;
  return JSON.stringify({
    id: req.sessionID,
    sameId: sess.id === req.sessionID,
    data,
    keys: Object.keys(sess),
    cookie: cookie && {
      maxAge: cookie.maxAge,
      originalMaxAge: cookie.originalMaxAge,
      expires: cookie.expires ?? null,
      secure: cookie.secure ?? null,
      sameSite: cookie.sameSite ?? null,
    },
  });
}

function routerFor(scenario: Scenario, ctx: Ctx): Middleware {
  const routes = { ...defaultRoutes, ...scenario.routes };
  return (req, res, next) => {
    const path = new URL(req.url, 'http://x').pathname;
    const route = routes[path];
    if (!route) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    try {
      const out = route(req, res, ctx) as Promise<unknown> | undefined;
      if (out && typeof out.then === 'function') out.then(undefined, next);
    } catch (err) {
      next(err);
    }
  };
}

function errorHandlerFor(ctx: Ctx) {
  return (err: any, _req: any, res: any, _next?: unknown) => {
    ctx.log.push(`next(err): ${err?.message ?? err}`);
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    res.statusCode = err?.status ?? 500;
    res.end(`error: ${err?.message ?? err}`);
  };
}

function chain(middleware: Middleware[], onError: (err: unknown, req: any, res: any) => void): http.RequestListener {
  return (req, res) => {
    let i = 0;
    const next = (err?: unknown): void => {
      if (err) return onError(err, req, res);
      const mw = middleware[i++];
      if (mw) mw(req, res, next);
    };
    next();
  };
}

function build(scenario: Scenario, ctx: Ctx, mw: Middleware): http.RequestListener {
  const router = routerFor(scenario, ctx);
  const onError = errorHandlerFor(ctx);
  const stack = [...(scenario.pre ?? []), mw, router];
  switch (ctx.framework) {
    case 'http':
      return chain(stack, onError);
    case 'connect': {
      const inner = connect();
      for (const m of stack) inner.use(m);
      inner.use(onError);
      if (!scenario.mount) return inner;
      const outer = connect();
      outer.use(scenario.mount, inner);
      outer.use(defaultRoutes['/']);
      return outer;
    }
    default: {
      const make = ctx.framework === 'express4' ? express4 : express;
      const app = make();
      scenario.express?.(app);
      for (const m of stack) app.use(m);
      app.use(onError);
      if (!scenario.mount) return app;
      const outer = make();
      scenario.express?.(outer);
      outer.use(scenario.mount, app);
      outer.use(defaultRoutes['/']);
      return outer;
    }
  }
}

const tls = {
  key: readFileSync(new URL('./fixtures/localhost-key.pem', import.meta.url)),
  cert: readFileSync(new URL('./fixtures/localhost-cert.pem', import.meta.url)),
};

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(port: number, step: Step, cookie: string | undefined, secure: boolean): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...step.headers };
    if (cookie) headers.cookie = cookie;
    const req = (secure ? https : http).request(
      { host: '127.0.0.1', port, method: step.method ?? 'GET', path: step.path, headers, agent: false, ca: tls.cert },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Lets callbacks deferred past the response (next(err) after a failed save) run. */
async function quiesce(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

/** Runs a scenario with one library on one framework. */
export async function record(
  scenario: Scenario, lib: LibName, framework: Framework = 'express5', storeKind: StoreKind = 'third-party',
): Promise<Recording> {
  vi.useFakeTimers({ toFake: ['Date'], now: NOW });
  const store: TestStore = storeKind === 'memory'
    ? new (libraries[lib] as any).MemoryStore({ checkPeriod: 0 })
    : new TestStore(scenario.store);
  for (const [sid, rec] of Object.entries(scenario.seed ?? {})) {
    await new Promise((resolve) => store.set(sid, rec, resolve));
  }
  const ctx: Ctx = { lib, framework, store, log: [] };
  let n = 0;
  const options = {
    store,
    ...(scenario.randomIds ? {} : { genid: () => `sid${++n}` }),
    secret: 'keyboard cat',
    resave: false,
    saveUninitialized: false,
    ...scenario.options?.(ctx),
  };
  let mw: Middleware;
  try {
    mw = libraries[lib](options);
  } catch (err) {
    vi.useRealTimers();
    return { steps: [], setupError: (err as Error).message };
  }
  const listener = build(scenario, ctx, mw);
  const server = framework === 'https' ? https.createServer(tls, listener) : http.createServer(listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const jar = new Map<string, string>();
  const steps: StepResult[] = [];
  try {
    for (const step of scenario.steps) {
      if (step.advance) vi.setSystemTime(Date.now() + step.advance);
      step.before?.(ctx);
      if (storeKind !== 'memory') store.calls = [];
      ctx.log = [];
      const cookie = step.cookie === false ? undefined
        : step.cookie ?? ([...jar].map(([k, v]) => `${k}=${v}`).join('; ') || undefined);
      const res = await send(port, step, cookie, framework === 'https');
      await quiesce();
      const setCookie = res.headers['set-cookie'] ?? [];
      for (const c of setCookie) {
        const [pair] = c.split(';');
        const eq = pair!.indexOf('=');
        jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
      }
      steps.push({
        status: res.status,
        body: res.body,
        setCookie,
        headers: {
          'content-length': res.headers['content-length'],
          'transfer-encoding': res.headers['transfer-encoding'],
          'content-type': res.headers['content-type'],
          'x-test': res.headers['x-test'] as string | undefined,
        },
        calls: storeKind === 'memory' ? [] : store.calls,
        log: ctx.log,
        records: storeKind === 'memory' ? await allRecords(store) : store.records(),
      });
    }
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    vi.useRealTimers();
  }
  const recording = { steps };
  return scenario.randomIds ? normalizeIds(recording) : recording;
}

/** A MemoryStore's sessions, through the store API both libraries' MemoryStores share. */
function allRecords(store: any): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => store.all((err: unknown, all: Record<string, unknown>) => {
    if (err) reject(err);
    else resolve(JSON.parse(JSON.stringify({ ...all })));
  }));
}

/** Replaces random session IDs (and their signatures) with their order of appearance. */
function normalizeIds(recording: Recording): Recording {
  let text = JSON.stringify(recording);
  const ids: string[] = [];
  for (const m of text.matchAll(/s%3A([A-Za-z0-9_-]{32})\.([A-Za-z0-9%+/]+)/g)) {
    if (!ids.includes(m[1]!)) ids.push(m[1]!);
    text = text.split(m[2]!).join('<sig>');
  }
  for (const m of text.matchAll(/"(?:get|set|destroy|touch)","([A-Za-z0-9_-]{32})"/g)) {
    if (!ids.includes(m[1]!)) ids.push(m[1]!);
  }
  ids.forEach((id, i) => {
    text = text.split(id).join(`<id${i + 1}>`);
  });
  return JSON.parse(text);
}

/**
 * Where sessions are kept: a third-party store shared in kind by both runs (the default), or
 * each library's own MemoryStore (sessionkit's takes its conditional-write path).
 */
export type StoreKind = 'third-party' | 'memory';

/** One test per scenario: sessionkit's recording must equal express-session's. */
export function differential(scenarios: Scenario[], framework: Framework = 'express5', storeKind: StoreKind = 'third-party'): void {
  for (const scenario of scenarios) {
    if (scenario.frameworks && !scenario.frameworks.includes(framework)) continue;
    if (storeKind === 'memory' && scenario.thirdPartyOnly) continue;
    it(`${framework}${storeKind === 'memory' ? ', own MemoryStore' : ''}: ${scenario.name}`, async () => {
      const expected = await record(scenario, 'express-session', framework, storeKind);
      const actual = await record(scenario, 'sessionkit', framework, storeKind);
      expect(actual, `sessionkit differs from express-session in "${scenario.name}" on ${framework}`).toEqual(expected);
      // The checks look at the test store's calls, which a MemoryStore does not record.
      if (storeKind !== 'memory') scenario.check?.(expected);
    });
  }
}
