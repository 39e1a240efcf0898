/**
 * Every error sessionkit raises, each with a stable `code` to tell them apart. Where
 * express-session has a message of its own, the message is kept word for word, so code that
 * matches on it keeps working.
 */

/** No secret to sign the session cookie with: neither the `secret` option nor cookie-parser's `req.secret`. */
export class SecretRequiredError extends Error {
  readonly code = 'ESESSIONSECRET';
  constructor() {
    super('secret option required for sessions');
    this.name = 'SecretRequiredError';
  }
}

/** `req.session.reload()` found no session in the store (or, for sealed sessions, nothing to go back to). */
export class SessionNotFoundError extends Error {
  readonly code = 'ESESSIONNOTFOUND';
  constructor() {
    super('failed to load session');
    this.name = 'SessionNotFoundError';
  }
}

/**
 * A save that kept meeting writes of other processes to the same session and gave up: a
 * conflict, not a store failure (the store answered every time).
 */
export class SessionConflictError extends Error {
  readonly code = 'ESESSIONCONFLICT';
  constructor(readonly sessionId: string, readonly attempts: number) {
    super(`session ${sessionId} could not be saved: it kept changing (${attempts} attempts)`);
    this.name = 'SessionConflictError';
  }
}

/** What `save()` rejects with (and the request fails with) when a sealed session exceeds `maxSize`. */
export class SessionTooLargeError extends Error {
  readonly code = 'ESESSIONTOOLARGE';
  constructor(readonly size: number, readonly maxSize: number) {
    super(
      `sessionkit/cookie: the sealed session needs ${size} bytes of cookies, over maxSize (${maxSize} bytes); ` +
        'keep less in the session or raise maxSize',
    );
    this.name = 'SessionTooLargeError';
  }
}

/** A sealed session changed after the response headers went out, when no cookie can be set any more. */
export class HeadersSentError extends Error {
  readonly code = 'EHEADERSSENT';
  constructor(action: string) {
    super(`sessionkit/cookie: cannot ${action} the session after the response headers were sent`);
    this.name = 'HeadersSentError';
  }
}

/**
 * A store operation that got no answer within the store's `commandTimeout`. The operation failed
 * as a whole: a write it carried either happened or not, and the caller is told it failed.
 */
export class StoreTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    /** The store's class name, e.g. `PostgresStore`. */
    readonly store: string,
    /** The deadline that passed, in milliseconds. */
    readonly ms: number,
    message = `${store}: the database did not answer within ${ms} ms (commandTimeout)`,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'StoreTimeoutError';
  }
}

/** A RedisStore command that got no answer within `commandTimeout`. */
export class RedisTimeoutError extends StoreTimeoutError {
  constructor(ms: number) {
    super('RedisStore', ms, `Redis did not answer within ${ms} ms (RedisStore commandTimeout)`);
    this.name = 'RedisTimeoutError';
  }
}

/** `listUserSessions` or `destroyUserSessions` on a store created without the `userId` option. */
export class UserIdOptionError extends Error {
  readonly code = 'ENOUSERID';
  constructor(method: string) {
    super(`${method} needs the store option userId (a function that returns the user of a session)`);
    this.name = 'UserIdOptionError';
  }
}

/** A store used after `close()`. */
export class StoreClosedError extends Error {
  readonly code = 'ESTORECLOSED';
  constructor(store: string) {
    super(`${store} is closed`);
    this.name = 'StoreClosedError';
  }
}

/** A store whose database driver is not installed. */
export class DriverMissingError extends Error {
  readonly code = 'EDRIVERMISSING';
  constructor(store: string, pkg: string, cause: unknown) {
    super(`${store} needs the ${pkg} package: npm install ${pkg}`, { cause });
    this.name = 'DriverMissingError';
  }
}

/**
 * A login refused by a store's `maxSessionsPerUser` with `onLimit: 'refuse'`: the user already
 * has that many live sessions, so this one was not written.
 */
export class SessionLimitError extends Error {
  readonly code = 'ESESSIONLIMIT';
  /** A status for an error handler that answers with it: the request conflicts with the user's other sessions. */
  readonly status = 409;
  constructor(readonly userId: string, readonly limit: number) {
    super(`user ${userId} already has ${limit} sessions (maxSessionsPerUser)`);
    this.name = 'SessionLimitError';
  }
}
