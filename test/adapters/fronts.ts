// One app, written once, served by each front on its real framework: the same routes, the same
// session calls, so every scenario runs on Fastify, Koa, Hono and a web-standard handler alike.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import Koa from 'koa';
import { Hono } from 'hono';
import { getRequestListener } from '@hono/node-server';
import sessionkitFastify from '../../src/fronts/fastify.js';
import { session as koaSession } from '../../src/fronts/koa.js';
import { session as honoSession, type SessionEnv } from '../../src/fronts/hono.js';
import { getSession } from '../../src/fronts/web.js';
import type { FrontOptions, SessionObject } from '../../src/fronts/hooks.js';

/** What the app keeps in its sessions (typed here, not by augmentation, which other test projects own). */
type AppSession = SessionObject & { views?: number; who?: string; late?: boolean; [key: string]: unknown };

export interface Running {
  url: string;
  close(): Promise<void>;
}

/** What a route gets: the session as its framework shows it now, and the request's query. */
interface RouteContext {
  session(): AppSession | null | undefined;
  query: URLSearchParams;
  /** Koa's `ctx.session = null`, where the front has it. */
  assignNull?: () => void;
  store: FrontOptions extends infer O ? O extends { store?: infer S } ? S : never : never;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The app: what each path does with the session; answers JSON with a status. */
async function route(path: string, ctx: RouteContext): Promise<{ status: number; body: unknown }> {
  const wait = Number(ctx.query.get('wait') ?? 0);
  switch (path) {
    case '/views': {
      const s = ctx.session()!;
      s.views = (s.views ?? 0) + 1;
      return { status: 200, body: { views: s.views, id: s.id } };
    }
    case '/login': {
      await ctx.session()!.regenerate();
      ctx.session()!.who = ctx.query.get('user') ?? 'alice';
      return { status: 200, body: { id: ctx.session()!.id } };
    }
    case '/dashboard': {
      const s = ctx.session();
      if (!s?.who) return { status: 401, body: { user: null } };
      return { status: 200, body: { user: s.who, views: s.views ?? 0, id: s.id } };
    }
    case '/logout':
      if (ctx.query.has('null') && ctx.assignNull) ctx.assignNull();
      else await ctx.session()!.destroy();
      return { status: 200, body: { ok: true } };
    case '/write': {
      if (wait) await sleep(wait);
      ctx.session()![`k${ctx.query.get('key')}`] = true;
      return { status: 200, body: { ok: true } };
    }
    case '/slow': {
      const s = ctx.session()!;
      if (wait) await sleep(wait);
      s.late = true;
      return { status: 200, body: { ok: true } };
    }
    case '/keys': {
      const s = ctx.session()!;
      return { status: 200, body: { keys: Object.keys(s).filter((k) => /^k\d+$/.test(k)).length, late: s.late ?? false } };
    }
    case '/others': {
      const s = ctx.session()!;
      const store = ctx.store as unknown as { destroyUserSessions(user: string, o: { except: string }): Promise<number> };
      const ended = await store.destroyUserSessions(s.who!, { except: s.id });
      return { status: 200, body: { ended } };
    }
    case '/list': {
      const s = ctx.session()!;
      const store = ctx.store as unknown as { listUserSessions(user: string): Promise<Array<{ id: string }>> };
      return { status: 200, body: { ids: (await store.listUserSessions(s.who!)).map((x) => x.id).sort() } };
    }
    default:
      return { status: 404, body: {} };
  }
}

function listen(server: Server): Promise<Running> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

function storeOf(options: FrontOptions): RouteContext['store'] {
  return (options as { store?: unknown }).store as RouteContext['store'];
}

export interface Front {
  name: string;
  start(options: FrontOptions): Promise<Running>;
}

const fastify: Front = {
  name: 'fastify',
  async start(options) {
    const app = Fastify();
    await app.register(sessionkitFastify, options);
    app.all('/*', async (request, reply) => {
      const url = new URL(request.url, 'http://x');
      const { status, body } = await route(url.pathname, { session: () => request.session as AppSession, query: url.searchParams, store: storeOf(options) });
      return reply.code(status).send(body);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  },
};

const koa: Front = {
  name: 'koa',
  start(options) {
    const app = new Koa();
    app.silent = true;
    app.use(koaSession(options));
    app.use(async (ctx) => {
      const url = new URL(ctx.url, 'http://x');
      const { status, body } = await route(url.pathname, {
        session: () => ctx.session as AppSession | null,
        query: url.searchParams,
        store: storeOf(options),
        assignNull: () => void (ctx.session = null),
      });
      ctx.status = status;
      ctx.body = body;
    });
    return listen(createServer(app.callback()));
  },
};

const hono: Front = {
  name: 'hono',
  start(options) {
    const app = new Hono<SessionEnv>();
    app.use(honoSession(options));
    app.all('*', async (c) => {
      const url = new URL(c.req.url);
      const session = c.var.session as AppSession;
      const { status, body } = await route(url.pathname, { session: () => session, query: url.searchParams, store: storeOf(options) });
      return c.json(body, status as 200);
    });
    return listen(createServer(getRequestListener(app.fetch)));
  },
};

/** A route handler as Next.js has them: a web Request in, a Response out. */
function nextStyleRoute(options: FrontOptions) {
  return async function handler(request: Request): Promise<Response> {
    const session = await getSession(request, options);
    const url = new URL(request.url);
    const { status, body } = await route(url.pathname, { session: () => session as unknown as AppSession, query: url.searchParams, store: storeOf(options) });
    return session.commit(Response.json(body, { status }));
  };
}

const web: Front = {
  name: 'web',
  start(options) {
    const handler = nextStyleRoute(options);
    return listen(createServer((req: IncomingMessage, res: ServerResponse) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string') headers.set(name, value);
      }
      handler(new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers })).then(
        async (response) => {
          const out: Record<string, string | string[]> = {};
          response.headers.forEach((value, name) => (out[name] = value));
          const cookies = response.headers.getSetCookie();
          if (cookies.length) out['set-cookie'] = cookies;
          res.writeHead(response.status, out);
          res.end(Buffer.from(await response.arrayBuffer()));
        },
        () => {
          res.writeHead(500).end('{"error":true}');
        },
      );
    }));
  },
};

export const fronts: Front[] = [web, hono, fastify, koa];

export { Client } from '../helpers/client.js';
