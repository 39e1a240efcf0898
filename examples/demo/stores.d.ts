// Types of stores.js, for the tests written in TypeScript; the demo itself runs as plain JavaScript.
import type { SessionMiddleware, SessionOptions, SessionRecord, UserSession } from 'sessionkit';

export type StoreName = 'sqlite' | 'memory' | 'redis' | 'postgres' | 'mysql' | 'cookie';

export declare const storeNames: StoreName[];
export declare const userId: (data: SessionRecord) => string | undefined;

/** A store the demo can use: its user index lists and ends the sessions of a user. */
export interface DemoStore {
  listUserSessions(user: string | number): Promise<UserSession[]>;
  destroyUserSessions(user: string | number, options?: { except?: string | string[] }): Promise<number>;
  /** Ends one session (one device) and drops it from its user's index. */
  destroySession(sid: string): Promise<void>;
  get(sid: string): Promise<SessionRecord | null | undefined>;
}

/** How many sessions a user may have at once, and what a login past that does. */
export interface DemoLimits {
  maxSessionsPerUser: number;
  onLimit: 'evict-oldest' | 'refuse';
}

export interface OpenedStore {
  name: StoreName;
  label: string;
  /** Undefined for cookie-only sessions. */
  store: (DemoStore & NonNullable<SessionOptions['store']>) | undefined;
  sessionMiddleware?: (options: SessionOptions) => SessionMiddleware;
  /** What the store enforces; undefined for cookie-only sessions. */
  limits: DemoLimits | undefined;
  close(): Promise<void>;
}

export declare function openStore(
  name?: string,
  env?: Record<string, string | undefined>,
  extra?: Record<string, unknown>,
): Promise<OpenedStore>;
