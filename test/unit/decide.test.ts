/**
 * The end-of-request decisions as pure functions: express-session's rules, table by table.
 */
import { describe, expect, it } from 'vitest';
import { shouldSave, shouldSetCookie, shouldTouch, touchIsDue, type SessionState } from '../../src/core/decide.js';

const base: SessionState = { idIsString: true, isNew: false, modified: false, saved: false, everSaved: false };
const state = (s: Partial<SessionState>): SessionState => ({ ...base, ...s });
const policy = (saveUninitialized: boolean, rolling = false) => ({ saveUninitialized, rolling });

describe('shouldSave', () => {
  it.each([
    ['new, untouched, saveUninitialized false', state({ isNew: true }), policy(false), false],
    ['new, untouched, saveUninitialized true', state({ isNew: true }), policy(true), true],
    ['new, modified', state({ isNew: true, modified: true }), policy(false), true],
    ['new, saved during the request and unchanged since', state({ isNew: true, modified: true, saved: true, everSaved: true }), policy(false), false],
    ['new, saved during the request, changed since', state({ isNew: true, modified: true, everSaved: true }), policy(false), true],
    ['loaded with resave off (counts as saved)', state({ saved: true, everSaved: true }), policy(false), false],
    ['loaded with resave on', state({}), policy(false), true],
    ['loaded, modified', state({ modified: true, everSaved: true }), policy(false), true],
    ['no string id', state({ idIsString: false, isNew: true, modified: true }), policy(true), false],
  ])('%s', (_label, s, p, expected) => {
    expect(shouldSave(s, p)).toBe(expected);
  });
});

describe('shouldTouch', () => {
  it.each([
    ['loaded, unmodified, resave off', state({ saved: true, everSaved: true }), true],
    ['loaded, modified (saved instead)', state({ modified: true, everSaved: true }), false],
    ['new session', state({ isNew: true, saved: true, everSaved: true }), false],
    ['no string id', state({ idIsString: false, saved: true }), false],
  ])('%s', (_label, s, expected) => {
    expect(shouldTouch(s, policy(false))).toBe(expected);
  });
});

describe('shouldSetCookie', () => {
  it.each([
    ['new, untouched, saveUninitialized false', state({ isNew: true }), policy(false), false, false],
    ['new, untouched, saveUninitialized true', state({ isNew: true }), policy(true), false, true],
    ['new, modified', state({ isNew: true, modified: true }), policy(false), false, true],
    ['loaded, rolling', state({}), policy(false, true), false, true],
    ['loaded, modified, browser-session cookie', state({ modified: true }), policy(false), false, false],
    ['loaded, modified, expiring cookie', state({ modified: true }), policy(false), true, true],
    ['loaded, unmodified, expiring cookie', state({}), policy(false), true, false],
    ['no string id', state({ idIsString: false, isNew: true }), policy(true, true), true, false],
  ])('%s', (_label, s, p, expires, expected) => {
    expect(shouldSetCookie(s, p, expires)).toBe(expected);
  });
});

describe('touchIsDue', () => {
  const hour = 3_600_000;
  const writtenAt = 1_000_000;
  it.each([
    ['touchAfter off', writtenAt + hour, hour, 0, writtenAt + 1, true],
    ['within the period', writtenAt + hour, hour, 60_000, writtenAt + 59_999, false],
    ['at the end of the period', writtenAt + hour, hour, 60_000, writtenAt + 60_000, true],
    ['no stored expiry', undefined, hour, 60_000, writtenAt, true],
    ['browser-session cookie', writtenAt + hour, null, 60_000, writtenAt, true],
  ])('%s', (_label, loadedExpires, originalMaxAge, touchAfterMs, now, expected) => {
    expect(touchIsDue(loadedExpires, originalMaxAge, touchAfterMs, now)).toBe(expected);
  });
});
