// Types of stores.js, for the tests written in TypeScript; the demo itself runs as plain JavaScript.
import type { SessionMiddleware, SessionOptions, SessionRecord, UserSession } from 'sessionkit';

export type StoreName = 'sqlite' | 'memory' | 'redis' | 'postgres' | 'mysql' | 'cookie';

export declare const storeNames: StoreName[];
export declare const userId: (data: SessionRecord) => string | undefined;

/** A store the demo can use: its user index lists and ends the sessions of a user. */
export interface DemoStore {
  listUserSessions(user: string | number): Promise<UserSession[]>;
  destroyUserSessions(user: string | number, options?: { except?: string | string[] }): Promise<number>;
  get(sid: string): Promise<SessionRecord | null | undefined>;
}

export interface OpenedStore {
  name: StoreName;
  label: string;
  /** Undefined for cookie-only sessions. */
  store: (DemoStore & NonNullable<SessionOptions['store']>) | undefined;
  sessionMiddleware?: (options: SessionOptions) => SessionMiddleware;
  close(): Promise<void>;
}

export declare function openStore(
  name?: string,
  env?: Record<string, string | undefined>,
  extra?: Record<string, unknown>,
): Promise<OpenedStore>;
