import type { CookieSetting, RequestFunction } from './request.js';
import type { CookieOptions } from './cookie.js';
import type { StoreContract } from './store.js';
import { checkDuration, type DevicesOption } from './meta.js';

/** The options of `session()`: express-session's, with the same names, defaults and meaning. */
export interface SessionOptions {
  /** Signs the session ID cookie. An array rotates secrets: the first signs, all verify. Defaults to `req.secret` (cookie-parser). */
  secret?: string | Buffer | Array<string | Buffer>;
  /** The cookie's name. Default `connect.sid`. */
  name?: string;
  /** @deprecated the old name of `name`. */
  key?: string;
  /** Where sessions are kept. Default: a new MemoryStore. */
  store?: StoreContract | object;
  /** The session ID cookie's attributes, or a function of the request that returns them. */
  cookie?: CookieSetting;
  /** Makes a new session ID (may return a Promise). Default: 24 random bytes, base64url. */
  genid?: RequestFunction<string | Promise<string>>;
  /** Trust X-Forwarded-Proto for `secure` cookies: true, false, or undefined to follow Express's `trust proxy`. */
  proxy?: boolean;
  /** Save the session at the end of every request, even when unmodified. Default true (set it explicitly). */
  resave?: boolean;
  /** Send the cookie (renewing its expiry) on every response. Default false. */
  rolling?: boolean;
  /** Save new sessions that were not modified. Default true (set it explicitly). */
  saveUninitialized?: boolean;
  /** What happens when `req.session` is deleted or set to null: `'keep'` (default) or `'destroy'`. */
  unset?: 'destroy' | 'keep';
  /** Seconds: an unmodified session is touched in its store at most once per this period. Default 0 (every request). */
  touchAfter?: number;
  /**
   * Whether a response waits, head included, for the store to take the session change its
   * handler made (a write, a login, `regenerate()`, `destroy()`, `unset: 'destroy'`), and becomes
   * the app's error response (through `next(err)`) when the store fails. `false`: as
   * express-session, the response goes out and the error reaches `next(err)` afterwards. Default true.
   */
  answerAfterSave?: boolean;
  /**
   * Milliseconds: a session ends this long after it was created, however active it is. Read
   * from the stored record's meta, so nothing the client sends extends it. Default: none.
   */
  absoluteTimeout?: number;
  /** Milliseconds: a session ends when no request came with it for this long. Default: none. */
  idleTimeout?: number;
  /**
   * Milliseconds: a session older than this (since its creation or last rotation) gets a new ID
   * on its next request, its data kept; the old ID serves for `rotateGrace` more. Default: none.
   */
  rotateEvery?: number;
  /** Milliseconds the old ID of a rotated session still serves (requests already under way). Default 10000. */
  rotateGrace?: number;
  /**
   * Record each session's device in its meta, for the stores' `listUserSessions`: `true`, or
   * `{ userAgent, ip }` to pick (the IP follows X-Forwarded-For with `proxy: true`). Default false.
   */
  devices?: DevicesOption;
}

const SAME_SITE = [true, false, 'lax', 'strict', 'none', 'auto'];
const PRIORITY = ['low', 'medium', 'high'];

function fail(option: string, accepted: string, value: unknown): never {
  let shown: string;
  try {
    shown = typeof value === 'function' ? 'a function' : JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  throw new TypeError(`${option} option must be ${accepted}; got ${shown}`);
}

function checkBoolean(options: Record<string, unknown>, key: string, prefix = ''): void {
  const value = options[key];
  if (value !== undefined && typeof value !== 'boolean') fail(prefix + key, 'true or false', value);
}

/** Each warning once per place in the app's code that set the middleware up, as express-session's. */
const warned = new Set<string>();

function warn(message: string, type: 'DeprecationWarning' | 'Warning', code: string): void {
  const at = appCaller();
  const key = `${code} ${at}`;
  if (warned.has(key)) return;
  warned.add(key);
  process.emitWarning(at ? `${message} (at ${at})` : message, { type, code });
}

/**
 * Where the app called into sessionkit: the first frame of the stack outside this package's
 * own folder (`src/` or `dist/`), as file:line:column.
 */
function appCaller(): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1).map((line) => /\(?([^\s()]+):(\d+):(\d+)\)?$/.exec(line.trim()));
  const own = frames[0]?.[1] ?? '';
  const cut = Math.max(own.lastIndexOf('/src/'), own.lastIndexOf('/dist/'));
  const root = cut >= 0 ? own.slice(0, cut + 1) : own;
  for (const frame of frames) {
    if (!frame) continue;
    const file = frame[1]!;
    if (file.startsWith('node:') || file.startsWith(root + 'src/') || file.startsWith(root + 'dist/') || file === own) continue;
    return `${file.replace(/^file:\/\//, '')}:${frame[2]}:${frame[3]}`;
  }
  return '';
}

