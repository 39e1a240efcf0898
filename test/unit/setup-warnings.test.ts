/**
 * What the app is told at setup: express-session's two deprecation messages, each with the place
 * in the app's code that set the middleware up; a missing secret said at startup, an empty one
 * refused; cookieSession() refusing options that mean nothing without a store.
 */
import { maxHeaderSize } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import session from '../../src/index.js';
import { cookieSession } from '../../src/cookie-session/index.js';
import { expressSession } from './harness.js';

const THIS_FILE = 'setup-warnings.test.ts';
const SECRET = 'a'.repeat(32);

let warnings: Array<{ name: string; code?: string; message: string }> = [];
let deprecations: Array<{ message: string; stack: string }> = [];
const onWarning = (w: Error & { code?: string }) => warnings.push({ name: w.name, code: w.code, message: w.message });
const onDeprecation = (e: Error) => deprecations.push({ message: e.message, stack: String(e.stack) });

beforeEach(() => {
  warnings = [];
  deprecations = [];
  process.on('warning', onWarning);
  // depd (express-session's) reports here instead of printing when someone listens.
  process.on('deprecation', onDeprecation);
});
afterEach(() => {
  process.off('warning', onWarning);
  process.off('deprecation', onDeprecation);
});

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('deprecation warnings', () => {
  it('both of express-session\'s messages, each with the location that called session()', async () => {
    expressSession({ secret: 'x' });
    session({ secret: 'x' });
    await settle();
    const messages = (list: Array<{ message: string }>) => list.map((w) => w.message.replace(/^sessionkit deprecated /, '').replace(/ \(at .*\)$/, ''));
    expect(deprecations.map((d) => d.message)).toEqual([
      'undefined resave option; provide resave option',
      'undefined saveUninitialized option; provide saveUninitialized option',
    ]);
    const ours = warnings.filter((w) => w.name === 'DeprecationWarning');
    expect(messages(ours)).toEqual(messages(deprecations));
    for (const d of deprecations) expect(d.stack).toContain(THIS_FILE);
    for (const w of ours) expect(w.message).toMatch(new RegExp(`\\(at [^)]*${THIS_FILE.replace('.', '\\.')}:\\d+:\\d+\\)$`));
    expect(ours.map((w) => w.code)).toEqual(['SESSIONKIT_RESAVE', 'SESSIONKIT_SAVE_UNINITIALIZED']);
  });

  it('once per place, as depd does: the same call site again says nothing', async () => {
    const make = () => session({ secret: 'x', resave: false });
    make();
    make();
    await settle();
    expect(warnings.filter((w) => w.code === 'SESSIONKIT_SAVE_UNINITIALIZED')).toHaveLength(1);
  });

  it('none when both options are given', async () => {
    session({ secret: 'x', resave: false, saveUninitialized: false });
    await settle();
    expect(warnings).toEqual([]);
  });
});

describe('the secret', () => {
  it("'' is refused at setup, naming the fix", () => {
    expect(() => session({ secret: '', resave: false, saveUninitialized: false })).toThrow(/secret option must not be empty.*SESSION_SECRET/);
  });

  it('none at all is said at startup (cookie-parser may still supply it)', async () => {
    session({ resave: false, saveUninitialized: false });
    session({ secret: process.env.SESSIONKIT_SURELY_UNSET_VARIABLE, resave: false, saveUninitialized: false });
    await settle();
    const said = warnings.filter((w) => w.code === 'SESSIONKIT_NO_SECRET');
    expect(said).toHaveLength(2);
    expect(said[0]!.message).toMatch(/no secret option.*cookie-parser.*secret option required for sessions.*SESSION_SECRET/);
    expect(said[0]!.message).toContain(THIS_FILE);
  });
});

describe('cookieSession() options', () => {
  for (const [option, value] of [['store', {}], ['resave', false], ['genid', () => 'id'], ['unset', 'destroy'], ['touchAfter', 60], ['key', 'sid']] as const) {
    it(`refuses ${option}, which means nothing without a store`, () => {
      expect(() => cookieSession({ secret: SECRET, [option]: value } as never)).toThrow(new RegExp(`cookieSession has no ${option} option`));
    });
  }

  it(`refuses a maxSize above what a request's headers may hold (${maxHeaderSize} bytes here)`, () => {
    expect(() => cookieSession({ secret: SECRET, maxSize: maxHeaderSize })).not.toThrow();
    expect(() => cookieSession({ secret: SECRET, maxSize: maxHeaderSize + 1 })).toThrow(/maxSize option must be at most \d+ bytes.*maxHeaderSize/);
  });

  it('warns about nothing of session()\'s (no secret, resave or saveUninitialized warnings)', async () => {
    cookieSession({ secret: SECRET });
    await settle();
    expect(warnings).toEqual([]);
  });
});
