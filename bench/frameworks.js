// The servers of the contenders on other frameworks: Fastify, Koa and Hono apps answering the
// paths in routes.js, each with the session its framework's middleware gives a request. The
// framework's own session packages get the same Redis as sessionkit's RedisStore (their own
// store interfaces, written here over node-redis where the package ships none for Redis).
import { createServer } from 'node:http';
import { cookieMaxAge, redisUrl, sessionOptions } from './common.js';
import { routes } from './routes.js';

async function redisClient() {
  const { createClient } = await import('redis');
  const client = createClient({ url: redisUrl });
  client.on('error', (err) => console.error(`redis: ${err.message}`));
  await client.connect();
  return client;
}

/** Fastify, with `register(app)` putting the session plugin in front, and `sessionOf(request)`. */
export async function fastifyServer({ register, sessionOf }) {
  const { default: Fastify } = await import('fastify');
  let server;
  const app = Fastify({ serverFactory: (handler) => (server = createServer(handler)) });
  if (register) await register(app);
  for (const [path, route] of Object.entries(routes)) {
    app.get(path, async (request, reply) => {
      const [status, body] = route(sessionOf?.(request));
      return reply.code(status).type('text/html; charset=utf-8').send(body);
    });
  }
  await app.ready();
  return server;
}

/** Koa, with `middleware` in front. */
export async function koaServer({ middleware, koaSession, keys, sessionOf }) {
  const { default: Koa } = await import('koa');
  const app = new Koa();
  if (keys) app.keys = keys;
  if (middleware) app.use(middleware);
  if (koaSession) app.use(koaSession(app));
  app.use(async (ctx) => {
    const route = routes[ctx.path];
    if (!route) return;
    const [status, body] = route(sessionOf?.(ctx));
    ctx.status = status;
    ctx.body = body;
  });
  return app.callback();
}

/** Hono on @hono/node-server, with `middleware` in front. */
export async function honoServer({ middleware, sessionOf }) {
  const { Hono } = await import('hono');
  const { getRequestListener } = await import('@hono/node-server');
  const app = new Hono();
  if (middleware) app.use(middleware);
  for (const [path, route] of Object.entries(routes)) {
    app.get(path, (c) => {
      const [status, body] = route(sessionOf?.(c));
      return c.html(body, status);
    });
  }
  return getRequestListener(app.fetch);
}

// sessionkit's fronts, on its RedisStore.

async function skRedisStore(prefix) {
  const { RedisStore } = await import('sessionkit/redis');
  const client = await redisClient();
  return { store: new RedisStore({ client, prefix }), close: () => client.quit() };
}

export async function sessionkitFastify({ scenario, prefix }) {
  const { session } = await import('sessionkit/fastify');
  const { store, close } = await skRedisStore(prefix);
  const options = { ...sessionOptions({ saveUninitialized: scenario === 'new' }), store };
  return { register: (app) => app.register(session, options), sessionOf: (request) => request.session, close };
}

export async function sessionkitKoa({ scenario, prefix }) {
  const { session } = await import('sessionkit/koa');
  const { store, close } = await skRedisStore(prefix);
  const options = { ...sessionOptions({ saveUninitialized: scenario === 'new' }), store };
  return { middleware: session(options), sessionOf: (ctx) => ctx.session, close };
}

export async function sessionkitHono({ scenario, prefix }) {
  const { session } = await import('sessionkit/hono');
  const { store, close } = await skRedisStore(prefix);
  const options = { ...sessionOptions({ saveUninitialized: scenario === 'new' }), store };
  return { middleware: session(options), sessionOf: (c) => c.get('session'), close };
}

// The frameworks' own session packages.

/** @fastify/session with connect-redis, the express-session Redis store it takes. */
export async function fastifySession({ scenario, prefix }) {
  const { default: fastifyCookie } = await import('@fastify/cookie');
  const { default: fastifySessionPlugin } = await import('@fastify/session');
  const { RedisStore } = await import('connect-redis');
  const client = await redisClient();
  const { secret, cookie, saveUninitialized, rolling } = sessionOptions({ saveUninitialized: scenario === 'new' });
  const register = async (app) => {
    await app.register(fastifyCookie);
    await app.register(fastifySessionPlugin, {
      secret,
      store: new RedisStore({ client, prefix }),
      saveUninitialized,
      rolling,
      cookie: { ...cookie, secure: false },
    });
  };
  return { register, sessionOf: (request) => request.session, close: () => client.quit() };
}

/**
 * koa-session with an external store on Redis (koa-session ships the interface, not a Redis store).
 * Unsigned: the load generator replays one cookie per session, and koa-session signs in a second
 * one; the key is a random UUID, and skipping the HMAC only spares koa-session work.
 */
export async function koaSession({ scenario, prefix }) {
  const { default: session } = await import('koa-session');
  const client = await redisClient();
  const store = {
    async get(key) {
      const text = await client.get(prefix + key);
      return text ? JSON.parse(text) : undefined;
    },
    async set(key, sess, maxAge) {
      await client.set(prefix + key, JSON.stringify(sess), { PX: typeof maxAge === 'number' ? maxAge : cookieMaxAge });
    },
    async destroy(key) {
      await client.del(prefix + key);
    },
  };
  const { saveUninitialized, rolling } = sessionOptions({ saveUninitialized: scenario === 'new' });
  const keys = [sessionOptions().secret];
  const middleware = (app) => session({ store, signed: false, maxAge: cookieMaxAge, rolling, saveUninitialized, sameSite: 'lax' }, app);
  return { koaSession: middleware, keys, sessionOf: (ctx) => ctx.session, close: () => client.quit() };
}

/**
 * hono-sessions with a store on Redis (its Store interface). Its sessions are read with get/set:
 * a proxy lets the routes use properties, as with every other contender.
 */
export async function honoSessions({ prefix }) {
  const { sessionMiddleware } = await import('hono-sessions');
  const client = await redisClient();
  const store = {
    async getSessionById(id) {
      const text = id ? await client.get(prefix + id) : null;
      return text ? JSON.parse(text) : null;
    },
    async createSession(id, data) {
      await client.set(prefix + id, JSON.stringify(data), { PX: cookieMaxAge });
    },
    async persistSessionData(id, data) {
      await client.set(prefix + id, JSON.stringify(data), { PX: cookieMaxAge });
    },
    async deleteSession(id) {
      await client.del(prefix + id);
    },
  };
  const middleware = sessionMiddleware({
    store,
    expireAfterSeconds: cookieMaxAge / 1000,
    cookieOptions: { path: '/', httpOnly: true, sameSite: 'Lax' },
  });
  const sessionOf = (c) => {
    const s = c.get('session');
    return new Proxy({}, {
      get: (_t, key) => s.get(key) ?? undefined,
      set: (_t, key, value) => (s.set(key, value), true),
    });
  };
  return { middleware, sessionOf, close: () => client.quit() };
}
