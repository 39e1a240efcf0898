import { serialize } from 'cookie';

export type SameSite = boolean | 'lax' | 'strict' | 'none';

/** The `cookie` option: the attributes of the session ID cookie. */
export interface CookieOptions {
  /** Milliseconds until the cookie expires; `null` (default) makes a browser-session cookie. */
  maxAge?: number | null;
  expires?: Date | null;
  path?: string;
  domain?: string;
  httpOnly?: boolean;
  /** `'auto'` sets `Secure` when the request arrived over HTTPS (see the `proxy` option). */
  secure?: boolean | 'auto';
  /** `'auto'` is `'none'` over HTTPS and `'lax'` otherwise. */
  sameSite?: SameSite | 'auto';
  partitioned?: boolean;
  priority?: 'low' | 'medium' | 'high';
  [key: string]: unknown;
}

/** The cookie as stored in a session record (`record.cookie`). */
export interface CookieData {
  originalMaxAge: number | null | undefined;
  partitioned?: boolean;
  priority?: 'low' | 'medium' | 'high';
  expires?: Date | string | null;
  secure?: boolean;
  httpOnly?: boolean;
  domain?: string;
  path?: string;
  sameSite?: SameSite;
}

/**
 * The session ID cookie: same properties, accessors and stored form as express-session's,
 * so records move between the two libraries unchanged.
 */
export class Cookie {
  declare path: string;
  declare httpOnly: boolean;
  declare originalMaxAge: number | null | undefined;
  declare _expires: Date | null | undefined;
  declare secure: boolean | 'auto' | undefined;
  declare domain: string | undefined;
  declare sameSite: SameSite | 'auto' | undefined;
  declare partitioned: boolean | undefined;
  declare priority: 'low' | 'medium' | 'high' | undefined;
  [key: string]: unknown;

  constructor(options?: CookieOptions | CookieData | null) {
    this.path = '/';
    this.maxAge = null;
    this.httpOnly = true;
    if (options) {
      if (typeof options !== 'object') {
        throw new TypeError('argument options must be a object');
      }
      for (const key in options) {
        // A stored cookie is parsed JSON, where `__proto__` can be an own key: copying it would
        // replace this cookie's prototype.
        if (key !== 'data' && key !== '__proto__') this[key] = (options as Record<string, unknown>)[key];
      }
    }
    if (this.originalMaxAge === undefined || this.originalMaxAge === null) {
      this.originalMaxAge = this.maxAge;
    }
  }

  set expires(date: Date | null | undefined) {
    this._expires = date;
    this.originalMaxAge = this.maxAge;
  }

  get expires(): Date | null | undefined {
    return this._expires;
  }

  /** Milliseconds left until expiry (a number that counts down), or null. */
  set maxAge(ms: number | Date | null | undefined) {
    if (ms && typeof ms !== 'number' && !(ms instanceof Date)) {
      throw new TypeError('maxAge must be a number or Date');
    }
    this.expires = typeof ms === 'number' ? new Date(Date.now() + ms) : (ms as Date | null | undefined);
  }

  get maxAge(): number | null | undefined {
    const expires = this._expires;
    return expires instanceof Date ? expires.valueOf() - Date.now() : (expires as null | undefined);
  }

  get data(): CookieData {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this._expires,
      secure: this.secure as boolean | undefined,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite as SameSite | undefined,
    };
  }

  serialize(name: string, value: string): string {
    const { domain, path, httpOnly, secure, partitioned, priority, sameSite } = this;
    if (!plain(domain) || !plain(path) || !plain(httpOnly) || !plain(secure) || !plain(partitioned) || !plain(priority) || !plain(sameSite)) {
      return serialize(name, value, this.data as Parameters<typeof serialize>[2]);
    }
    // The parts before and after the expiry are the same on every response of a session: made
    // by the cookie package once (which throws for what it cannot send), then reused.
    const key = JSON.stringify([name, value, domain, path, httpOnly, secure, partitioned, priority, sameSite]);
    const expires = this._expires;
    let parts = serialized.get(key);
    if (parts === undefined) {
      // Checked in the cookie package's order, so a cookie with several bad attributes fails as there.
      const head = serialize(name, value, { domain, path });
      checkExpires(expires);
      const tail = serialize('a', 'b', { httpOnly, secure, partitioned, priority, sameSite } as Parameters<typeof serialize>[2]).slice(3);
      parts = [head, tail];
      if (serialized.size >= SERIALIZED_MAX) serialized.delete(serialized.keys().next().value!);
      serialized.set(key, parts);
    } else {
      checkExpires(expires);
    }
    if (!expires) return parts[0] + parts[1];
    return parts[0] + '; Expires=' + expires.toUTCString() + parts[1];
  }

  toJSON(): CookieData {
    return this.data;
  }
}

