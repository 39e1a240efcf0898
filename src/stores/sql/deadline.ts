import { StoreTimeoutError } from '../../errors.js';

/** What the (already failed) operation's own promise rejects with; its caller got a StoreTimeoutError. */
const OUT_OF_TIME = 'the operation ran out of time';

/**
 * The time one store operation has. When it runs out the caller is failed at once, and whatever
 * the operation still holds is withdrawn: a connection still on its way from the pool goes
 * straight back unused (so a statement never starts after its caller was told it failed), and a
 * statement still waiting for the server has its connection destroyed.
 */
export class Deadline {
  expired = false;
  private withdraw: Set<() => void> | undefined;

  /** Fails the operation: withdraws what it holds. */
  expire(): void {
    this.expired = true;
    const hooks = this.withdraw;
    this.withdraw = undefined;
    if (hooks) for (const hook of hooks) hook();
  }

  /**
   * A connection the operation waits for. One that arrives after the deadline is handed back
   * unused, and the (already failed) operation stops here.
   */
  async checkout<C>(arriving: Promise<C>, giveBack: (connection: C) => void): Promise<C> {
    const connection = await arriving;
    if (this.expired) {
      giveBack(connection);
      throw new Error(OUT_OF_TIME);
    }
    return connection;
  }

  /**
   * Work on the server; `withdraw` (destroying its connection) runs if the deadline passes
   * first, and the wait ends there: a driver may never settle the work of a destroyed
   * connection, and nothing must be left waiting on it.
   */
  guard<T>(work: Promise<T>, withdraw: () => void): Promise<T> {
    if (this.expired) {
      work.catch(() => undefined);
      withdraw();
      return Promise.reject(new Error(OUT_OF_TIME));
    }
    return new Promise<T>((resolve, reject) => {
      const hook = () => {
        withdraw();
        reject(new Error(OUT_OF_TIME));
      };
      (this.withdraw ??= new Set()).add(hook);
      work.then(
        (value) => {
          this.withdraw?.delete(hook);
          resolve(value);
        },
        (err) => {
          this.withdraw?.delete(hook);
          reject(err);
        },
      );
    });
  }
}

/** The deadline of `commandTimeout: 0`, and of drivers that block until they answer (better-sqlite3). */
export const UNBOUNDED: Deadline = new (class extends Deadline {
  override expire(): void {}
  override checkout<C>(arriving: Promise<C>): Promise<C> {
    return arriving;
  }
  override guard<T>(work: Promise<T>): Promise<T> {
    return work;
  }
})();

/**
 * Runs `run` under a deadline of `ms` (none when 0): its promise settles with `run`'s outcome,
 * or rejects with a {@link StoreTimeoutError} once `ms` have passed, whichever comes first.
 */
export function withinDeadline<T>(ms: number, store: string, run: (deadline: Deadline) => Promise<T>): Promise<T> {
  if (ms === 0) return run(UNBOUNDED);
  const deadline = new Deadline();
  return new Promise<T>((resolve, reject) => {
    // Unref'd: the connection the operation waits on is what keeps the process alive, not this.
    const timer = setTimeout(() => {
      reject(new StoreTimeoutError(store, ms));
      deadline.expire();
    }, ms).unref();
    run(deadline).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
