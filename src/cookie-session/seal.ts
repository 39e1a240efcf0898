import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { isSafeKey } from '../core/changes.js';
import { META_KEY, metaOf, type SessionMeta } from '../core/meta.js';
import { toKeys } from '../core/signature.js';

// The seal is a small library of its own, usable without a request: `seal()` encrypts and
// authenticates, `unseal()` opens only what one of these secrets sealed for this cookie name.

// The seal: version byte, key day (uint16), 96-bit random IV, AES-256-GCM ciphertext, 128-bit tag, in base64url.
const SEAL_VERSION = 1;
const DAY_BYTES = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + DAY_BYTES + IV_BYTES;
const DAY_MS = 24 * 60 * 60 * 1000;
const HKDF_SALT = Buffer.from('sessionkit/cookie');
/** Day keys kept at once: today's and those of the older seals still coming in, per secret. */
const MAX_CACHED_KEYS = 64;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * What the seal holds: the session ID, the expiry the server enforces (ms since epoch), the
 * session, and its meta (created, seen, device) when a feature needs it: older seals have none.
 */
export interface Sealed {
  i: string;
  e: number;
  s: Record<string, unknown>;
  m?: SessionMeta;
}

/**
 * The AES-256 keys. Each secret gives a master key, derived once here; each master gives a
 * key per UTC day, derived on first use and kept. With random 96-bit IVs one AES-GCM key may
 * seal at most 2^32 times; a key per day keeps far below that at any traffic, where one key
 * per secret would reach it in weeks on a busy site with `rolling`.
 */
export class SealKeys {
  private readonly masters: KeyObject[];
  private readonly cache = new Map<string, KeyObject>();

  constructor(secret: unknown) {
    if (secret === undefined || secret === null || secret === '') {
      throw new TypeError('cookieSession requires a secret option');
    }
    // HKDF does not stretch a weak secret, and anyone holding a cookie can test guesses offline.
    for (const s of Array.isArray(secret) ? secret : [secret]) {
      const length = typeof s === 'string' ? s.length : Buffer.isBuffer(s) ? s.length : -1;
      if (length >= 0 && length < 32) {
        throw new TypeError(
          'cookieSession secret must be at least 32 characters (or bytes) of randomness, ' +
            "for example crypto.randomBytes(32).toString('base64')",
        );
      }
    }
    const secrets = toKeys(secret);
    if (!secrets) throw new TypeError('cookieSession requires a secret option');
    this.masters = secrets.map((ikm) => derive(ikm, HKDF_SALT, 'master key v1'));
  }

  get count(): number {
    return this.masters.length;
  }

  key(index: number, day: number): KeyObject {
    const id = `${index}:${day}`;
    let key = this.cache.get(id);
    if (key) {
      // Most recently used last, so the oldest is the one dropped.
      this.cache.delete(id);
    } else {
      key = derive(this.masters[index]!, Buffer.alloc(0), `aes-256-gcm day ${day}`);
      if (this.cache.size >= MAX_CACHED_KEYS) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(id, key);
    return key;
  }
}

function derive(ikm: KeyObject, salt: Buffer, info: string): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', ikm, salt, info, 32)));
}

function today(): number {
  return Math.floor(Date.now() / DAY_MS);
}

export function seal(plaintext: string, keys: SealKeys, aad: Buffer): string {
  const day = today();
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = SEAL_VERSION;
  header.writeUInt16BE(day, 1);
  randomBytes(IV_BYTES).copy(header, 1 + DAY_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.key(0, day), header.subarray(1 + DAY_BYTES));
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]).toString('base64url');
}

/**
 * The plaintext, the index of the secret that opened it and the UTC day it was sealed on (days
 * since the epoch), or undefined for anything else.
 */
export function unseal(sealed: string, keys: SealKeys, aad: Buffer): { text: string; keyIndex: number; day: number } | undefined {
  if (!BASE64URL.test(sealed)) return undefined;
  const bytes = Buffer.from(sealed, 'base64url');
  // Only the canonical encoding: otherwise the spare low bits of the last character could change unnoticed.
  if (bytes.toString('base64url') !== sealed) return undefined;
  if (bytes.length < HEADER_BYTES + TAG_BYTES || bytes[0] !== SEAL_VERSION) return undefined;
  const day = bytes.readUInt16BE(1);
  // No key is derived for a day that has not come (a day later allows for clocks a little ahead).
  if (day > today() + 1) return undefined;
  const iv = bytes.subarray(1 + DAY_BYTES, HEADER_BYTES);
  const body = bytes.subarray(HEADER_BYTES, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  for (let keyIndex = 0; keyIndex < keys.count; keyIndex++) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', keys.key(keyIndex, day), iv);
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      const text = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      return { text, keyIndex, day };
    } catch {
      // Not this secret (or not a seal at all): try the next one.
    }
  }
  return undefined;
}

export function parseSealed(text: string): Sealed | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const v = value as Partial<Sealed> | null;
  if (!v || typeof v.i !== 'string' || typeof v.e !== 'number' || !v.s || typeof v.s !== 'object') return undefined;
  if (!v.s.cookie || typeof v.s.cookie !== 'object') return undefined;
  const record: Record<string, unknown> = {};
  for (const key of Object.keys(v.s)) {
    if (isSafeKey(key)) record[key] = v.s[key];
  }
  // Sealed by this library, so never malformed in practice; a meta that does not read counts as none.
  const m = v.m === undefined ? undefined : metaOf({ cookie: {}, [META_KEY]: v.m } as never);
  return m ? { i: v.i, e: v.e, s: record, m } : { i: v.i, e: v.e, s: record };
}

/** The first millisecond of a seal's UTC day: the earliest it can have been sealed. */
export function dayStart(day: number): number {
  return day * DAY_MS;
}
