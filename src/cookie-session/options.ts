import { maxHeaderSize } from 'node:http';
import type { Policy } from '../core/decide.js';
import type { CookieSetting } from '../core/request.js';
import { checkDuration, type DevicesOption } from '../core/meta.js';
import { validateOptions } from '../core/options.js';
import { SessionEventHub } from '../core/events.js';
import { Revocation, type RevocationOptions } from './revocation.js';
import { SealKeys } from './seal.js';

/** The options of `cookieSession()`. */
export interface CookieSessionOptions {
  /**
   * Seals and opens the session: at least 32 characters (or bytes) of randomness. An array
   * rotates secrets: the first seals, all open.
   */
  secret: string | Buffer | Array<string | Buffer>;
  /** The cookie's name; a session too large for one cookie adds `<name>.1`, `<name>.2`, ... Default `session`. */
  name?: string;
  /** The cookie's attributes, or a function of the request that returns them (as in `session()`). */
  cookie?: CookieSetting;
  /** Trust X-Forwarded-Proto for `secure` cookies: true, false, or undefined to follow Express's `trust proxy`. */
  proxy?: boolean;
  /** Reseal and send the cookie on every response, which slides the expiry. Default false. */
  rolling?: boolean;
  /** Send a cookie for a new session nobody wrote to. Default false. */
  saveUninitialized?: boolean;
  /**
   * Bytes: the most the session's cookies may add to the Cookie header of each request
   * (names, values and separators). A larger session fails to save. Default 8192.
   */
  maxSize?: number;
  /**
   * Milliseconds a session stays valid after it was last written when its cookie has no
   * `maxAge` or `expires` (a browser-session cookie). Default 86400000 (one day).
   */
  ttl?: number;
  /**
   * Milliseconds: the session ends that long after it was created, whatever its activity.
   * Sealed with the session, so no client can extend it; `rolling` does not either.
   */
  absoluteTimeout?: number;
  /**
   * Milliseconds: the session ends when no request brought it for that long. An active
   * session is resealed often enough (every tenth of it, at most once a minute) to stay alive.
   */
  idleTimeout?: number;
  /** Seal the user agent and the client IP of the request with the session (the meta, never on `req.session`). */
  devices?: DevicesOption;
  /**
   * Revocable cookies: `sessions.revokeUserCookies(userId)` ends every cookie of that user
   * issued until then, checked against `store` (any sessionkit or express-session store).
   */
  revocation?: RevocationOptions;
}

const DEFAULT_MAX_SIZE = 8192;
const DEFAULT_TTL = 24 * 60 * 60 * 1000;

/** Everything fixed at setup, shared by every request. */
export interface Settings {
  name: string;
  keys: SealKeys;
  /** Binds a seal to this cookie name: a seal moved to another cookie does not open. */
  aad: Buffer;
  cookie: CookieSetting;
  proxy: boolean | undefined;
  policy: Policy;
  maxSize: number;
  ttl: number;
  absoluteTimeout: number | undefined;
  idleTimeout: number | undefined;
  devices: DevicesOption | undefined;
  /** Whether new seals carry the meta (created, seen, device): only when a feature needs it. */
  withMeta: boolean;
  /** The middleware's events (one hub per cookieSession()). */
  hub: SessionEventHub;
  revocation: Revocation | undefined;
}

/** session()'s options that mean nothing without a store, refused rather than silently ignored. */
const MEANINGLESS = ['store', 'resave', 'genid', 'unset', 'touchAfter', 'key', 'answerAfterSave'] as const;
const WHY: Partial<Record<(typeof MEANINGLESS)[number], string>> = {
  store: 'a sealed session travels in the cookie; use session({ store }) for a server-side one',
  resave: 'a sealed session is written when it changed (or on every response with rolling)',
  genid: 'sealed sessions get their ID from the cookie itself',
  key: "use name (the cookie's name)",
  touchAfter: 'there is no store to touch; rolling reseals on every response',
};

