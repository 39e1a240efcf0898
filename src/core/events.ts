import { EventEmitter } from 'node:events';

/** What each event of a session middleware carries. `userId` is the store's (or revocation's) user of the session. */
export interface SessionEvents {
  /** A new session was first stored (or sealed). */
  created: { sessionId: string; userId?: string };
  /** A session got a new ID: `regenerate()`, `regenerate({ keepData: true })` or a rotation (`rotated`). */
  regenerated: { sessionId: string; previousId: string; userId?: string; keepData: boolean; rotated: boolean };
  /** A session was destroyed through the middleware (`req.session.destroy()`, unset: 'destroy'). */
  destroyed: { sessionId: string; userId?: string };
  /** A request came with a session that its absolute or idle timeout had ended. */
  expired: { sessionId: string; userId?: string; reason: 'absolute' | 'idle' };
  /** A save met a concurrent write of the same session and merged the two. */
  conflict: { sessionId: string; userId?: string };
  /** A sealed cookie refused because its user's cookies were revoked after it was issued. */
  revoked: { sessionId?: string; userId: string };
}

export type SessionEventName = keyof SessionEvents;

/** The typed listening side of a middleware's events. */
export interface SessionEventSource {
  on<E extends SessionEventName>(event: E, listener: (payload: SessionEvents[E]) => void): this;
  once<E extends SessionEventName>(event: E, listener: (payload: SessionEvents[E]) => void): this;
  off<E extends SessionEventName>(event: E, listener: (payload: SessionEvents[E]) => void): this;
}

/**
 * The events of one middleware. Emitting never throws into the request: a listener that throws
 * is reported as a process warning, and the request goes on.
 */
export class SessionEventHub {
  private readonly emitter = new EventEmitter();

  /** Whether anyone listens: an event nobody hears costs nothing to build. */
  has(event: SessionEventName): boolean {
    return this.emitter.listenerCount(event) > 0;
  }

  emit<E extends SessionEventName>(event: E, payload: SessionEvents[E]): void {
    if (this.emitter.listenerCount(event) === 0) return;
    try {
      this.emitter.emit(event, payload);
    } catch (err) {
      process.emitWarning(`sessionkit: a '${event}' listener threw: ${err instanceof Error ? err.message : String(err)}`, 'SessionkitWarning');
    }
  }

  /** Puts `on`, `once` and `off` on `target` (a middleware function), bound to this hub. */
  attach<T extends object>(target: T): T & SessionEventSource {
    const source = target as T & SessionEventSource;
    const emitter = this.emitter;
    source.on = function on(event, listener) { emitter.on(event, listener as (p: unknown) => void); return source; };
    source.once = function once(event, listener) { emitter.once(event, listener as (p: unknown) => void); return source; };
    source.off = function off(event, listener) { emitter.off(event, listener as (p: unknown) => void); return source; };
    return source;
  }
}
