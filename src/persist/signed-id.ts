import type { KeyObject } from 'node:crypto';
import { parse as parseCookieHeader } from 'cookie';
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
    const found = verified(parseCookieHeader(header)[name], keys);
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

/** Cookie values (`s:` prefix included) whose signature verified, per key list, with what they verified as. */
const verifiedByKeys = new WeakMap<KeyObject[], Map<string, SignedId>>();

function verified(raw: string | undefined, keys: KeyObject[]): SignedId | undefined {
  if (!raw) return undefined;
  let known = verifiedByKeys.get(keys);
  const hit = known?.get(raw);
  if (hit) return hit;
  const found = verifiedNow(raw, keys);
  if (found) {
    if (!known) verifiedByKeys.set(keys, (known = new Map()));
    if (known.size >= VERIFIED_MAX) known.delete(known.keys().next().value!);
    known.set(raw, found);
  }
  return found;
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
