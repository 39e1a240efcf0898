import { serialize } from 'cookie';
import type { Cookie } from '../core/cookie.js';

/** What browsers keep of one cookie: RFC 6265's minimum, counted here over the whole Set-Cookie value. */
const MAX_COOKIE_BYTES = 4096;
/** The chunk count is written as one or two digits in the first cookie. */
const MAX_CHUNKS = 99;
export const CHUNK_INDEX = /^[1-9][0-9]?$/;
export const FIRST_CHUNK = /^([1-9][0-9]?)\.([A-Za-z0-9_-]*)$/;

export function chunkName(name: string, index: number): string {
  return index === 0 ? name : `${name}.${index}`;
}

/**
 * Splits a sealed value over numbered cookies, each Set-Cookie (attributes included) at most
 * 4096 bytes. The first cookie's value starts with the count, so a missing or stale chunk
 * is noticed instead of being joined in. Beyond 99 cookies the size is reported as Infinity.
 */
export function splitIntoCookies(name: string, sealed: string, cookie: Cookie): { headers: string[]; size: number } {
  const room: number[] = [];
  let total = 0;
  for (let count = 1; ; count++) {
    if (count > MAX_CHUNKS) return { headers: [], size: Infinity };
    const space = MAX_COOKIE_BYTES - cookie.serialize(chunkName(name, count - 1), '').length;
    if (space < 64) throw new Error('sessionkit/cookie: the cookie attributes leave no room for the session');
    room.push(space);
    total += space;
    const prefix = `${count}.`;
    if (total - prefix.length >= sealed.length) {
      room[0]! -= prefix.length;
      break;
    }
  }
  const headers: string[] = [];
  let size = 0;
  let offset = 0;
  for (let index = 0; index < room.length; index++) {
    let value = sealed.slice(offset, offset + room[index]!);
    offset += value.length;
    if (index === 0) value = `${room.length}.${value}`;
    const cookieName = chunkName(name, index);
    headers.push(cookie.serialize(cookieName, value));
    size += (index === 0 ? 0 : 2) + cookieName.length + 1 + value.length;
  }
  return { headers, size };
}

/** A Set-Cookie that makes the browser drop one of the session's cookies. */
export function clearingCookie(name: string, index: number, cookie: Cookie | undefined): string {
  const data = cookie?.data;
  return serialize(chunkName(name, index), '', {
    path: data?.path ?? '/',
    domain: data?.domain,
    secure: data?.secure,
    httpOnly: data?.httpOnly,
    sameSite: data?.sameSite,
    partitioned: data?.partitioned,
    expires: new Date(0),
  });
}
