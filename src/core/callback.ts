/** A Node-style callback, as express-session stores and session methods take them. */
// `err` is `any` as in express-session's store API, whose callbacks read `err.code` and `err.message` freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Callback<T = void> = (err?: any, value?: T) => void;

/**
 * The one bridge between the Promise and callback forms of every asynchronous method.
 * With a callback, the callback is called (outside the promise chain, so a throwing
 * callback is not turned into an unhandled rejection) and nothing is returned. Without
 * one, the promise is returned; it is marked handled so that a caller who ignores it,
 * as express-session code often does with `req.session.save()`, never crashes the process.
 */
export function settle<T>(promise: Promise<T>, callback?: Callback<T>): Promise<T> {
  if (typeof callback === 'function') {
    promise.then(
      (value) => process.nextTick(callback, null, value),
      (err) => process.nextTick(callback, err),
    );
  } else {
    promise.catch(noop);
  }
  return promise;
}

/**
 * settle() for a result already at hand, as an in-memory store has it: a callback is called
 * on the next tick without a promise made for it; without one, a resolved promise is returned.
 */
export function settled<T>(value: T, callback?: Callback<T>): Promise<T> | undefined {
  if (typeof callback === 'function') {
    process.nextTick(callback, null, value);
    return undefined;
  }
  return Promise.resolve(value);
}

/** Calls a callback-style method and returns a Promise of its result. */
export function call<T>(fn: (cb: Callback<T>) => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      fn((err, value) => (err ? reject(err) : resolve(value as T)));
    } catch (err) {
      reject(err);
    }
  });
}

export function noop(): void {}
