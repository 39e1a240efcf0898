import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export type Secret = string | Buffer;

/**
 * Normalizes the `secret` option to keys prepared once at setup: the first signs, all verify.
 * Returns undefined when no secret is configured (then `req.secret` from cookie-parser is used).
 */
export function toKeys(secret: unknown): KeyObject[] | undefined {
  if (secret === undefined || secret === null || secret === '' || secret === false) return undefined;
  const list = Array.isArray(secret) ? secret : [secret];
  if (list.length === 0) {
    throw new TypeError('secret option array must contain one or more strings');
  }
  return list.map((s) => {
    if (typeof s === 'string' && s.length > 0) return createSecretKey(Buffer.from(s, 'utf8'));
    if (Buffer.isBuffer(s) && s.length > 0) return createSecretKey(s);
    throw new TypeError('secret option must be a non-empty string, a Buffer, or an array of them');
  });
}

function mac(value: string, key: KeyObject | Secret): string {
  return createHmac('sha256', key).update(value).digest('base64').replace(/=+$/, '');
}

/** `s:<value>.<HMAC-SHA256, base64 without padding>`: the express-session cookie value. */
export function sign(value: string, key: KeyObject | Secret): string {
  return 's:' + value + '.' + mac(value, key);
}

/**
 * The value inside a signed cookie value (given without its `s:` prefix) when one of the
 * keys verifies its signature, compared in constant time, and which key verified: 0, the signing key,
 * means `signed` is exactly what `sign(value, keys[0])` returns (HMAC is deterministic), so it can be sent again.
 */
export function verify(signed: string, keys: readonly (KeyObject | Secret)[]): { value: string; key: number } | false {
  const dot = signed.lastIndexOf('.');
  if (dot < 0) return false;
  const value = signed.slice(0, dot);
  const given = Buffer.from(signed.slice(dot + 1));
  for (let i = 0; i < keys.length; i++) {
    const expected = Buffer.from(mac(value, keys[i]!));
    if (expected.length === given.length && timingSafeEqual(expected, given)) return { value, key: i };
  }
  return false;
}
