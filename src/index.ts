import { Cookie } from './cookie.js';
import { MemoryStore } from './memory-store.js';
import { session as createMiddleware } from './middleware.js';
import type { SessionOptions } from './options.js';
import { Session } from './session.js';
import { Store } from './store.js';

export type { CookieOptions, CookieData, SameSite } from './cookie.js';
export type { MemoryStoreOptions } from './memory-store.js';
export type { SessionOptions } from './options.js';
export type { SessionData } from './session.js';
export type {
  AtomicStore, ConditionalWrite, SessionRecord, StoreContract, UserIndexOptions, UserSession, VersionedRecord,
} from './store.js';
export type { Callback } from './callback.js';
export { Cookie, MemoryStore, Session, Store };

/** What the middleware does with a request: express's `RequestHandler` shape, without depending on Express. */
export type SessionMiddleware = (req: any, res: any, next: (err?: any) => void) => void;

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
    return createMiddleware(options);
  },
  { Store, MemoryStore, Cookie, Session },
) as SessionFactory;
session.session = session;
session.default = session;

export { session };
export default session;

// The Express `Request` augmentation (req.session, req.sessionID, req.sessionStore) lives in
// session.ts, beside SessionData, so that `declare module 'sessionkit'` can extend SessionData.
