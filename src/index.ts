import { Cookie } from './core/cookie.js';
import { MemoryStore } from './stores/memory.js';
import { session as createMiddleware, type SessionMiddleware as Middleware } from './fronts/express.js';
import type { SessionEventSource } from './core/events.js';
import type { SessionOptions } from './core/options.js';
import { Session } from './core/session.js';
import { Store } from './stores/contract.js';

export type { CookieOptions, CookieData, SameSite } from './core/cookie.js';
export type { MemoryStoreOptions } from './stores/memory.js';
export type { SessionOptions } from './core/options.js';
export type { SessionData, RegenerateOptions } from './core/session.js';
export type {
  AtomicStore, ConditionalWrite, SessionRecord, StoreContract, UserIndexOptions, UserIndexStore, UserSession, VersionedRecord,
} from './stores/contract.js';
export type { Callback } from './core/callback.js';
export * from './errors.js';
export type { SessionEvents, SessionEventName, SessionEventSource } from './core/events.js';
export type { SessionMeta, DevicesOption } from './core/meta.js';
export { Cookie, MemoryStore, Session, Store };
/** The middleware `session()` returns: Express's `RequestHandler` shape, and its events (`on`, `once`, `off`). */
export type SessionMiddleware = Middleware & SessionEventSource;
// Exported so that the declarations carry the `req.session` typing of Express's Request.
export type { SessionRequestProperties } from './fronts/express-request.js';


interface SessionFactory {
  (options?: SessionOptions | null): SessionMiddleware;
  Store: typeof Store;
  MemoryStore: typeof MemoryStore;
  Cookie: typeof Cookie;
  Session: typeof Session;
  /** The factory itself, so `require('sessionkit').session` and `.default` work as the ES exports do. */
  session: SessionFactory;
  default: SessionFactory;
}

/**
 * `session(options)`: the middleware factory, with `Store`, `MemoryStore`, `Cookie` and
 * `Session` attached, as `require('express-session')` has them.
 */
const session = Object.assign(
  function session(options?: SessionOptions | null): SessionMiddleware {
    return createMiddleware(options) as SessionMiddleware;
  },
  { Store, MemoryStore, Cookie, Session },
) as SessionFactory;
session.session = session;
session.default = session;

export { session };
export default session;