export function resolveOptions(options: CookieSessionOptions): Settings {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('cookieSession options must be an object with a secret');
  }
  const { secret, name, cookie, proxy, rolling, saveUninitialized, maxSize, ttl, absoluteTimeout, idleTimeout, devices } = options;
  for (const key of MEANINGLESS) {
    if ((options as unknown as Record<string, unknown>)[key] !== undefined) {
      throw new TypeError(`cookieSession has no ${key} option: ${WHY[key] ?? 'a sealed session keeps nothing on the server'}`);
    }
  }
  // The options shared with session() are checked by the same rules (resave is given only to keep it quiet).
  validateOptions({ name, cookie, proxy, rolling, saveUninitialized: Boolean(saveUninitialized), resave: false }, true);
  if (maxSize !== undefined && !(Number.isInteger(maxSize) && maxSize > 0)) {
    throw new TypeError(`maxSize option must be a whole number of bytes; got ${String(maxSize)}`);
  }
  // Every header of a request must fit the server's limit together (Node's maxHeaderSize, 16 KB by
  // default): a session larger than that could be sealed, but no request would bring it back.
  if (maxSize !== undefined && maxSize > maxHeaderSize) {
    throw new TypeError(
      `maxSize option must be at most ${maxHeaderSize} bytes, the most this server accepts in all of a request's headers ` +
        `(Node's maxHeaderSize); got ${maxSize}`,
    );
  }
  if (ttl !== undefined && !(typeof ttl === 'number' && ttl > 0 && Number.isFinite(ttl))) {
    throw new TypeError(`ttl option must be a number of milliseconds above 0; got ${String(ttl)}`);
  }
  checkDuration('absoluteTimeout', absoluteTimeout);
  checkDuration('idleTimeout', idleTimeout);
  if (devices !== undefined && typeof devices !== 'boolean' && (devices === null || typeof devices !== 'object')) {
    throw new TypeError(`devices option must be true, false or { userAgent?, ip? }; got ${String(devices)}`);
  }
  const cookieName = name ?? 'session';
  const resolvedTtl = ttl ?? DEFAULT_TTL;
  const revocation = options.revocation === undefined
    ? undefined
    : new Revocation(options.revocation, longestSeal(cookie, resolvedTtl, absoluteTimeout));
  return {
    name: cookieName,
    keys: new SealKeys(secret),
    aad: Buffer.from(`sessionkit/cookie:${cookieName}`),
    cookie: cookie ?? {},
    proxy,
    policy: { saveUninitialized: Boolean(saveUninitialized), rolling: Boolean(rolling) },
    maxSize: maxSize ?? DEFAULT_MAX_SIZE,
    ttl: resolvedTtl,
    absoluteTimeout,
    idleTimeout,
    devices,
    withMeta: absoluteTimeout !== undefined || idleTimeout !== undefined || Boolean(devices) || revocation !== undefined,
    hub: new SessionEventHub(),
    revocation,
  };
}

/**
 * How long a seal written now may stay valid, as far as the options tell: `ttl`, or the
 * cookie's `maxAge` (or `expires`) when the option is an object, never beyond the absolute
 * timeout. A longer seal written later (a cookie function, a session's own maxAge) raises it
 * in the revocation as it is sealed.
 */
function longestSeal(cookie: CookieSetting | undefined, ttl: number, absoluteTimeout: number | undefined): () => number {
  return () => {
    let longest = ttl;
    if (cookie && typeof cookie === 'object') {
      if (typeof cookie.maxAge === 'number' && Number.isFinite(cookie.maxAge)) longest = Math.max(longest, cookie.maxAge);
      if (cookie.expires instanceof Date) longest = Math.max(longest, cookie.expires.getTime() - Date.now());
    }
    return absoluteTimeout === undefined ? longest : Math.min(longest, absoluteTimeout);
  };
}
