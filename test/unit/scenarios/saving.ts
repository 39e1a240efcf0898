/**
 * When a session is saved, touched and its cookie sent: saveUninitialized, resave,
 * rolling, maxAge.
 */
import { expect } from 'vitest';
import type { Scenario } from '../harness.js';
import { cookieOpts, get, minute, saveUninitialized, sent } from './common.js';

/** saveUninitialized, resave and rolling, alone and together. */
export const savingScenarios: Scenario[] = [
  {
    name: 'an untouched new session is neither saved nor sent (saveUninitialized false)',
    tags: ['saving'],
    steps: [get('/'), get('/view')],
    check: (r) => expect(r.steps.every((s) => !sent(s) && s.calls.length === 0)).toBe(true),
  },
  {
    name: 'saveUninitialized true saves and sends a new session',
    tags: ['saving'],
    options: saveUninitialized(true),
    steps: [get('/'), get('/view'), get('/view')],
    check: (r) => expect(sent(r.steps[0]!)).toBe(true),
  },
  {
    name: 'a modified new session is saved and loaded by later requests',
    tags: ['saving'],
    steps: [get('/set?a=1'), get('/view'), get('/set?b=2'), get('/view')],
  },
  {
    name: 'resave true saves unmodified sessions',
    tags: ['saving'],
    options: () => ({ resave: true }),
    steps: [get('/set?a=1'), get('/view'), get('/view')],
  },
  {
    name: 'resave false touches unmodified sessions (store with touch)',
    tags: ['saving', 'touch'],
    options: cookieOpts({ maxAge: 10 * minute }),
    steps: [get('/set?a=1'), get('/view', { advance: 1000 }), get('/view', { advance: 1000 })],
    check: (r) => expect(r.steps[1]!.calls.some((c: any) => c[0] === 'touch')).toBe(true),
  },
  {
    name: 'resave false with a store without touch',
    tags: ['saving', 'touch'],
    thirdPartyOnly: true,
    store: { noTouch: true },
    options: cookieOpts({ maxAge: 10 * minute }),
    steps: [get('/set?a=1'), get('/view', { advance: 1000 })],
  },
  {
    name: 'resave true and saveUninitialized true',
    tags: ['saving'],
    options: () => ({ resave: true, saveUninitialized: true }),
    steps: [get('/'), get('/view'), get('/set?a=1')],
  },
  {
    name: 'resave and saveUninitialized left unset (deprecated defaults: true)',
    tags: ['saving', 'deprecated'],
    options: () => ({ resave: undefined, saveUninitialized: undefined }),
    steps: [get('/'), get('/view')],
  },
  {
    name: 'rolling sends the cookie on every response',
    tags: ['saving', 'rolling'],
    options: cookieOpts({ maxAge: 10 * minute }, { rolling: true }),
    steps: [get('/set?a=1'), get('/view', { advance: 5000 }), get('/', { advance: 5000 })],
    check: (r) => expect(r.steps.every(sent)).toBe(true),
  },
  {
    name: 'rolling with a browser-session cookie',
    tags: ['saving', 'rolling'],
    options: () => ({ rolling: true }),
    steps: [get('/set?a=1'), get('/view'), get('/')],
  },
  {
    name: 'rolling with saveUninitialized false does not send an untouched new session',
    tags: ['saving', 'rolling'],
    options: () => ({ rolling: true }),
    steps: [get('/'), get('/')],
  },
  {
    name: 'an existing session with maxAge gets a new cookie when modified',
    tags: ['saving', 'expiry'],
    options: cookieOpts({ maxAge: 10 * minute }),
    steps: [get('/set?a=1'), get('/view', { advance: 60_000 }), get('/set?b=2', { advance: 60_000 }), get('/same-value')],
  },
  {
    name: 'an existing browser-session cookie is not resent when modified',
    tags: ['saving'],
    steps: [get('/set?a=1'), get('/set?b=2')],
  },
  {
    name: 'a session expires after maxAge',
    tags: ['saving', 'expiry'],
    options: cookieOpts({ maxAge: 1000 }),
    steps: [get('/set?a=1'), get('/view', { advance: 500 }), get('/view', { advance: 2000 })],
  },
  {
    name: 'deleting a key and setting the same value',
    tags: ['saving'],
    steps: [get('/set?a=1&b=2'), get('/same-value'), get('/delete-key'), get('/view')],
  },
];
