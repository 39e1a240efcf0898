import { maxHeaderSize } from 'node:http';
import type { Policy } from '../core/decide.js';
import type { CookieSetting } from '../core/request.js';
import { validateOptions } from '../core/options.js';
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
  const { secret, name, cookie, proxy, rolling, saveUninitialized, maxSize, ttl } = options;
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
  const cookieName = name ?? 'session';
  return {
    name: cookieName,
    keys: new SealKeys(secret),
    aad: Buffer.from(`sessionkit/cookie:${cookieName}`),
    cookie: cookie ?? {},
    proxy,
    policy: { saveUninitialized: Boolean(saveUninitialized), rolling: Boolean(rolling) },
    maxSize: maxSize ?? DEFAULT_MAX_SIZE,
    ttl: ttl ?? DEFAULT_TTL,
  };
}
