import type { Context, Middleware } from 'koa';
import type { SessionEventSource } from '../core/events.js';
import { FrontSession, SessionKind, type FrontOptions, type SessionObject } from './hooks.js';

export type { FrontOptions, SessionObject };
export type { SessionEvents, SessionEventName, SessionEventSource } from '../core/events.js';

declare module 'koa' {
  interface DefaultContext {
    /**
     * The request's session: its data, and the methods of `req.session` (each with a Promise
     * form). Assigning null destroys it; assigning an object makes that the session's data.
     */
    session: SessionObject | null;
  }
}

const kFront = Symbol('sessionkit.front');
type Ctx = Context & { [kFront]?: FrontSession | undefined };

/** The app contexts `ctx.session` is defined on (once per app, on its prototype of every ctx). */
const prepared = new WeakSet<object>();

function prepare(context: object): void {
  if (prepared.has(context)) return;
  prepared.add(context);
  Object.defineProperty(context, 'session', {
    configurable: true,
    get(this: Ctx) {
      return this[kFront]?.session;
    },
    set(this: Ctx, value: unknown) {
      const front = this[kFront];
      if (!front) return;
      const current = front.session;
      // As in koa-session: null logs out. destroy() is waited for before the response.
      if (value === null && current) void current.destroy();
      else front.session = value;
    },
  });
}

/**
 * Sessions for Koa: `app.use(session({ secret, store, resave: false, saveUninitialized: false }))`,
 * then `ctx.session`. Saved after `await next()`, before the response goes out; a change the
 * store did not take is thrown (Koa's error response). A handler that throws leaves the
 * session unsaved, as koa-session does. `{ sealed: true, secret }` keeps it in the cookie instead.
 * The middleware has the sessions' events: `session(options).on('expired', listener)`.
 */
export function session(options: FrontOptions): Middleware & SessionEventSource {
  const kind = new SessionKind(options);
  return kind.hub.attach<Middleware>(async function sessionMiddleware(ctx: Ctx, next) {
    prepare(Object.getPrototypeOf(ctx) as object);
    const front = await kind.open(
      { headers: ctx.req.headers, url: ctx.originalUrl, socket: ctx.req.socket, secure: ctx.secure },
      () => ctx.status,
      (err) => ctx.app.emit('error', err, ctx),
    );
    if (!front) {
      await next();
      return;
    }
    ctx[kFront] = front;
    await next();
    const cookies = await front.commit();
    for (const cookie of cookies) ctx.append('Set-Cookie', cookie);
  });
}

export default session;
