import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject,
} from 'node:crypto';
import { parse as parseCookieHeader, serialize } from 'cookie';
import onHeaders from 'on-headers';
import { isSafeKey, sameSnapshot, snapshot, type Snapshot } from './changes.js';
import { Cookie, cookieOptionsFor, isSecure, type CookieOptions } from './cookie.js';
import { shouldSave, shouldSetCookie, type Policy, type SessionState } from './decide.js';
import { validateOptions } from './options.js';
import { createSession, kLifecycle, Session, type SessionData, type SessionLifecycle } from './session.js';
import { toKeys } from './signature.js';

export type { CookieOptions, SessionData };
export { Session };

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
  cookie?: CookieOptions | ((req: any) => CookieOptions);
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

/** What `save()` rejects with (and the request fails with) when the sealed session exceeds `maxSize`. */
export class SessionTooLargeError extends Error {
  readonly code = 'ESESSIONTOOLARGE';
  constructor(readonly size: number, readonly maxSize: number) {
    super(
      `sessionkit/cookie: the sealed session needs ${size} bytes of cookies, over maxSize (${maxSize} bytes); ` +
        'keep less in the session or raise maxSize',
    );
    this.name = 'SessionTooLargeError';
  }
}

type Req = IncomingMessage & {
  session?: Session | null;
  sessionID?: string;
  secure?: boolean;
  originalUrl?: string;
  [kLifecycle]?: SessionLifecycle;
};
type Res = ServerResponse;
type Next = (err?: unknown) => void;

const DEFAULT_MAX_SIZE = 8192;
const DEFAULT_TTL = 24 * 60 * 60 * 1000;
/** What browsers keep of one cookie: RFC 6265's minimum, counted here over the whole Set-Cookie value. */
const MAX_COOKIE_BYTES = 4096;
/** The chunk count is written as one or two digits in the first cookie. */
const MAX_CHUNKS = 99;

// The seal: version byte, key day (uint16), 96-bit random IV, AES-256-GCM ciphertext, 128-bit tag, in base64url.
const SEAL_VERSION = 1;
const DAY_BYTES = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + DAY_BYTES + IV_BYTES;
const DAY_MS = 24 * 60 * 60 * 1000;
const HKDF_SALT = Buffer.from('sessionkit/cookie');
/** Day keys kept at once: today's and those of the older seals still coming in, per secret. */
const MAX_CACHED_KEYS = 64;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const CHUNK_INDEX = /^[1-9][0-9]?$/;
const FIRST_CHUNK = /^([1-9][0-9]?)\.([A-Za-z0-9_-]*)$/;

/** Everything fixed at setup, shared by every request. */
interface Settings {
  name: string;
  keys: SealKeys;
  /** Binds a seal to this cookie name: a seal moved to another cookie does not open. */
  aad: Buffer;
  cookie: CookieOptions | ((req: any) => CookieOptions);
  proxy: boolean | undefined;
  policy: Policy;
  maxSize: number;
  ttl: number;
}

/** What the seal holds: the session ID, the expiry the server enforces (ms since epoch), the session. */
interface Sealed {
  i: string;
  e: number;
  s: Record<string, any>;
}

/** The snapshot that decides whether a session changed: its data, and its cookie's options except the expiry. */
interface Fingerprint {
  data: Snapshot;
  cookie: string;
}

/**
 * Cookie-only sessions: `app.use(cookieSession({ secret }))`. The whole session travels in
 * the cookie, encrypted and authenticated, with the same `req.session` as `session()`.
 */
export function cookieSession(options: CookieSessionOptions): (req: any, res: any, next: Next) => void {
  const settings = resolveOptions(options);

  return function cookieSessionMiddleware(req: Req, res: Res, next: Next): void {
    if (req.session) {
      next();
      return;
    }
    const cookieOptions = cookieOptionsFor(req, settings.cookie);
    if (!cookieOptions) {
      next();
      return;
    }
    new CookieRequestSession(settings, req, res, next, cookieOptions).start();
  };
}

