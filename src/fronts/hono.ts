import type { MiddlewareHandler } from 'hono';
import type { SessionEventSource } from '../core/events.js';
import { SessionKind, webRequest, type FrontOptions, type SessionObject } from './hooks.js';

export type { FrontOptions, SessionObject };
export type { SessionEvents, SessionEventName, SessionEventSource } from '../core/events.js';

/** What the middleware adds to Hono's context: `c.get('session')`, `c.var.session`. */
export type SessionEnv = { Variables: { session: SessionObject } };

/**
 * Sessions for Hono: `app.use(session({ secret, store, resave: false, saveUninitialized: false }))`,
 * then `c.var.session` (or `c.get('session')`) in every handler. Saved after the handler,
 * before the response goes out; a change the store did not take becomes Hono's error response.
 * `{ sealed: true, secret }` keeps the whole session in the cookie instead, as `cookieSession()`.
 * The middleware has the sessions' events: `session(options).on('expired', listener)`.
 */
export function session(options: FrontOptions): MiddlewareHandler<SessionEnv> & SessionEventSource {
  const kind = new SessionKind(options);
  return kind.hub.attach<MiddlewareHandler<SessionEnv>>(async function sessionMiddleware(c, next) {
    const front = await kind.open(webRequest(c.req.raw), () => c.res.status, reportError);
    if (!front) {
      await next();
      return;
    }
    c.set('session', front.view);
    await next();
    const cookies = await front.commit();
    for (const cookie of cookies) c.header('Set-Cookie', cookie, { append: true });
  });
}

/** What the store failed after the response was decided on (a touch, a resave): nothing to answer with. */
function reportError(err: unknown): void {
  console.error('sessionkit:', err);
}
