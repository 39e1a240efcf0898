/** How long a session lasts after login, however active: 8 hours. */
export const defaultAbsoluteTimeout = 8 * 60 * 60 * 1000;

/** How many devices a user can be logged in on at once, and what a login past that does. */
export const defaultLimits = { maxSessionsPerUser: 3, onLimit: 'evict-oldest' };

const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration as the environment gives it: `8h`, `90m`, `2s`, `1500ms`, or a number of
 * milliseconds. Throws naming the variable when it is anything else.
 */
export function parseDuration(name, text) {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(String(text));
  const ms = match ? Number(match[1]) * units[match[2] ?? 'ms'] : NaN;
  if (!(Number.isFinite(ms) && ms > 0)) {
    throw new Error(`${name} must be a duration such as 8h, 90m, 30s or 1500ms; got ${JSON.stringify(text)}`);
  }
  return Math.round(ms);
}

/**
 * The demo's session settings from the environment, with their defaults:
 * SESSION_ABSOLUTE_TIMEOUT (8h), SESSION_LIMIT (3 devices per user) and SESSION_ON_LIMIT
 * (`evict-oldest`, or `refuse`). Throws with a message naming the variable on a bad value.
 */
export function settingsFrom(env = process.env) {
  const given = (name) => env[name] !== undefined && env[name] !== '';
  const absoluteTimeout = given('SESSION_ABSOLUTE_TIMEOUT')
    ? parseDuration('SESSION_ABSOLUTE_TIMEOUT', env.SESSION_ABSOLUTE_TIMEOUT)
    : defaultAbsoluteTimeout;
  let { maxSessionsPerUser, onLimit } = defaultLimits;
  if (given('SESSION_LIMIT')) {
    maxSessionsPerUser = /^\d{1,6}$/.test(env.SESSION_LIMIT) ? Number(env.SESSION_LIMIT) : 0;
    if (maxSessionsPerUser < 1) {
      throw new Error(`SESSION_LIMIT must be a whole number of sessions per user, 1 or more; got ${JSON.stringify(env.SESSION_LIMIT)}`);
    }
  }
  if (given('SESSION_ON_LIMIT')) {
    onLimit = env.SESSION_ON_LIMIT;
    if (onLimit !== 'evict-oldest' && onLimit !== 'refuse') {
      throw new Error(`SESSION_ON_LIMIT must be evict-oldest or refuse; got ${JSON.stringify(env.SESSION_ON_LIMIT)}`);
    }
  }
  return { absoluteTimeout, maxSessionsPerUser, onLimit };
}
