import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CookieOptions } from '../core/cookie.js';
import type { SessionEvents, SessionEventSource } from '../core/events.js';
import { sessionCookieOptions, type Next, type SessionRequest } from '../core/request.js';
import { Session, type SessionData } from '../core/session.js';
import { drive, expressResponse, type SessionMiddleware } from '../fronts/express.js';
import { resolveOptions, type CookieSessionOptions } from './options.js';
import type { RevocationOptions, RevocationStore } from './revocation.js';
import { SealedLifecycle } from './request.js';

export type { CookieOptions, CookieSessionOptions, SessionData, SessionMiddleware };
export type { RevocationOptions, RevocationStore, SessionEvents };

/**
 * What `cookieSession()` returns: the middleware, its events (`on`, `once`, `off`), and, with
 * the `revocation` option, `revokeUserCookies(userId)`.
 */
export type CookieSessionMiddleware = SessionMiddleware & SessionEventSource & {
  /**
   * Ends every cookie of the user issued until now, on every instance that shares the
   * revocation store: their next request has no session (event `revoked`). Needs the
   * `revocation` option; a store error rejects, and nothing is revoked.
   */
  revokeUserCookies(userId: string | number): Promise<void>;
};
export { Session };
// Exported so that the declarations carry the `req.session` typing of Express's Request.
export type { SessionRequestProperties } from '../fronts/express-request.js';
export { HeadersSentError, SessionNotFoundError, SessionTooLargeError } from '../errors.js';
export { SealKeys, seal, unseal } from './seal.js';

/**
 * Cookie-only sessions: `app.use(cookieSession({ secret }))`. The whole session travels in
 * the cookie, encrypted and authenticated, with the same `req.session` as `session()`.
 */
export function cookieSession(options: CookieSessionOptions): CookieSessionMiddleware {
  const settings = resolveOptions(options);

  const middleware = function cookieSessionMiddleware(req: IncomingMessage & SessionRequest, res: ServerResponse, next: Next): void {
    const cookieOptions = sessionCookieOptions(req, settings.cookie);
    if (!cookieOptions) {
      next();
      return;
    }
    const report = (err: unknown) => setImmediate(next, err);
    drive(new SealedLifecycle(settings, req, expressResponse(res), cookieOptions, report), res, next);
  };
  const revocation = settings.revocation;
  return Object.assign(settings.hub.attach(middleware), {
    revokeUserCookies(userId: string | number): Promise<void> {
      if (!revocation) {
        return Promise.reject(new TypeError('revokeUserCookies needs the revocation option: cookieSession({ revocation: { store, userId } })'));
      }
      return revocation.revoke(userId);
    },
  });
}
