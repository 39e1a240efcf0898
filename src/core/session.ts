import { call, settle, type Callback } from './callback.js';
import { Cookie, reviveCookie } from './cookie.js';
import type { SessionRequest } from './request.js';
import type { SessionRecord, StoreContract } from './store.js';
import { SessionNotFoundError } from '../errors.js';

/** The store as the session's own methods reach it outside a request: express-session's Store API. */
type Store = StoreContract & { regenerate(req: unknown, callback: Callback): void };

/**
 * Session data, typed by module augmentation:
 *
 *     declare module 'sessionkit' { interface SessionData { user?: { id: string } } }
 */
export interface SessionData {
  cookie: Cookie;
}

/** What `regenerate()` takes. */
export interface RegenerateOptions {
  /**
   * Keep the session's data (and its creation time) under the new ID: the old ID is destroyed
   * at once, before the new one is saved. For a login or a privilege change that keeps a cart.
   */
  keepData?: boolean;
}

/** What the middleware does for a session's methods while a request is in flight. */
export interface SessionLifecycle {
  save(session: Session): Promise<void>;
  reload(session: Session): Promise<void>;
  regenerate(session: Session, options?: RegenerateOptions): Promise<void>;
  destroy(session: Session): Promise<void>;
}

/** Where the middleware puts a request's lifecycle; the session methods find it there. */
export const kLifecycle = Symbol('sessionkit.lifecycle');


/**
 * `req.session`: the session data as own enumerable properties (plus `cookie`), with
 * `id` and `req` hidden, and the express-session methods. Each asynchronous method takes a
 * callback (and then returns the session, as express-session does) or returns a Promise.
 */
export class Session {
  declare readonly id: string;
  /** The request the session belongs to (hidden from `for...in` and JSON). */
  declare readonly req: SessionRequest;
  declare cookie: Cookie;

  /** `req`: the request the session belongs to (its `sessionID` becomes the session's `id`). */
  constructor(req: object, data?: object | null) {
    Object.defineProperty(this, 'req', { value: req });
    Object.defineProperty(this, 'id', { value: (req as SessionRequest).sessionID });
    if (typeof data === 'object' && data !== null) {
      for (const prop in data) {
        if (!(prop in this)) (this as Record<string, unknown>)[prop] = (data as Record<string, unknown>)[prop];
      }
    }
  }

  /** Resets the cookie's maxAge, extending the session; saved or touched at the end of the request. */
  touch(): this {
    return this.resetMaxAge();
  }

  resetMaxAge(): this {
    this.cookie.maxAge = this.cookie.originalMaxAge;
    return this;
  }

  save(): Promise<void>;
  save(callback: Callback): this;
  save(callback?: Callback): Promise<void> | this {
    const req = this.req as SessionRequest;
    const life = req[kLifecycle];
    const done = life
      ? life.save(this)
      : call<void>((cb) => (req.sessionStore as unknown as Store).set(this.id, this as SessionRecord, cb));
    return finish(this, done, callback);
  }

  reload(): Promise<void>;
  reload(callback: Callback): this;
  reload(callback?: Callback): Promise<void> | this {
    const req = this.req as SessionRequest;
    const life = req[kLifecycle];
    const done = life ? life.reload(this) : reloadFromStore(req, this.id);
    return finish(this, done, callback);
  }

  destroy(): Promise<void>;
  destroy(callback: Callback): this;
  destroy(callback?: Callback): Promise<void> | this {
    const req = this.req as SessionRequest;
    const life = req[kLifecycle];
    let done: Promise<void>;
    if (life) {
      done = life.destroy(this);
    } else {
      delete req.session;
      done = call<void>((cb) => (req.sessionStore as unknown as Store).destroy(this.id, cb));
    }
    return finish(this, done, callback);
  }

  /**
   * A new session ID (and, unless `keepData`, a new empty session); the old ID is destroyed in
   * the store. `regenerate({ keepData: true })` keeps the data under the new ID.
   */
  regenerate(): Promise<void>;
  regenerate(callback: Callback): this;
  regenerate(options: RegenerateOptions): Promise<void>;
  regenerate(options: RegenerateOptions, callback: Callback): this;
  regenerate(options?: RegenerateOptions | Callback, callback?: Callback): Promise<void> | this {
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    const req = this.req as SessionRequest;
    const life = req[kLifecycle];
    const done = life
      ? life.regenerate(this, options ?? undefined)
      : call<void>((cb) => (req.sessionStore as unknown as Store).regenerate(req, cb));
    return finish(this, done, callback);
  }
}

// The methods are not enumerable (class methods never are), so `for...in` and JSON see data only.

function finish<S extends Session>(session: S, done: Promise<void>, callback?: Callback): Promise<void> | S {
  if (typeof callback === 'function') {
    settle(done, callback);
    return session;
  }
  return settle(done);
}

async function reloadFromStore(req: SessionRequest, id: string): Promise<void> {
  const record = await call<SessionRecord | null | undefined>((cb) => (req.sessionStore as unknown as Store).get(id, cb));
  if (!record) throw new SessionNotFoundError();
  createSession(req, record);
}

/** Makes `req.session` from a stored record, as express-session's `store.createSession` does. */
export function createSession(req: SessionRequest, record: SessionRecord): Session {
  (record as { cookie: unknown }).cookie = reviveCookie(record.cookie);
  const sess = new Session(req, record);
  req.session = sess;
  return sess;
}
