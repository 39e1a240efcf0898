import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CookieOptions } from '../core/cookie.js';
import { sessionCookieOptions, type Next, type SessionRequest } from '../core/request.js';
import { Session, type SessionData } from '../core/session.js';
import { drive, expressResponse, type SessionMiddleware } from '../fronts/express.js';
import { resolveOptions, type CookieSessionOptions } from './options.js';
import { SealedLifecycle } from './request.js';

export type { CookieOptions, CookieSessionOptions, SessionData, SessionMiddleware };
export { Session };
// Exported so that the declarations carry the `req.session` typing of Express's Request.
export type { SessionRequestProperties } from '../fronts/express-request.js';
export { HeadersSentError, SessionNotFoundError, SessionTooLargeError } from '../errors.js';
export { SealKeys, seal, unseal } from './seal.js';

/**
 * Cookie-only sessions: `app.use(cookieSession({ secret }))`. The whole session travels in
 * the cookie, encrypted and authenticated, with the same `req.session` as `session()`.
 */
export function cookieSession(options: CookieSessionOptions): SessionMiddleware {
  const settings = resolveOptions(options);

  return function cookieSessionMiddleware(req: IncomingMessage & SessionRequest, res: ServerResponse, next: Next): void {
    const cookieOptions = sessionCookieOptions(req, settings.cookie);
    if (!cookieOptions) {
      next();
      return;
    }
    const report = (err: unknown) => setImmediate(next, err);
    drive(new SealedLifecycle(settings, req, expressResponse(res), cookieOptions, report), res, next);
  };
}
