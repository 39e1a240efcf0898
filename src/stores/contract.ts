/* eslint-disable @typescript-eslint/no-explicit-any --
 * This is express-session's Store surface, kept loose on purpose: one signature per method that a
 * callback-only store (as written for express-session) and a store with Promise overloads both
 * satisfy as subclasses, and the legacy `Store.call(this)` + `util.inherits` form of subclassing.
 */
import { EventEmitter } from 'node:events';
import { inherits } from 'node:util';
import { call, settle, type Callback } from '../core/callback.js';
import { createSession as makeSession } from '../core/session.js';
import type { SessionRecord } from '../core/store.js';

export type {
  AtomicStore, ConditionalWrite, SessionRecord, StoreContract, UserIndexOptions, UserIndexStore, UserSession, VersionedRecord,
} from '../core/store.js';
export { expiresOf, isAtomicStore, isUserIndexStore, parseRecord } from '../core/store.js';
export { META_KEY, metaOf, type SessionMeta } from '../core/meta.js';

/**
 * Base class of every store. It is callable the legacy way, `Store.call(this)` with
 * `util.inherits(MyStore, Store)`, as well as with `class extends Store`.
 */
export interface Store extends EventEmitter {
  // One loose signature per method, so that a callback-only store (as written for
  // express-session) and a store with Promise overloads both type-check as subclasses.
  get(sid: string, callback?: Callback<any>): any;
  // A session as stores typed for express-session take it (its SessionData, whose cookie is a
  // live Cookie) as well as a stored record.
  set(sid: string, session: any, callback?: Callback): any;
  destroy(sid: string, callback?: Callback): any;
  touch?(sid: string, session: any, callback?: Callback): any;
  all?(callback?: Callback<any>): any;
  length?(callback?: Callback<number>): any;
  clear?(callback?: Callback): any;
  /** express-session's helpers, kept for code that calls them on a store directly. */
  regenerate(req: any, callback?: Callback): any;
  load(sid: string, callback?: Callback<any>): any;
  createSession(req: any, session: SessionRecord): any;
  /** Set by the middleware of express-session; sessionkit never relies on it. */
  generate?(req: any): void;
}

export interface StoreConstructor {
  new (): Store;
  (this: any): void;
  prototype: Store;
}

export const Store = function Store(this: any) {
  EventEmitter.call(this);
} as unknown as StoreConstructor;

inherits(Store as any, EventEmitter);

const proto = Store.prototype as any;

proto.regenerate = function regenerate(this: Store, req: any, callback?: Callback) {
  return settle(
    call<void>((cb) => this.destroy(req.sessionID, cb)).then(() => {
      if (typeof this.generate === 'function') this.generate(req);
    }),
    callback,
  );
};

proto.load = function load(this: Store, sid: string, callback?: Callback<any>) {
  return settle(
    call<SessionRecord | null | undefined>((cb) => this.get(sid, cb)).then((sess) => {
      if (!sess) return undefined;
      const req = { sessionID: sid, sessionStore: this };
      return this.createSession(req, sess);
    }),
    callback,
  );
};

proto.createSession = function createSession(this: Store, req: any, sess: SessionRecord) {
  return makeSession(req, sess);
};
