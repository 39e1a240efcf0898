import type { KeyObject } from 'node:crypto';
import { debug } from '../core/debug.js';
import type { SessionRequest } from '../core/request.js';
import { verify } from '../core/signature.js';

/** A verified session ID cookie: the ID, and its signed value when the signing key signed it. */
export interface SignedId {
  id: string;
  /** Exactly what signing `id` again would produce, so a Set-Cookie of the same ID reuses it. */
  signed: string | undefined;
}

/** What cookie-parser puts on a request, which express-session still reads. */
interface ParsedCookies {
  signedCookies?: Record<string, unknown>;
  cookies?: Record<string, unknown>;
}

/** The session ID in the request's cookie when its signature verifies, as express-session reads it. */
export function readSignedId(req: SessionRequest & ParsedCookies, name: string, keys: KeyObject[]): SignedId | undefined {
  const header = req.headers.cookie;
  if (header) {
    const found = verifiedInHeader(cookieValue(header, name), keys);
    if (found) return found;
  }
  if (req.signedCookies) {
    const signed = req.signedCookies[name];
    if (signed && String(signed)) return { id: String(signed), signed: undefined };
  }
  if (req.cookies) {
    const raw = req.cookies[name];
    if (typeof raw === 'string') return verified(raw, keys);
  }
  return undefined;
}

/**
 * How many verified cookie values are kept per key list. A session's cookie comes back on each of
 * its requests unchanged, so most requests find theirs here and skip the HMAC; past the bound the
 * oldest goes, so a flood of distinct valid cookies costs one HMAC each, as without the cache.
 */
const VERIFIED_MAX = 4096;

/** Verified cookie values, per key list: as the Cookie header carries them (still encoded), and as decoded. */
interface Verified {
  encoded: Map<string, SignedId>;
  decoded: Map<string, SignedId>;
}

const verifiedByKeys = new WeakMap<KeyObject[], Verified>();

function verifiedFor(keys: KeyObject[]): Verified {
  let known = verifiedByKeys.get(keys);
  if (!known) verifiedByKeys.set(keys, (known = { encoded: new Map(), decoded: new Map() }));
  return known;
}

function remember(map: Map<string, SignedId>, key: string, found: SignedId): void {
  if (map.size >= VERIFIED_MAX) map.delete(map.keys().next().value!);
  map.set(key, found);
}

/** A cookie value as the header carries it: a value seen before skips decoding as well as the HMAC. */
function verifiedInHeader(encoded: string | undefined, keys: KeyObject[]): SignedId | undefined {
  if (!encoded) return undefined;
  const known = verifiedFor(keys);
  const hit = known.encoded.get(encoded);
  if (hit) return hit;
  const raw = decode(encoded);
  if (!raw) return undefined;
  const found = known.decoded.get(raw) ?? verifiedNow(raw, keys);
  if (found) remember(known.encoded, encoded, found);
  return found;
}

/** A cookie value already decoded (cookie-parser's `req.cookies`). */
function verified(raw: string | undefined, keys: KeyObject[]): SignedId | undefined {
  if (!raw) return undefined;
  const known = verifiedFor(keys);
  const hit = known.decoded.get(raw);
  if (hit) return hit;
  const found = verifiedNow(raw, keys);
  if (found) remember(known.decoded, raw, found);
  return found;
}

/**
 * The value of cookie `name` in a Cookie header, not yet decoded: the first pair of that name,
 * trimmed and unquoted exactly as the cookie package's parse() (0.7) reads it, which is how
 * express-session finds its cookie. Only the one value is cut out of the header.
 */
export function cookieValue(header: string, name: string): string | undefined {
  const len = header.length;
  if (len < 2) return undefined;
  let index = 0;
  do {
    const eq = header.indexOf('=', index);
    if (eq === -1) break;
    let end = header.indexOf(';', index);
    if (end === -1) {
      end = len;
    } else if (eq > end) {
      // backtrack on prior semicolon
      index = header.lastIndexOf(';', eq - 1) + 1;
      continue;
    }
    const keyStart = startIndex(header, index, eq);
    const keyEnd = endIndex(header, eq, keyStart);
    if (keyEnd - keyStart === name.length && header.startsWith(name, keyStart)) {
      let valueStart = startIndex(header, eq + 1, end);
      let valueEnd = endIndex(header, end, valueStart);
      if (header.charCodeAt(valueStart) === 0x22 && header.charCodeAt(valueEnd - 1) === 0x22) {
        valueStart++;
        valueEnd--;
      }
      return header.slice(valueStart, valueEnd);
    }
    index = end + 1;
  } while (index < len);
  return undefined;
}

function startIndex(str: string, index: number, max: number): number {
  do {
    const code = str.charCodeAt(index);
    if (code !== 0x20 && code !== 0x09) return index;
  } while (++index < max);
  return max;
}

function endIndex(str: string, index: number, min: number): number {
  while (index > min) {
    const code = str.charCodeAt(--index);
    if (code !== 0x20 && code !== 0x09) return index + 1;
  }
  return min;
}

/** As the cookie package decodes a value: percent-decoded, or as it is when that fails. */
function decode(value: string): string {
  if (value.indexOf('%') === -1) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function verifiedNow(raw: string, keys: KeyObject[]): SignedId | undefined {
  if (raw.substr(0, 2) !== 's:') {
    debug('cookie set aside: not a signed session ID (no "s:" prefix)');
    return undefined;
  }
  const found = verify(raw.slice(2), keys);
  if (!found || !found.value) {
    debug('cookie set aside: its signature does not verify with any secret');
    return undefined;
  }
  return { id: found.value, signed: found.key === 0 ? raw : undefined };
}
