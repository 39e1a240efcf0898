import { RedisTimeoutError } from '../../errors.js';

/**
 * The abort signal a command is sent with. node-redis (v4 and v5) reads `aborted` and adds, then
 * removes, one 'abort' listener; the ready gate below does the same. A real AbortSignal is an
 * EventTarget, and with one per command node-redis ran three times fewer commands per second.
 */
export interface Abortable {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: object): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** The signal of commands that never time out (`commandTimeout: 0`). */
export const NEVER: Abortable = { aborted: false, reason: undefined, addEventListener() {}, removeEventListener() {} };

/**
 * A command awaiting its answer: the settle functions of the promise the store's caller holds,
 * its deadline, and its links in the queue of deadlines. It is also the command's abort signal.
 */
class Pending implements Abortable {
  aborted = false;
  reason: unknown = undefined;
  prev: Pending | undefined = undefined;
  next: Pending | undefined = undefined;
  /** The driver's withdraw hook, or the hooks of several commands sent under one deadline. */
  private onAbort: (() => void) | Array<() => void> | undefined = undefined;

  constructor(
    readonly deadline: number,
    readonly resolve: (value: unknown) => void,
    readonly reject: (err: unknown) => void,
  ) {}

  addEventListener(_type: 'abort', listener: () => void): void {
    const hooks = this.onAbort;
    if (hooks === undefined) this.onAbort = listener;
    else if (Array.isArray(hooks)) hooks.push(listener);
    else this.onAbort = [hooks, listener];
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const hooks = this.onAbort;
    if (hooks === listener) {
      this.onAbort = undefined;
    } else if (Array.isArray(hooks)) {
      const at = hooks.indexOf(listener);
      if (at >= 0) hooks.splice(at, 1);
    }
  }

  /** Tells the driver to withdraw the command if it still holds it, and fails the caller. */
  expire(err: unknown): void {
    this.aborted = true;
    this.reason = err;
    const hooks = this.onAbort;
    this.onAbort = undefined;
    if (Array.isArray(hooks)) for (const withdraw of hooks) withdraw();
    else hooks?.();
    this.reject(err);
  }
}

/**
 * The commands in flight, oldest first, failed by one timer when their time is up. Every command
 * gets the same timeout, so sending order is deadline order: the timer only ever looks at the
 * head, and a command costs a list link rather than an AbortController and a timer of its own.
 */
export class Deadlines {
  private head: Pending | undefined = undefined;
  private tail: Pending | undefined = undefined;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(private readonly ms: number) {}

  /** Runs `run` with a signal that aborts once `ms` have passed without an answer, and bounds its promise by the same. */
  run<T>(run: (signal: Abortable) => Promise<T>): Promise<T> {
    let pending!: Pending;
    const bounded = new Promise<T>((resolve, reject) => {
      // Settled only with what `run`'s promise resolved to, so the value is a T.
      pending = new Pending(performance.now() + this.ms, (value) => resolve(value as T), reject);
    });
    let sent: Promise<T>;
    try {
      sent = run(pending);
    } catch (err) {
      // A driver that throws rather than rejects still reaches the caller's callback or promise,
      // and a command it queued before throwing (the first of two) is withdrawn.
      pending.expire(err);
      return bounded;
    }
    this.push(pending);
    sent.then(
      (value) => {
        this.remove(pending);
        pending.resolve(value);
      },
      (err) => {
        this.remove(pending);
        pending.reject(err);
      },
    );
    return bounded;
  }

  private push(pending: Pending): void {
    pending.prev = this.tail;
    if (this.tail) this.tail.next = pending;
    else this.head = pending;
    this.tail = pending;
    // Unref'd: it must not keep an idle process alive for up to `ms` after the last answer.
    if (!this.timer) this.timer = setTimeout(this.expire, this.ms).unref();
  }

  private remove(pending: Pending): void {
    // Answered after it expired (expire unlinked it already): nothing to unlink.
    if (pending.aborted) return;
    if (pending.prev) pending.prev.next = pending.next;
    else this.head = pending.next;
    if (pending.next) pending.next.prev = pending.prev;
    else this.tail = pending.prev;
    pending.prev = pending.next = undefined;
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    while (this.head && this.head.deadline <= now) {
      const late = this.head;
      this.remove(late);
      late.expire(new RedisTimeoutError(this.ms));
    }
    if (this.head) this.timer = setTimeout(this.expire, this.head.deadline - now).unref();
  };
}
