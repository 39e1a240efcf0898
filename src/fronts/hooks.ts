import type { IncomingHttpHeaders } from 'node:http';
import type { KeyObject } from 'node:crypto';
import type { RequestSession, SessionResponse } from '../core/lifecycle.js';
import { validateOptions, type SessionOptions } from '../core/options.js';
import { sessionCookieOptions, type SessionRequest } from '../core/request.js';
import { Session, type SessionData } from '../core/session.js';
import { toKeys } from '../core/signature.js';
import type { StoreContract } from '../core/store.js';
import { SecretRequiredError } from '../errors.js';
import { SessionEventHub, type SessionEventSource } from '../core/events.js';
import { storeConnection, StoreLifecycle, storeSettings } from '../persist/store.js';
import { MemoryStore, warnIfUnboundedInProduction } from '../stores/memory.js';
import { resolveOptions, type CookieSessionOptions } from '../cookie-session/options.js';
import { SealedLifecycle } from '../cookie-session/request.js';

/**
 * The options of every framework front: `session()`'s (a store-backed session, the signed ID in
 * the cookie), or `cookieSession()`'s with `sealed: true` (the whole session sealed in the cookie).
 * Unlike `session()` under Express, `secret` is required: no cookie parser lends one.
 */
export type FrontOptions = (SessionOptions & { sealed?: false }) | (CookieSessionOptions & { sealed: true });

/** `req.session` as a front hands it to the handler: the data, typed by `SessionData`, and the methods. */
export type SessionObject = Session & Partial<SessionData> & { cookie: SessionData['cookie'] };

/** What a front needs of the request it wraps. */
export interface FrontRequest {
  headers: IncomingHttpHeaders;
  /** The path and query the request arrived with (the cookie's `path` is matched against it). */
  url: string;
  socket?: unknown;
  /** The request arrived over HTTPS, as the framework judges it (its own proxy trust). */
  secure: boolean;
}

type Begin = (req: SessionRequest, res: SessionResponse, report: (err: unknown) => void) => RequestSession | undefined;

/**
 * One app's session setup, made once from the options: which kind, its settings, its keys. Each
 * request then gets a {@link FrontSession} from it.
 */
export class SessionKind {
  private readonly begin: Begin;
  /**
   * The events of this setup's sessions (`created`, `regenerated`, `destroyed`, `expired`,
   * `conflict`): `on`, `once` and `off`.
   */
  readonly events: SessionEventSource;

  /** `hub`: where the events go, when the front shares one between setups. */
  constructor(options: FrontOptions, readonly hub = new SessionEventHub()) {
    if (options === null || typeof options !== 'object') throw new TypeError('session options must be an object with a secret');
    this.begin = options.sealed === true ? sealedKind(options) : storeKind(options, hub);
    this.events = hub.attach({});
  }

  /**
   * Opens the request's session: the one its cookie names, or a new one. Undefined when the
   * request gets none (outside the cookie's path, or the store is disconnected), as under session().
   */
  async open(request: FrontRequest, statusCode: () => number, report: (err: unknown) => void): Promise<FrontSession | undefined> {
    const req: SessionRequest = {
      headers: request.headers,
      url: request.url,
      originalUrl: request.url,
      socket: request.socket,
      secure: request.secure,
    };
    const cookies: { headers: string[] } = { headers: [] };
    const res: SessionResponse = {
      headersSent: false,
      get statusCode() {
        return statusCode();
      },
      setCookies(headers) {
        cookies.headers = headers;
      },
    };
    const life = this.begin(req, res, report);
    if (!life) return undefined;
    await new Promise<void>((resolve, reject) => life.open((err) => (err ? reject(err) : resolve())));
    return new FrontSession(req, life, cookies);
  }
}

