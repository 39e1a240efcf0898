// Types of app.js, for the tests written in TypeScript; the demo itself runs as plain JavaScript.
import type { Express } from 'express';
import type { SessionMiddleware, SessionOptions } from 'sessionkit';

export declare const cookieName: string;

export interface DemoOptions {
  /** A sessionkit store; its user index powers the sessions page. */
  store?: SessionOptions['store'];
  /** Used instead of `session()` when given: cookie-only sessions. */
  sessionMiddleware?: (options: SessionOptions) => SessionMiddleware;
  /** What the page footer says about the store. */
  storeLabel?: string;
  /** Signs (or seals) the session cookie. */
  secret: string;
}

export declare function createApp(options: DemoOptions): Express;
