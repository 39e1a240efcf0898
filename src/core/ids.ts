import { randomFillSync } from 'node:crypto';

/**
 * Session IDs as express-session makes them: 24 random bytes, base64url. The bytes come from a
 * pool filled 256 IDs at a time, so a new session costs no call into the system's random source.
 */
const ID_BYTES = 24;
const pool = Buffer.allocUnsafe(ID_BYTES * 256);
let offset = pool.length;

export function generateSessionId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id;
}