/** How many serialized cookies are kept, as the text before their expiry and the text after it. */
const SERIALIZED_MAX = 4096;
const serialized = new Map<string, [string, string]>();

/** The cookie package's check of `expires`: a valid Date when set. */
function checkExpires(expires: unknown): void {
  if (expires && (Object.prototype.toString.call(expires) !== '[object Date]' || Number.isNaN((expires as Date).valueOf()))) {
    throw new TypeError('option expires is invalid');
  }
}

/** An attribute whose text as a cache key says all the cookie package makes of it. */
function plain(value: unknown): boolean {
  return value === undefined || typeof value === 'boolean' || typeof value === 'string';
}

/** Revives a stored cookie as express-session does: `expires` back to a Date, `originalMaxAge` kept. */
export function reviveCookie(stored: CookieData): Cookie {
  const expires = stored.expires;
  const originalMaxAge = stored.originalMaxAge;
  // Checked once here: a non-numeric originalMaxAge would make every touch throw, and an
  // unreadable expiry would make a session that never expires.
  if (originalMaxAge !== undefined && originalMaxAge !== null && typeof originalMaxAge !== 'number') {
    throw new TypeError('stored cookie.originalMaxAge must be a number or null');
  }
  const date = typeof expires === 'string' ? new Date(expires) : expires;
  if (date !== undefined && date !== null && !(date instanceof Date && !Number.isNaN(date.getTime()))) {
    throw new TypeError('stored cookie.expires must be a date or null');
  }
  const unsendable = unsendableAttribute(stored);
  if (unsendable) throw new TypeError(`stored cookie.${unsendable} cannot be sent in a Set-Cookie header`);
  const cookie = new Cookie(stored);
  if (typeof expires === 'string') cookie.expires = date;
  cookie.originalMaxAge = originalMaxAge;
  return cookie;
}

// What the Set-Cookie serializer accepts (the cookie package's own rules): a stored cookie with
// anything else is no session, found at load, rather than a response that fails at its head.
const DOMAIN = /^([.]?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const PATH = /^[\u0020-\u003A\u003D-\u007E]*$/;
const SAME_SITE = new Set(['lax', 'strict', 'none']);
const PRIORITY = new Set(['low', 'medium', 'high']);
/** The largest time a Date holds, in ms since the epoch. */
const MAX_DATE_MS = 8.64e15;

/** The first attribute of a stored cookie that could not be serialized, if any. */
function unsendableAttribute(c: CookieData): string | undefined {
  // A touch sets expires to now + originalMaxAge: past the last date a Date can hold, no header carries it.
  if (typeof c.originalMaxAge === 'number' && !(Math.abs(Date.now() + c.originalMaxAge) <= MAX_DATE_MS)) return 'originalMaxAge';
  if (c.domain && !(typeof c.domain === 'string' && DOMAIN.test(c.domain))) return 'domain';
  if (c.path && !(typeof c.path === 'string' && PATH.test(c.path))) return 'path';
  const sameSite = c.sameSite as unknown;
  if (sameSite && sameSite !== true && !(typeof sameSite === 'string' && SAME_SITE.has(sameSite.toLowerCase()))) return 'sameSite';
  const priority = c.priority as unknown;
  if (priority && !(typeof priority === 'string' && PRIORITY.has(priority.toLowerCase()))) return 'priority';
  return undefined;
}