function resolveOptions(options: CookieSessionOptions): Settings {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('cookieSession options must be an object with a secret');
  }
  const { secret, name, cookie, proxy, rolling, saveUninitialized, maxSize, ttl } = options;
  // The options shared with session() are checked by the same rules (resave is given only to keep it quiet).
  validateOptions({ name, cookie, proxy, rolling, saveUninitialized: Boolean(saveUninitialized), resave: false });
  if (maxSize !== undefined && !(Number.isInteger(maxSize) && maxSize > 0)) {
    throw new TypeError(`maxSize option must be a whole number of bytes; got ${String(maxSize)}`);
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

/**
 * The AES-256 keys. Each secret gives a master key, derived once here; each master gives a
 * key per UTC day, derived on first use and kept. With random 96-bit IVs one AES-GCM key may
 * seal at most 2^32 times; a key per day keeps far below that at any traffic, where one key
 * per secret would reach it in weeks on a busy site with `rolling`.
 */
class SealKeys {
  private readonly masters: KeyObject[];
  private readonly cache = new Map<string, KeyObject>();

  constructor(secret: unknown) {
    if (secret === undefined || secret === null || secret === '') {
      throw new TypeError('cookieSession requires a secret option');
    }
    // HKDF does not stretch a weak secret, and anyone holding a cookie can test guesses offline.
    for (const s of Array.isArray(secret) ? secret : [secret]) {
      const length = typeof s === 'string' ? s.length : Buffer.isBuffer(s) ? s.length : -1;
      if (length >= 0 && length < 32) {
        throw new TypeError(
          'cookieSession secret must be at least 32 characters (or bytes) of randomness, ' +
            "for example crypto.randomBytes(32).toString('base64')",
        );
      }
    }
    const secrets = toKeys(secret);
    if (!secrets) throw new TypeError('cookieSession requires a secret option');
    this.masters = secrets.map((ikm) => derive(ikm, HKDF_SALT, 'master key v1'));
  }

  get count(): number {
    return this.masters.length;
  }

  key(index: number, day: number): KeyObject {
    const id = `${index}:${day}`;
    let key = this.cache.get(id);
    if (key) {
      // Most recently used last, so the oldest is the one dropped.
      this.cache.delete(id);
    } else {
      key = derive(this.masters[index]!, Buffer.alloc(0), `aes-256-gcm day ${day}`);
      if (this.cache.size >= MAX_CACHED_KEYS) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(id, key);
    return key;
  }
}

function derive(ikm: KeyObject, salt: Buffer, info: string): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', ikm, salt, info, 32)));
}

function today(): number {
  return Math.floor(Date.now() / DAY_MS);
}

function seal(plaintext: string, keys: SealKeys, aad: Buffer): string {
  const day = today();
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = SEAL_VERSION;
  header.writeUInt16BE(day, 1);
  randomBytes(IV_BYTES).copy(header, 1 + DAY_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.key(0, day), header.subarray(1 + DAY_BYTES));
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]).toString('base64url');
}

/** The plaintext and the index of the secret that opened it, or undefined for anything else. */
function unseal(sealed: string, keys: SealKeys, aad: Buffer): { text: string; keyIndex: number } | undefined {
  if (!BASE64URL.test(sealed)) return undefined;
  const bytes = Buffer.from(sealed, 'base64url');
  // Only the canonical encoding: otherwise the spare low bits of the last character could change unnoticed.
  if (bytes.toString('base64url') !== sealed) return undefined;
  if (bytes.length < HEADER_BYTES + TAG_BYTES || bytes[0] !== SEAL_VERSION) return undefined;
  const day = bytes.readUInt16BE(1);
  // No key is derived for a day that has not come (a day later allows for clocks a little ahead).
  if (day > today() + 1) return undefined;
  const iv = bytes.subarray(1 + DAY_BYTES, HEADER_BYTES);
  const body = bytes.subarray(HEADER_BYTES, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  for (let keyIndex = 0; keyIndex < keys.count; keyIndex++) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', keys.key(keyIndex, day), iv);
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      const text = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      return { text, keyIndex };
    } catch {
      // Not this secret (or not a seal at all): try the next one.
    }
  }
  return undefined;
}

