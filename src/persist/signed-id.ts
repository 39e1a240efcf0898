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

function verified(raw: string | undefined, keys: KeyObject[]): SignedId | undefined {
  if (!raw) return undefined;
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
