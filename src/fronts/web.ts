import type { SessionEventSource } from '../core/events.js';
import { followSession, SessionKind, webRequest, type FrontOptions, type SessionObject } from './hooks.js';

export type { FrontOptions, SessionObject };
export type { SessionEvents, SessionEventName, SessionEventSource } from '../core/events.js';

/** A web-standard session: `req.session`'s data and methods, and `commit()` to put its cookie on the response. */
export type WebSession = SessionObject & {
  /**
   * Saves what the session calls for and, once the store has taken it, appends the session's
   * Set-Cookie to `target`. Given a Response, resolves to the Response to return (a copy when
   * its headers are immutable, as `Response.redirect()`'s are); given Headers, to them. Rejects
   * when a change was not stored: answer with an error then. Once per request.
   */
  commit<T extends Response | Headers>(target: T): Promise<T>;
};

/** Setups by options object: the kind, its keys and its default store are made once per options. */
const kinds = new WeakMap<object, SessionKind>();

function kindOf(options: FrontOptions): SessionKind {
  let kind = kinds.get(options);
  if (!kind) kinds.set(options, (kind = new SessionKind(options)));
  return kind;
}

/**
 * The events of the sessions of `options` (the same object `getSession` is given):
 *
 *     sessionEvents(options).on('expired', ({ sessionId, reason }) => log(sessionId, reason));
 */
export function sessionEvents(options: FrontOptions): SessionEventSource {
  return kindOf(options).events;
}

/**
 * The session of a web-standard Request (a Next.js route handler, Deno, Bun, a service worker):
 *
 *     const session = await getSession(request, options);
 *     session.views = (session.views ?? 0) + 1;
 *     return session.commit(Response.json({ views: session.views }));
 *
 * Define `options` once, at module level: what it sets up (keys, the store's conditional writes)
 * is kept per options object. Throws when the store fails to load the session; resolves to a
 * detached, never saved session for a request outside the cookie's path.
 */
export async function getSession(request: Request, options: FrontOptions, onError: (err: unknown) => void = reportError): Promise<WebSession> {
  let status = 200;
  const front = await kindOf(options).open(webRequest(request), () => status, onError);
  const commit = async <T extends Response | Headers>(target: T): Promise<T> => {
    if (!front) return target;
    if (target instanceof Response) status = target.status;
    const cookies = await front.commit();
    return withCookies(target, cookies);
  };
  return front ? followSession(front.req, { commit }) : Object.assign({} as SessionObject, { commit });
}

/** What the store failed after the response was decided on (a touch, a resave): nothing to answer with. */
function reportError(err: unknown): void {
  console.error('sessionkit:', err);
}

function withCookies<T extends Response | Headers>(target: T, cookies: string[]): T {
  if (cookies.length === 0) return target;
  const headers: Headers = target instanceof Response ? target.headers : (target as Headers);
  try {
    for (const cookie of cookies) headers.append('Set-Cookie', cookie);
    return target;
  } catch {
    // Immutable headers (Response.redirect(), a fetched Response): the same response, copied.
    const response = target as Response;
    const copy = new Response(response.body, response);
    for (const cookie of cookies) copy.headers.append('Set-Cookie', cookie);
    return copy as T;
  }
}
