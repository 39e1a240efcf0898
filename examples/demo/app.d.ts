// Types of app.js, for the tests written in TypeScript; the demo itself runs as plain JavaScript.
import type { Express } from 'express';
import type { SessionMiddleware, SessionOptions } from 'sessionkit';
import type { DemoLimits } from './stores.js';

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
  /** How long (ms) a session lasts after login, however active; 8 hours by default. */
  absoluteTimeout?: number;
  /** What the store enforces, for the pages to say (and for the default MemoryStore). */
  limits?: DemoLimits;
  /** Gets a line for each session event. */
  log?: (line: string) => void;
}

export declare function createApp(options: DemoOptions): Express;
