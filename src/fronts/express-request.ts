import type { Session, SessionData } from '../core/session.js';
import type { Store } from '../stores/contract.js';

// What the session middlewares put on Express's request, declared once for both entries
// (`sessionkit` and `sessionkit/cookie`), so an app that imports either one gets the types.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The session: its data (typed by `SessionData`) and methods. */
      session: Session & Partial<SessionData>;
      /** The session's ID. */
      sessionID: string;
      /** The store the session middleware uses (`session()` only). */
      sessionStore: Store;
    }
  }
}

/** What the session middlewares add to a request, as Express's `Request` gets it. */
export interface SessionRequestProperties {
  session: Session & Partial<SessionData>;
  sessionID: string;
}
