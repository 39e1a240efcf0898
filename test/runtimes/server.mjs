// One app, served by whichever runtime runs this file (Node, Bun or Deno), through the front and
// store its configuration names: sessionkit/web under Bun.serve, Deno.serve (or, on Node,
// node:http), sessionkit/hono on the same, or session() under Express. It loads the package
// from dist/ (the ESM build), as an app on that runtime would.
//
//   SK_SERVER='{"front":"web","store":"redis","redisUrl":"redis://127.0.0.1:6379","prefix":"x:"}' bun test/runtimes/server.mjs
//
// It prints `READY <port>` once it listens on a free port of 127.0.0.1, and closes its store and
// exits on SIGTERM. Every answer is JSON; a store failure is a 500 with the error's name and code.
import process from 'node:process';

const { Response } = globalThis;

const config = JSON.parse(process.env.SK_SERVER ?? '{}');
const runtime = typeof globalThis.Bun !== 'undefined' ? 'bun' : typeof globalThis.Deno !== 'undefined' ? 'deno' : 'node';
const dist = new URL('../../dist/', import.meta.url);
const secret = config.secret ?? 'a secret of at least thirty-two characters, for sealing';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The store the configuration names, and what closes it. */
async function makeStore() {
  switch (config.store) {
    case 'none':
    case 'sealed':
      return { store: undefined, close: async () => {} };
    case 'memory': {
      const { MemoryStore } = await import(new URL('index.js', dist).href);
      const store = new MemoryStore();
      return { store, close: async () => store.close?.() };
    }
    case 'redis': {
      const { createClient } = await import('redis');
      const { RedisStore } = await import(new URL('redis.js', dist).href);
      const client = createClient({ url: config.redisUrl });
      client.on('error', () => {});
      await client.connect();
      const store = new RedisStore({ client, prefix: config.prefix, commandTimeout: config.commandTimeout ?? 10_000 });
      return { store, close: () => (client.close ? client.close() : client.quit()) };
    }
    case 'postgres': {
      const { PostgresStore } = await import(new URL('postgres.js', dist).href);
      const store = new PostgresStore({
        conObject: { connectionString: config.pgUrl, connectionTimeoutMillis: config.commandTimeout ?? 10_000 },
        tableName: config.table,
        createTableIfMissing: true,
        commandTimeout: config.commandTimeout ?? 10_000,
      });
      return { store, close: () => store.close() };
    }
    case 'sqlite': {
      const { SQLiteStore } = await import(new URL('sqlite.js', dist).href);
      const store = new SQLiteStore({ path: config.sqlitePath, tableName: config.table, ...(config.driver ? { driver: config.driver } : {}) });
      return { store, close: () => store.close() };
    }
    default:
      throw new Error(`server.mjs: unknown store ${config.store}`);
  }
}

const { store, close: closeStore } = await makeStore();
const options = config.store === 'sealed'
  ? { sealed: true, secret }
  : { secret, store, resave: false, saveUninitialized: false, cookie: { maxAge: 600_000 } };

/**
 * The app: what each path does with the session, as `session()` gives it now (a new object
 * after regenerate), with promise-returning regenerate and destroy. Returns [status, body].
 */
async function route(path, query, session) {
  const wait = Number(query.get('wait') ?? 0);
  switch (path) {
    case '/views': {
      const s = session.get();
      s.views = (s.views ?? 0) + 1;
      return [200, { views: s.views, id: s.id ?? null, runtime }];
    }
    case '/login': {
      await session.regenerate();
      session.get().who = query.get('user') ?? 'alice';
      return [200, { id: session.get().id ?? null, runtime }];
    }
    case '/dashboard': {
      const s = session.get();
      if (!s?.who) return [401, { user: null, runtime }];
      return [200, { user: s.who, views: s.views ?? 0, id: s.id ?? null, runtime }];
    }
    case '/logout':
      await session.destroy();
      return [200, { ok: true }];
    case '/flash': {
      // The tutorials' flash message: set by one request, shown once by the next.
      const s = session.get();
      if (query.has('msg')) {
        s.flash = [...(s.flash ?? []), query.get('msg')];
        return [200, { ok: true }];
      }
      const messages = s.flash ?? [];
      delete s.flash;
      return [200, { messages }];
    }
    case '/write': {
      const s = session.get();
      if (wait) await sleep(wait);
      s[`k${query.get('key')}`] = true;
      return [200, { ok: true }];
    }
    case '/keys': {
      const s = session.get();
      return [200, { keys: Object.keys(s).filter((k) => /^k\d+$/.test(k)).length }];
    }
    // The benchmark's two routes: a logged-in session read and left alone, and a counter written.
    case '/read': {
      const s = session.get();
      if (!s) return [200, { user: 'User 1' }];
      return s.who ? [200, { user: s.who }] : [401, { user: null }];
    }
    case '/count': {
      const s = session.get();
      if (!s) return [200, { count: 1 }];
      s.count = (s.count ?? 0) + 1;
      return [200, { count: s.count }];
    }
    default:
      return [404, {}];
  }
}

