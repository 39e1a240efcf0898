/**
 * What the scenario files share: signed cookies and stored records as express-session
 * writes them, and shorthands for steps and options.
 */
import { createRequire } from 'node:module';
import { NOW, type Step } from '../harness.js';

const require = createRequire(import.meta.url);
const signature = require('cookie-signature');

export const minute = 60_000;

/** A Cookie header carrying `id` signed with `secret`, as express-session writes it. */
export function signedCookie(id: string, secret = 'keyboard cat', name = 'connect.sid'): string {
  return `${name}=${encodeURIComponent('s:' + signature.sign(id, secret))}`;
}

/** A stored record as express-session writes it. */
export function rec(data: Record<string, unknown> = {}, maxAge: number | null = null, extra: Record<string, unknown> = {}) {
  return {
    cookie: {
      originalMaxAge: maxAge,
      expires: maxAge === null ? null : new Date(NOW + maxAge).toISOString(),
      httpOnly: true,
      path: '/',
      ...extra,
    },
    ...data,
  };
}

export const get = (path: string, more: Partial<Step> = {}): Step => ({ path, ...more });

export const sent = (r: { setCookie: string[] }) => r.setCookie.length > 0;

export const saveUninitialized = (value: boolean) => () => ({ saveUninitialized: value });
export const cookieOpts = (cookie: unknown, more: Record<string, unknown> = {}) => () => ({ cookie, ...more });