function parseSealed(text: string): Sealed | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const v = value as Partial<Sealed> | null;
  if (!v || typeof v.i !== 'string' || typeof v.e !== 'number' || !v.s || typeof v.s !== 'object') return undefined;
  if (!v.s.cookie || typeof v.s.cookie !== 'object') return undefined;
  const record: Record<string, any> = {};
  for (const key of Object.keys(v.s)) {
    if (isSafeKey(key)) record[key] = v.s[key];
  }
  return { i: v.i, e: v.e, s: record };
}

function chunkName(name: string, index: number): string {
  return index === 0 ? name : `${name}.${index}`;
}

/**
 * Splits a sealed value over numbered cookies, each Set-Cookie (attributes included) at most
 * 4096 bytes. The first cookie's value starts with the count, so a missing or stale chunk
 * is noticed instead of being joined in. Beyond 99 cookies the size is reported as Infinity.
 */
function splitIntoCookies(name: string, sealed: string, cookie: Cookie): { headers: string[]; size: number } {
  const room: number[] = [];
  let total = 0;
  for (let count = 1; ; count++) {
    if (count > MAX_CHUNKS) return { headers: [], size: Infinity };
    const space = MAX_COOKIE_BYTES - cookie.serialize(chunkName(name, count - 1), '').length;
    if (space < 64) throw new Error('sessionkit/cookie: the cookie attributes leave no room for the session');
    room.push(space);
    total += space;
    const prefix = `${count}.`;
    if (total - prefix.length >= sealed.length) {
      room[0]! -= prefix.length;
      break;
    }
  }
  const headers: string[] = [];
  let size = 0;
  let offset = 0;
  for (let index = 0; index < room.length; index++) {
    let value = sealed.slice(offset, offset + room[index]!);
    offset += value.length;
    if (index === 0) value = `${room.length}.${value}`;
    const cookieName = chunkName(name, index);
    headers.push(cookie.serialize(cookieName, value));
    size += (index === 0 ? 0 : 2) + cookieName.length + 1 + value.length;
  }
  return { headers, size };
}

/** A Set-Cookie that makes the browser drop one of the session's cookies. */
function clearingCookie(name: string, index: number, cookie: Cookie | undefined): string {
  const data = cookie?.data;
  return serialize(chunkName(name, index), '', {
    path: data?.path ?? '/',
    domain: data?.domain,
    secure: data?.secure,
    httpOnly: data?.httpOnly,
    sameSite: data?.sameSite,
    partitioned: data?.partitioned,
    expires: new Date(0),
  });
}

/** A cookie session's save and its Set-Cookie are one act: written when changed, or on every response with `rolling`. */
function shouldWrite(state: SessionState, policy: Policy): boolean {
  return shouldSave(state, policy) || (policy.rolling && shouldSetCookie(state, policy, false));
}

function fingerprint(sess: Session): Fingerprint {
  const c = sess.cookie;
  // maxAge in whole seconds: Cookie's arithmetic can lose a millisecond of it on each touch.
  const maxAge = typeof c?.originalMaxAge === 'number' ? Math.round(c.originalMaxAge / 1000) : c?.originalMaxAge;
  const cookie = c
    ? JSON.stringify([maxAge, c.path, c.domain, c.secure, c.httpOnly, c.sameSite, c.partitioned, c.priority])
    : '';
  return { data: snapshot(sess), cookie };
}

function sameFingerprint(a: Fingerprint | undefined, b: Fingerprint): boolean {
  return a !== undefined && a.cookie === b.cookie && sameSnapshot(a.data, b.data);
}

/** One request's session: open the cookie, run the handler, decide, seal into Set-Cookie. */
class CookieRequestSession implements SessionLifecycle {
  /** The chunk indexes of the session's cookies the request carried, to clear the ones a write leaves over. */
  private present: number[] = [];
  /** The ID the request's cookie opened to, if it opened. */
  private loadedId: string | undefined;
  private originalId: string | undefined;
  private original: Fingerprint | undefined;
  /** The session at its last write in this response (or at load). */
  private saved: Fingerprint | undefined;
  /** The sealed plaintext of the last write (or load): what reload() returns to. */
  private stored: string | undefined;
  /** The Set-Cookie values this middleware added to the response, replaced as a whole on each write. */
  private written: string[] = [];
  private wroteInResponse = false;
  /** The request's cookie was present but did not open: cleared unless a write replaces it. */
  private unreadable = false;
  /** The end-of-request decision ran (at res.end, or when the headers went out first). */
  private finished = false;
  /** The cookie of the latest session, for attributes when clearing after req.session is gone. */
  private lastCookie: Cookie | undefined;