/** Checks the options once, at setup: a bad option throws naming it and the accepted values. */
export function validateOptions(options: SessionOptions, sealed = false): SessionOptions {
  if (options === null || typeof options !== 'object') fail('session', 'an object', options);
  const o = options as Record<string, unknown>;
  // As in express-session (`opts.genid || default`), a falsy genid, name, store, cookie or
  // unset means the default, so configurations like `store: useRedis ? redis : null` keep working.
  if (o.genid && typeof o.genid !== 'function') {
    throw new TypeError('genid option must be a function');
  }
  if (o.unset && o.unset !== 'destroy' && o.unset !== 'keep') {
    throw new TypeError('unset option must be "destroy" or "keep"');
  }
  for (const key of ['resave', 'rolling', 'saveUninitialized', 'proxy', 'answerAfterSave']) checkBoolean(o, key);
  for (const key of ['name', 'key']) {
    const value = o[key];
    if (value && (typeof value !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value))) {
      fail(key, 'a non-empty cookie name (letters, digits and !#$%&\'*+-.^_`|~)', value);
    }
  }
  const store = o.store as Record<string, unknown> | undefined;
  if (store) {
    const ok = store && typeof store === 'object' &&
      ['get', 'set', 'destroy', 'on'].every((m) => typeof store[m] === 'function');
    if (!ok) fail('store', 'a session store with get, set, destroy and on methods', store);
  }
  if (o.touchAfter !== undefined && !(typeof o.touchAfter === 'number' && o.touchAfter >= 0 && Number.isFinite(o.touchAfter))) {
    fail('touchAfter', 'a number of seconds, 0 or more', o.touchAfter);
  }
  for (const key of ['absoluteTimeout', 'idleTimeout', 'rotateEvery', 'rotateGrace']) checkDuration(key, o[key]);
  const devices = o.devices;
  if (devices !== undefined && typeof devices !== 'boolean') {
    if (typeof devices !== 'object' || devices === null) fail('devices', 'true, false or { userAgent?, ip? }', devices);
    for (const key of Object.keys(devices)) {
      if (key !== 'userAgent' && key !== 'ip') fail('devices', 'true, false or { userAgent?, ip? }', devices);
      checkBoolean(devices as Record<string, unknown>, key, 'devices.');
    }
  }
  if (o.cookie && typeof o.cookie !== 'function') {
    if (typeof o.cookie !== 'object') fail('cookie', 'an object or a function of the request', o.cookie);
    validateCookieOptions(o.cookie as CookieOptions);
  }
  if (!sealed) checkSecret(o.secret);
  if (o.resave === undefined) {
    warn('sessionkit deprecated undefined resave option; provide resave option', 'DeprecationWarning', 'SESSIONKIT_RESAVE');
  }
  if (o.saveUninitialized === undefined) {
    warn(
      'sessionkit deprecated undefined saveUninitialized option; provide saveUninitialized option',
      'DeprecationWarning',
      'SESSIONKIT_SAVE_UNINITIALIZED',
    );
  }
  return options;
}

/**
 * An empty secret is a mistake (an unset variable read as ''), refused at once. No secret at all
 * is allowed, as in express-session, for cookie-parser's `req.secret`; but then every request of
 * an app without cookie-parser fails, so it is said at startup, with the fix.
 */
function checkSecret(secret: unknown): void {
  if (secret === '') {
    throw new TypeError("secret option must not be empty; got ''. Set it, e.g. session({ secret: process.env.SESSION_SECRET }), and make sure that variable is set");
  }
  if (secret === undefined || secret === null) {
    warn(
      'sessionkit: no secret option. Unless cookie-parser runs first with a secret (req.secret), every request will ' +
        "fail with 'secret option required for sessions'. Pass one: session({ secret: process.env.SESSION_SECRET, ... }), " +
        'with that variable set to a long random string',
      'Warning',
      'SESSIONKIT_NO_SECRET',
    );
  }
}

function validateCookieOptions(c: CookieOptions): void {
  if (c.maxAge !== undefined && c.maxAge !== null && !(typeof c.maxAge === 'number' && !Number.isNaN(c.maxAge))) {
    fail('cookie.maxAge', 'a number of milliseconds or null', c.maxAge);
  }
  if (c.expires !== undefined && c.expires !== null && !(c.expires instanceof Date && !Number.isNaN(c.expires.getTime()))) {
    fail('cookie.expires', 'a valid Date', c.expires);
  }
  if (c.path !== undefined && typeof c.path !== 'string') fail('cookie.path', 'a string', c.path);
  if (c.domain !== undefined && typeof c.domain !== 'string') fail('cookie.domain', 'a string', c.domain);
  for (const key of ['httpOnly', 'partitioned']) checkBoolean(c, key, 'cookie.');
  if (c.secure !== undefined && typeof c.secure !== 'boolean' && c.secure !== 'auto') {
    fail('cookie.secure', "true, false or 'auto'", c.secure);
  }
  if (c.sameSite !== undefined && !SAME_SITE.includes(typeof c.sameSite === 'string' ? c.sameSite.toLowerCase() : c.sameSite as never)) {
    fail('cookie.sameSite', "true, false, 'lax', 'strict', 'none' or 'auto'", c.sameSite);
  }
  if (c.priority !== undefined && !PRIORITY.includes(String(c.priority).toLowerCase())) {
    fail('cookie.priority', "'low', 'medium' or 'high'", c.priority);
  }
}