function storeKind(options: SessionOptions, hub: SessionEventHub): Begin {
  const opts = validateOptions(options);
  const keys = toKeys(opts.secret);
  if (!keys) throw new SecretRequiredError();
  const store = (opts.store || new MemoryStore()) as StoreContract;
  warnIfUnboundedInProduction(store);
  const settings = storeSettings(opts, store, hub);
  const storeReady = storeConnection(store);
  return (req, res, report) => {
    if (!storeReady()) return undefined;
    const cookieOptions = sessionCookieOptions(req, settings.cookie);
    if (!cookieOptions) return undefined;
    return new StoreLifecycle(settings, req, res, keys as KeyObject[], cookieOptions, report);
  };
}

function sealedKind(options: CookieSessionOptions): Begin {
  const settings = resolveOptions(options);
  return (req, res, report) => {
    const cookieOptions = sessionCookieOptions(req, settings.cookie);
    if (!cookieOptions) return undefined;
    return new SealedLifecycle(settings, req, res, cookieOptions, report);
  };
}

/** One request's session, as a front drives it: the handler runs between `open` and `commit`. */
export class FrontSession {
  /**
   * Always `req.session` as it is now: regenerate() and reload() put a new object there, and a
   * front that hands out one value for the whole request (Hono's `c.var`, the web front) hands
   * out this instead. Undefined once the session is destroyed.
   */
  readonly view: SessionObject;
  private committed: Promise<string[]> | undefined = undefined;

  constructor(
    readonly req: SessionRequest,
    private readonly life: RequestSession,
    private readonly cookies: { headers: string[] },
  ) {
    this.view = followSession(req);
  }

  /** req.session itself. */
  get session(): SessionObject | null | undefined {
    return this.req.session as SessionObject | null | undefined;
  }

  set session(value: unknown) {
    this.req.session = value as Session | null | undefined;
  }

  /**
   * The handler is done: saves, touches or destroys what the session calls for, and resolves,
   * once the store has answered, to the Set-Cookie values the response carries. Rejects when a
   * change the handler made was not stored (or a sealed session is too large): the response
   * must then be the framework's error response, without these cookies. Once per request.
   */
  commit(): Promise<string[]> {
    return (this.committed ??= this.run());
  }

  private run(): Promise<string[]> {
    const { life } = this;
    return new Promise<string[]>((resolve, reject) => {
      const answered = (err?: unknown) => {
        if (err) {
          reject(err);
          return;
        }
        life.sendCookies();
        resolve(this.cookies.headers);
      };
      // Nothing goes out before the store answers, so every hold is waited for whole: a failure
      // of what the handler did not change (a touch, a resave) is reported, not answered with.
      if (life.finish(answered) === false) answered();
    });
  }
}

/**
 * A stand-in for req.session that follows it: reads, writes and method calls reach the session
 * there now. `extras` are the front's own members (read-only, not session data).
 */
export function followSession<T extends object = object>(req: SessionRequest, extras?: T): SessionObject & T {
  const target = (): object => (req.session as object | null | undefined) ?? {};
  return new Proxy(Object.create(Session.prototype) as SessionObject & T, {
    get: (_t, key) => {
      if (extras && Object.prototype.hasOwnProperty.call(extras, key)) return (extras as Record<string | symbol, unknown>)[key];
      const sess = target();
      const value: unknown = Reflect.get(sess, key, sess);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(sess) : value;
    },
    set: (_t, key, value) => Reflect.set(target(), key, value),
    has: (_t, key) => Reflect.has(target(), key),
    deleteProperty: (_t, key) => Reflect.deleteProperty(target(), key),
    ownKeys: () => Reflect.ownKeys(target()),
    getOwnPropertyDescriptor: (_t, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(target(), key);
      // A proxy may not report a property its target lacks as non-configurable (id, req).
      if (descriptor) descriptor.configurable = true;
      return descriptor;
    },
    defineProperty: (_t, key, descriptor) => Reflect.defineProperty(target(), key, descriptor),
  });
}

/** A web-standard request's headers as Node has them (lower-case names), for the core. */
export function nodeHeaders(headers: Headers): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** What the core needs of a web-standard Request. */
export function webRequest(request: Request): FrontRequest {
  const url = new URL(request.url);
  return {
    headers: nodeHeaders(request.headers),
    url: url.pathname + url.search,
    secure: url.protocol === 'https:',
  };
}