  constructor(
    private readonly settings: Settings,
    private readonly req: Req,
    private readonly res: Res,
    private readonly next: Next,
    private readonly cookieOptions: CookieOptions,
  ) {}

  start(): void {
    const { req } = this;
    req[kLifecycle] = this;
    if (!this.open()) this.generate();
    this.hookResponse();
    this.next();
  }

  /** Reads and opens the session's cookies; false (and no session) for anything but a valid, unexpired seal. */
  private open(): boolean {
    const { name, keys, aad, maxSize } = this.settings;
    const header = this.req.headers.cookie;
    if (!header) return false;
    let cookies: Record<string, string | undefined>;
    try {
      cookies = parseCookieHeader(header);
    } catch {
      return false;
    }
    for (const key of Object.keys(cookies)) {
      if (key === name) this.present.push(0);
      else if (key.startsWith(name + '.') && CHUNK_INDEX.test(key.slice(name.length + 1))) {
        this.present.push(Number(key.slice(name.length + 1)));
      }
    }
    if (this.present.length === 0) return false;
    this.unreadable = true;
    const first = FIRST_CHUNK.exec(cookies[name] ?? '');
    if (!first) return false;
    const count = Number(first[1]);
    let sealed = first[2]!;
    for (let index = 1; index < count; index++) {
      const part = cookies[chunkName(name, index)];
      if (!part || sealed.length + part.length > maxSize) return false;
      sealed += part;
    }
    if (sealed.length > maxSize) return false;
    const opened = unseal(sealed, keys, aad);
    if (!opened) return false;
    const payload = parseSealed(opened.text);
    if (!payload || !(payload.e > Date.now())) return false;

    this.unreadable = false;
    this.req.sessionID = payload.i;
    const sess = createSession(this.req, payload.s as never);
    this.loadedId = this.originalId = payload.i;
    this.original = this.saved = fingerprint(sess);
    this.stored = opened.text;
    this.lastCookie = sess.cookie;
    return true;
  }

  /** A new, empty session with a new ID; a regenerated one keeps the original ID, so it counts as modified. */
  private generate(keepOriginal = false): void {
    const { req } = this;
    req.sessionID = randomBytes(24).toString('base64url');
    const sess = new Session(req);
    const cookie = new Cookie(this.cookieOptions);
    sess.cookie = cookie;
    if (this.cookieOptions.secure === 'auto' || this.cookieOptions.sameSite === 'auto') {
      const secure = isSecure(req, this.settings.proxy);
      if (this.cookieOptions.secure === 'auto') cookie.secure = secure;
      if (this.cookieOptions.sameSite === 'auto') cookie.sameSite = secure ? 'none' : 'lax';
    }
    req.session = sess;
    this.lastCookie = cookie;
    this.stored = undefined;
    if (!keepOriginal) {
      this.originalId = req.sessionID;
      this.original = fingerprint(sess);
    }
  }

  /**
   * Decides at `res.end`, while the status can still become an error, or when the headers
   * go out first (a streamed response), which is the last moment a cookie can be set.
   */
  private hookResponse(): void {
    const self = this;
    const { res } = this;
    const end = res.end as (...args: any[]) => any;
    res.end = function sessionEnd(this: Res, ...args: any[]): any {
      if (!self.finished && !res.headersSent) {
        self.finished = true;
        try {
          self.finish();
        } catch (err) {
          // The response is not sent: the app's error handler sends one instead, and no cookie changes.
          setImmediate(self.next, err);
          return res;
        }
      }
      return end.apply(this, args);
    } as Res['end'];
    onHeaders(res, () => {
      if (self.finished) return;
      self.finished = true;
      try {
        self.finish();
      } catch (err) {
        setImmediate(self.next, err);
      }
    });
  }

