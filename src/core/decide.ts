/**
 * What happens at the end of a request, as small pure decisions that tests can call without
 * HTTP. They are express-session's rules, made explicit.
 */

export interface SessionState {
  /** The session ID is a string (a genid returning anything else leaves the session alone). */
  idIsString: boolean;
  /** The ID differs from the one the cookie carried: a new or regenerated session. */
  isNew: boolean;
  /** The ID or the data (the cookie aside) differ from what was loaded or generated. */
  modified: boolean;
  /** The session was saved in this request (or loaded and `resave` is off) and has not changed since. */
  saved: boolean;
  /** The session was saved at some point in this request, or loaded with `resave` off. */
  everSaved: boolean;
}

export interface Policy {
  saveUninitialized: boolean;
  rolling: boolean;
}

/** Whether the session is written to the store in full at the end of the request. */
export function shouldSave(s: SessionState, p: Policy): boolean {
  if (!s.idIsString) return false;
  return !p.saveUninitialized && !s.everSaved && s.isNew ? s.modified : !s.saved;
}

/** Whether an unsaved, existing session has its expiry renewed in the store instead. */
export function shouldTouch(s: SessionState, p: Policy): boolean {
  if (!s.idIsString) return false;
  return !s.isNew && !shouldSave(s, p);
}

/** Whether the response carries a Set-Cookie for the session. */
export function shouldSetCookie(s: SessionState, p: Policy, cookieExpires: boolean): boolean {
  if (!s.idIsString) return false;
  return s.isNew ? p.saveUninitialized || s.modified : p.rolling || (cookieExpires && s.modified);
}

/**
 * With `touchAfter` (seconds), a touch is skipped while the stored expiry shows the record was
 * written or touched less than that long ago: its expiry is `writtenAt + originalMaxAge`.
 */
export function touchIsDue(
  loadedExpires: number | undefined,
  originalMaxAge: number | null | undefined,
  touchAfterMs: number,
  now: number,
): boolean {
  if (!touchAfterMs || loadedExpires === undefined || typeof originalMaxAge !== 'number') return true;
  return now - (loadedExpires - originalMaxAge) >= touchAfterMs;
}
