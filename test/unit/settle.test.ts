/**
 * settle(): a callback is called outside the promise chain, so an error it throws is an
 * uncaught exception (as with express-session's stores), never an unhandled rejection.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.js';
import { settle } from '../../src/core/callback.js';

/** Runs `fn` with the process's uncaughtException/unhandledRejection listeners swapped for recorders. */
async function recordingFailures(fn: () => void): Promise<{ uncaught: unknown[]; rejected: unknown[] }> {
  const uncaught: unknown[] = [];
  const rejected: unknown[] = [];
  const saved = process.listeners('uncaughtException');
  const savedRejections = process.listeners('unhandledRejection');
  process.removeAllListeners('uncaughtException');
  process.removeAllListeners('unhandledRejection');
  const onUncaught = (err: unknown) => uncaught.push(err);
  const onRejected = (err: unknown) => rejected.push(err);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejected);
  try {
    fn();
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejected);
    for (const l of saved) process.on('uncaughtException', l);
    for (const l of savedRejections) process.on('unhandledRejection', l);
  }
  return { uncaught, rejected };
}

describe('settle', () => {
  it('a callback that throws surfaces as an uncaught exception, not an unhandled rejection', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const boom = new Error('thrown by the callback');
    const failures = await recordingFailures(() => {
      store.get('missing', () => {
        throw boom;
      });
      settle(Promise.reject(new Error('store failed')), () => {
        throw boom;
      });
    });
    expect(failures.uncaught).toEqual([boom, boom]);
    expect(failures.rejected).toEqual([]);
  });

  it('calls back after the caller has returned, with the value or the error', async () => {
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      settle(Promise.resolve(1), (err, value) => {
        order.push(`value ${String(err)} ${value}`);
        settle(Promise.reject(new Error('no')), (e) => {
          order.push(`error ${(e as Error).message}`);
          resolve();
        });
      });
    });
    order.push('returned');
    await done;
    expect(order).toEqual(['returned', 'value null 1', 'error no']);
  });
});
