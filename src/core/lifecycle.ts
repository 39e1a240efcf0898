import { Cookie, type CookieOptions } from './cookie.js';
import type { SessionState } from './decide.js';
import { isSecure, type SessionRequest } from './request.js';
import { createSession, kLifecycle, Session, type RegenerateOptions, type SessionLifecycle } from './session.js';
import type { SessionRecord } from './store.js';
import { ChangeTracker } from './tracker.js';

/** What the core needs of a response: whether its head went out, and a place for the session's cookies. */
export interface SessionResponse {
  /** True once the head has gone out: no cookie can be set any more. */
  readonly headersSent: boolean;
  /** The status the handler gave the response. */
  readonly statusCode: number;
  /** Sets this session's Set-Cookie values, replacing any it set before on this response. */
  setCookies(headers: string[]): void;
}

/**
 * What `finish` holds back of the response while the store answers: nothing (`false`); only its
 * last bytes (`'end'`, for what the handler did not change: a touch, an untouched new session, a
 * resave), written with the error reported afterwards, as express-session does; or all of it,
 * head included (`'all'`), for a change the handler made, so that a store that fails it turns the
 * response into the app's error response: an answer means the change was kept.
 */
export type Hold = false | 'end' | 'all';

/**
 * The store's answer to what `finish` persisted. `whole`: nothing was persisted after all, or the
 * store answered at once, so the response is written whole by its own end, as when nothing is held.
 */
export type Stored = (err?: unknown, whole?: boolean) => void;

/** What a front drives, for one request: see {@link RequestLifecycle}. */
export interface RequestSession {
  open(done: (err?: unknown) => void): void;
  finish(done: Stored): Hold;
  sendCookies(): void;
}

/**
 * One request's session, whatever keeps it: every front drives these calls, in this order.
 *
 *   open(done)      find the session the cookie names (or make a new one); `done` when req.session is ready
 *   ...             the handler runs, calling req.session's methods (save, reload, regenerate, destroy)
 *   finish(done)    the handler is done: persist what the session calls for
 *   sendCookies()   the head is going out: set the session's cookie
 *
 * The two session kinds differ only in how they load and persist: a store (`persist/store.ts`)
 * or a sealed cookie (`cookie-session/request.ts`). What is common is here: a new session,
 * an object assigned to req.session, and the state the end-of-request decisions take.
 */
export abstract class RequestLifecycle<F> implements SessionLifecycle, RequestSession {
  protected readonly changes: ChangeTracker<F>;
  /** The cookie of the latest session: for an object assigned to req.session, and for clearing. */
  protected cookie: Cookie | undefined = undefined;

  constructor(
    readonly req: SessionRequest,
    protected readonly res: SessionResponse,
    protected readonly cookieOptions: CookieOptions,
    protected readonly proxy: boolean | undefined,
    same: (a: F, b: F) => boolean,
  ) {
    this.changes = new ChangeTracker(same);
    req[kLifecycle] = this;
  }

  /** Finds the session the request's cookie names, or makes a new one; `done` once req.session is set. */
  abstract open(done: (err?: unknown) => void): void;
  /**
   * The handler is done: persists what the session calls for, and says what of the response to
   * hold until the store calls `done` (see {@link Hold} and {@link Stored}). May throw when the session cannot be kept (a seal too large):
   * then nothing of this response may go out.
   */
  abstract finish(done: Stored): Hold;
  /** The response head is going out: sets the session's cookie when it calls for one. */
  abstract sendCookies(): void;

  abstract save(session: Session): Promise<void>;
  abstract reload(session: Session): Promise<void>;
  abstract regenerate(session: Session, options?: RegenerateOptions): Promise<void>;
  abstract destroy(session: Session): Promise<void>;

  /** What the kind compares to tell whether the session changed. */
  protected abstract fingerprint(sess: Session): F;

  /**
   * Installs a new, empty session with ID `id` on the request. A regenerated session keeps
   * the original ID, so it counts as modified.
   */
  protected install(id: string, keepOriginal: boolean): Session {
    const { req, cookieOptions } = this;
    req.sessionID = id;
    const sess = new Session(req);
    const cookie = new Cookie(cookieOptions);
    sess.cookie = cookie;
    if (cookieOptions.secure === 'auto' || cookieOptions.sameSite === 'auto') {
      const secure = isSecure(req, this.proxy);
      if (cookieOptions.secure === 'auto') cookie.secure = secure;
      if (cookieOptions.sameSite === 'auto') cookie.sameSite = secure ? 'none' : 'lax';
    }
    req.session = sess;
    this.cookie = cookie;
    if (!keepOriginal) this.changes.began(id, this.fingerprint(sess), false);
    return sess;
  }

  /** Makes req.session from a stored (or sealed) record; throws for a cookie that cannot be revived. */
  protected revive(record: SessionRecord): Session {
    const sess = createSession(this.req, record);
    this.cookie = sess.cookie;
    return sess;
  }

  /**
   * req.session as the end of the request sees it. A plain object assigned to req.session
   * becomes the session's data (with the session's cookie), where express-session would throw
   * inside res.end and leave the response hanging.
   */
  protected current(): Session | null | undefined {
    const sess = this.req.session as unknown;
    if (sess == null || sess instanceof Session || typeof sess !== 'object') return sess as Session | null | undefined;
    const replaced = new Session(this.req, sess);
    const cookie = (sess as { cookie?: unknown }).cookie;
    replaced.cookie = cookie instanceof Cookie ? cookie : this.cookie ?? new Cookie(this.cookieOptions);
    this.req.session = replaced;
    return replaced;
  }

  protected state(sess: Session, now: F): SessionState {
    return this.changes.state(this.req.sessionID, sess.id, now);
  }

  protected secure(): boolean {
    return isSecure(this.req, this.proxy);
  }
}
