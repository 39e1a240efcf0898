import type { IncomingHttpHeaders } from 'node:http';
import parseUrl from 'parseurl';
import type { CookieOptions } from './cookie.js';
import type { Session, SessionLifecycle } from './session.js';
import { kLifecycle } from './session.js';

/**
 * What the core reads of a request and writes on it: the headers, and the session properties
 * express-session puts on the request object (`req.session`, `req.sessionID`). Every front hands
 * the core such an object: Express's `req` itself, or one a front makes for its framework.
 */
export interface SessionRequest {
  headers: IncomingHttpHeaders;
  url?: string;
  originalUrl?: string;
  socket?: unknown;
  /** Express's view of HTTPS, which follows its `trust proxy` setting. */
  secure?: boolean;
  session?: Session | null;
  sessionID?: string;
  /** The store of a store-backed session (express-session puts it there too). */
  sessionStore?: unknown;
  [kLifecycle]?: SessionLifecycle;
}

export type Next = (err?: unknown) => void;

/**
 * A function of the request, as the `cookie` and `genid` options take. Declared as a method so
 * that a function written for Express's `Request` (or another framework's) is accepted too.
 */
export type RequestFunction<T> = { of(req: SessionRequest): T }['of'];

/** The `cookie` option: the cookie's attributes, or a function of the request that returns them. */
export type CookieSetting = CookieOptions | RequestFunction<CookieOptions>;

/**
 * Whether the request arrived over HTTPS, as express-session decides it for `secure` cookies:
 * a TLS socket; else, with `proxy: true`, the first X-Forwarded-Proto; else Express's `req.secure`
 * (which follows its `trust proxy` setting), unless `proxy: false`.
 */
export function isSecure(req: SessionRequest, trustProxy: boolean | undefined): boolean {
  if ((req.socket as { encrypted?: boolean } | undefined)?.encrypted) return true;
  if (trustProxy === false) return false;
  if (trustProxy !== true) return req.secure === true;
  const header = String(req.headers['x-forwarded-proto'] || '');
  const index = header.indexOf(',');
  const proto = index !== -1 ? header.slice(0, index) : header;
  return proto.toLowerCase().trim() === 'https';
}

/**
 * The entry guard every front runs first: the cookie options for this request, or undefined
 * when the request gets no session from this middleware. A session set by an earlier
 * middleware (or a second sessionkit) is left alone, and a request whose original path is
 * outside the cookie's path has no session at all, as in express-session.
 */
export function sessionCookieOptions(req: SessionRequest, cookie: CookieSetting): CookieOptions | undefined {
  if (req.session) return undefined;
  const options = typeof cookie === 'function' ? cookie(req) : cookie;
  const path = options.path || '/';
  // A cookie for every path, and a request for a path (not a full URL): its pathname starts
  // with '/' however the URL parses, so it needs no parsing.
  if (path === '/' && (typeof req.originalUrl === 'string' ? req.originalUrl : req.url)?.charCodeAt(0) === 0x2f) return options;
  const originalPath = parseUrl.original(req as never)?.pathname || '/';
  return originalPath.indexOf(path) === 0 ? options : undefined;
}