const failure = (err) => ({ error: err?.name ?? 'Error', code: err?.code ?? null });
const withoutSession = { get: () => undefined, regenerate: async () => {}, destroy: async () => {} };

/** sessionkit/web: the session of a Request, its cookie on the Response. */
async function webHandler() {
  const { getSession } = await import(new URL('web.js', dist).href);
  return async function fetch(request) {
    const url = new URL(request.url);
    try {
      if (config.store === 'none') {
        const [status, body] = await route(url.pathname, url.searchParams, withoutSession);
        return Response.json(body, { status });
      }
      let session = await getSession(request, options);
      const handle = { get: () => session, regenerate: () => session.regenerate(), destroy: () => session.destroy() };
      const [status, body] = await route(url.pathname, url.searchParams, handle);
      return await session.commit(Response.json(body, { status }));
    } catch (err) {
      return Response.json(failure(err), { status: 500 });
    }
  };
}

/** sessionkit/hono: the middleware, `c.var.session` in the handler. */
async function honoHandler() {
  const { Hono } = await import('hono');
  const { session } = await import(new URL('hono.js', dist).href);
  const app = new Hono();
  if (config.store !== 'none') app.use(session(options));
  app.all('*', async (c) => {
    const url = new URL(c.req.url);
    const handle = config.store === 'none' ? withoutSession : {
      get: () => c.var.session,
      regenerate: () => c.var.session.regenerate(),
      destroy: () => c.var.session.destroy(),
    };
    const [status, body] = await route(url.pathname, url.searchParams, handle);
    return c.json(body, status);
  });
  app.onError((err, c) => c.json(failure(err), 500));
  return app.fetch;
}

/** session() (or cookieSession(), sealed) under Express, on the runtime's node:http. */
async function expressServer() {
  const { default: express } = await import('express');
  const app = express();
  if (config.store === 'sealed') {
    const { cookieSession } = await import(new URL('cookie.js', dist).href);
    app.use(cookieSession({ secret }));
  } else if (config.store !== 'none') {
    const { session } = await import(new URL('index.js', dist).href);
    app.use(session(options));
  }
  const callback = (req, method) => new Promise((resolve, reject) => req.session[method]((err) => (err ? reject(err) : resolve())));
  app.all('/{*path}', (req, res, next) => {
    const url = new URL(req.url, 'http://localhost');
    const handle = config.store === 'none' ? withoutSession : {
      get: () => req.session,
      regenerate: () => callback(req, 'regenerate'),
      destroy: () => (config.store === 'sealed' ? ((req.session = null), Promise.resolve()) : callback(req, 'destroy')),
    };
    route(url.pathname, url.searchParams, handle).then(([status, body]) => res.status(status).json(body), next);
  });
  app.use((err, _req, res, _next) => res.status(500).json(failure(err)));
  const { createServer } = await import('node:http');
  return createServer(app);
}

/** A fetch handler served by the runtime's own server; on Node, through @hono/node-server. */
async function serveFetch(fetch) {
  if (runtime === 'bun') {
    const server = globalThis.Bun.serve({ hostname: '127.0.0.1', port: 0, fetch });
    return { port: server.port, stop: () => server.stop(true) };
  }
  if (runtime === 'deno') {
    let ready;
    const listening = new Promise((resolve) => (ready = resolve));
    const server = globalThis.Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => ready(port) }, fetch);
    return { port: await listening, stop: () => server.shutdown() };
  }
  const { getRequestListener } = await import('@hono/node-server');
  const { createServer } = await import('node:http');
  return listenNode(createServer(getRequestListener(fetch)));
}

function listenNode(server) {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, stop: () => new Promise((done) => server.close(() => done())) }));
  });
}

let server;
switch (config.front) {
  case 'web':
    server = await serveFetch(await webHandler());
    break;
  case 'hono':
    server = await serveFetch(await honoHandler());
    break;
  case 'express':
    server = await listenNode(await expressServer());
    break;
  default:
    throw new Error(`server.mjs: unknown front ${config.front}`);
}

process.on('SIGTERM', () => {
  // Closed before exiting, so a SQLite file is left whole for the next runtime that opens it.
  Promise.race([Promise.all([closeStore(), server.stop()]), sleep(3000)]).finally(() => process.exit(0));
});
console.log(`READY ${server.port}`);
