import type { SessionState } from './decide.js';

/**
 * What a request's session was, to tell at the end what changed: the ID the cookie carried, the
 * ID and data when the session was loaded or made, and the data at its last save. `F` is what a
 * session kind compares: the data's snapshot, or for a sealed session also its cookie's options.
 */
export class ChangeTracker<F> {
  /** The ID the request's cookie carried when it verified (or opened): any other ID is a new session. */
  cookieId: string | undefined = undefined;
  private originalId: string | undefined = undefined;
  private original: F | undefined = undefined;
  private saved: F | undefined = undefined;
  /** The session counts as saved as it was loaded: unchanged since then is saved, one comparison for both. */
  private savedAsLoaded = false;

  constructor(private readonly same: (a: F, b: F) => boolean) {}

  /** The session of `id` was loaded or made as `now`; a loaded one can count as saved as loaded. */
  began(id: string, now: F, countsAsSaved: boolean): void {
    this.originalId = id;
    this.original = now;
    if (countsAsSaved) this.saved = now;
    this.savedAsLoaded = countsAsSaved;
  }

  /** The session was saved (or sealed) as `now`. */
  savedAs(now: F): void {
    this.saved = now;
    this.savedAsLoaded = false;
  }

  /** What is stored is gone (a sealed session cleared): nothing counts as saved. */
  forgetSaved(): void {
    this.saved = undefined;
    this.savedAsLoaded = false;
  }

  /** The state the end-of-request decisions take, for the session `sessionId` of the request, with data `now`. */
  state(requestId: unknown, sessionId: string, now: F): SessionState {
    const sameId = this.originalId === sessionId;
    const unchanged = sameId && this.original !== undefined && this.same(this.original, now);
    return {
      idIsString: typeof requestId === 'string',
      isNew: this.cookieId !== requestId,
      modified: !unchanged,
      saved: sameId && (this.savedAsLoaded ? unchanged : this.saved !== undefined && this.same(this.saved, now)),
      everSaved: this.saved !== undefined,
    };
  }
}