  private finish(): void {
    let sess = this.req.session;
    if (!sess) {
      this.clear();
      return;
    }
    if (!(sess instanceof Session)) sess = this.replaceWith(sess);
    const state = this.state(sess);
    if (shouldWrite(state, this.settings.policy) && !(this.wroteInResponse && state.saved)) {
      this.write(sess);
    } else if (this.unreadable && !this.wroteInResponse) {
      this.clear();
    }
  }

  /** `req.session = { ... }`, as apps written for cookie-session do: the object becomes the session's data. */
  private replaceWith(data: object): Session {
    const sess = new Session(this.req, data);
    const cookie = (data as { cookie?: unknown }).cookie;
    sess.cookie = cookie instanceof Cookie ? cookie : this.lastCookie ?? new Cookie(this.cookieOptions);
    this.req.session = sess;
    return sess;
  }

  private state(sess: Session): SessionState {
    const current = fingerprint(sess);
    const sameId = this.originalId === sess.id;
    return {
      idIsString: true,
      isNew: this.loadedId !== sess.id,
      modified: !sameId || !sameFingerprint(this.original, current),
      saved: sameId && sameFingerprint(this.saved, current),
      everSaved: this.saved !== undefined,
    };
  }

  /** Seals the session into the response's Set-Cookie headers, clearing chunks the browser no longer needs. */
  private write(sess: Session): void {
    const { name, keys, aad, maxSize, ttl, proxy } = this.settings;
    if (this.res.headersSent) {
      throw new Error('sessionkit/cookie: the session cannot be saved after the response headers were sent');
    }
    sess.touch();
    const cookie = sess.cookie;
    const expires = cookie.expires instanceof Date ? cookie.expires.getTime() : Date.now() + ttl;
    const text = JSON.stringify({ i: sess.id, e: expires, s: sess });
    const sealed = seal(text, keys, aad);
    const { headers, size } = splitIntoCookies(name, sealed, cookie);
    if (size > maxSize) throw new SessionTooLargeError(Number.isFinite(size) ? size : sealed.length, maxSize);
    for (const index of this.present) {
      if (index >= headers.length) headers.push(clearingCookie(name, index, cookie));
    }
    // As in session(): a Secure cookie is not sent over plain HTTP (the browser would refuse it).
    if (!cookie.secure || isSecure(this.req, proxy)) this.setCookies(headers);
    this.lastCookie = cookie;
    this.stored = text;
    this.saved = fingerprint(sess);
    this.wroteInResponse = true;
  }

  /** Clears every cookie of the session the browser has, and drops any this response was going to set. */
  private clear(): void {
    const { name } = this.settings;
    this.setCookies(this.present.map((index) => clearingCookie(name, index, this.lastCookie)));
    this.stored = undefined;
    this.saved = undefined;
    this.unreadable = false;
  }

  private setCookies(headers: string[]): void {
    const { res } = this;
    if (headers.length === 0 && this.written.length === 0) return;
    const prev = res.getHeader('Set-Cookie');
    const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
    const others = list.filter((header) => !this.written.includes(header));
    this.written = headers;
    res.setHeader('Set-Cookie', others.concat(headers));
  }

  private assertHeadersNotSent(action: string): void {
    if (this.res.headersSent) {
      throw new Error(`sessionkit/cookie: cannot ${action} the session after the response headers were sent`);
    }
  }

  // SessionLifecycle: what req.session's methods do during this request.

  async save(sess: Session): Promise<void> {
    this.write(sess);
  }

  async reload(_sess: Session): Promise<void> {
    const payload = this.stored === undefined ? undefined : parseSealed(this.stored);
    if (!payload) throw new Error('failed to load session');
    this.req.sessionID = payload.i;
    this.lastCookie = createSession(this.req, payload.s as never).cookie;
  }

  async regenerate(_sess: Session): Promise<void> {
    this.assertHeadersNotSent('regenerate');
    this.generate(true);
  }

  async destroy(_sess: Session): Promise<void> {
    this.assertHeadersNotSent('destroy');
    delete this.req.session;
    this.clear();
  }
}

// The same request properties as `sessionkit` declares, for apps that import only this entry.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The session: its data (typed by `SessionData`) and methods. */
      session: Session & Partial<SessionData>;
      /** The session's ID. */
      sessionID: string;
    }
  }
}
