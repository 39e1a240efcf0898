/**
 * The other side of the rule, on every sessionkit store: with get, set, destroy and touch left
 * as the store's class has them, sessionkit writes a loaded session with the store's
 * conditional write (never `set`), so overlapping requests lose nothing; once `set` is wrapped
 * the wrapper sees every save; once it is put back, the conditional writes return.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import session from '../../src/index.js';
import { callOf, flowApp, kinds, normalised, sessionOptions, Visitor, wrap, type Call, type Opened } from './wrapped-methods.js';

const KEYS = 30;

/** 30 overlapping requests with the same cookie, each setting its own key (`<prefix>00`...), then the keys the session keeps. */
async function overlapping(visitor: Visitor, prefix: string): Promise<string[]> {
  const keys = Array.from({ length: KEYS }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
  await Promise.all(keys.map((key, i) =>
    request(visitor.app).get(`/set/${key}?delay=${(i * 7) % 50}`).set('Cookie', visitor.cookieHeader).expect(200)));
  const kept = (await visitor.go('get', '/keys')).body as string[];
  return kept.filter((key) => key.startsWith(prefix));
}

describe.each(kinds)('$name: conditional writes while nothing is wrapped', (kind) => {
  let opened: Opened;
  /** What the store's conditional methods were asked, seen by wrappers on them (which leave the rule alone). */
  let conditional: Call[];
  /** What a spy on `set` saw, once one is put there. */
  let sets: Call[];
  let visitor: Visitor;

  beforeEach(async () => {
    opened = await kind.open('cond');
    conditional = [];
    sets = [];
    wrap(opened.store, ['getVersioned', 'setIfVersion'], conditional);
    visitor = new Visitor(flowApp(session({ ...sessionOptions, store: opened.store })));
    await visitor.go('post', '/login');
  });
  afterEach(() => opened.close());

  it('a write to a loaded session goes through the conditional write, and 30 overlapping writes keep 30/30', async () => {
    await visitor.go('post', '/write');
    expect(normalised(conditional)).toEqual(['getVersioned #0', 'setIfVersion #0 {"user":"alice","n":1}']);
    conditional.length = 0;

    expect(await overlapping(visitor, 'a')).toHaveLength(KEYS);
    // One load per request (and for /keys); the writes of overlapping requests go out in groups
    // (group commit), so there are conditional writes, but fewer than requests may need, and no set.
    expect(conditional.filter((c) => c.method === 'getVersioned')).toHaveLength(KEYS + 1);
    expect(conditional.filter((c) => c.method === 'setIfVersion').length).toBeGreaterThanOrEqual(1);
  });

  it('with set wrapped, the wrapper sees every save and the conditional methods are left alone', async () => {
    wrap(opened.store, ['set'], sets);
    await visitor.go('post', '/write');
    expect(normalised(sets)).toEqual(['set #0 {"user":"alice","n":1}']);

    await overlapping(visitor, 'b');
    expect(sets).toHaveLength(1 + KEYS);
    expect(sets.slice(1).map((c) => JSON.parse(c.data!))).toEqual(
      expect.arrayContaining(Array.from({ length: KEYS }, (_, i) => expect.objectContaining({ [`b${String(i).padStart(2, '0')}`]: true }))),
    );
    expect(conditional).toEqual([]);
  });

  it('putting the original set back (by assignment) brings the conditional writes back on the next request', async () => {
    const { set } = wrap(opened.store, ['set'], sets);
    await visitor.go('post', '/write');
    expect(sets).toHaveLength(1);
    expect(conditional).toEqual([]);

    opened.store.set = set;
    await visitor.go('post', '/write');
    expect(sets).toHaveLength(1);
    expect(normalised(conditional)).toEqual(['getVersioned #0', 'setIfVersion #0 {"user":"alice","n":2}']);
    expect(await overlapping(visitor, 'c')).toHaveLength(KEYS);
    expect(sets).toHaveLength(1);
  });

  it('deleting the wrapper from the instance brings the conditional writes back on the next request', async () => {
    wrap(opened.store, ['get', 'set', 'destroy', 'touch'], sets);
    await visitor.go('post', '/write');
    expect(normalised(sets)).toEqual(['get #0', 'set #0 {"user":"alice","n":1}']);
    expect(conditional).toEqual([]);

    for (const method of ['get', 'set', 'destroy', 'touch']) delete opened.store[method];
    await visitor.go('post', '/write');
    expect(sets).toHaveLength(2);
    expect(normalised(conditional)).toEqual(['getVersioned #0', 'setIfVersion #0 {"user":"alice","n":2}']);
  });
});

describe.each(kinds)('$name: a subclass that overrides the conditional methods along with set', (kind) => {
  let opened: Opened;
  const sets: Call[] = [];
  const conditional: Call[] = [];
  afterEach(() => opened.close());

  it('keeps the conditional writes: its set is called for the new session only, never for a write to a loaded one', async () => {
    opened = await kind.open('paired', (Base) =>
      class PairedStore extends Base {
        set(...a: any[]) {
          sets.push(callOf('set', a));
          return super.set(...a);
        }

        getVersioned(...a: any[]) {
          conditional.push(callOf('getVersioned', a));
          return super.getVersioned(...a);
        }

        setIfVersion(...a: any[]) {
          conditional.push(callOf('setIfVersion', a));
          return super.setIfVersion(...a);
        }
      });
    const visitor = new Visitor(flowApp(session({ ...sessionOptions, store: opened.store })));
    await visitor.go('post', '/login');
    await visitor.go('post', '/write');
    expect(normalised(sets)).toEqual(['set #0 {"user":"alice"}']);
    expect(normalised(conditional)).toEqual(['getVersioned #0', 'setIfVersion #0 {"user":"alice","n":1}']);
    expect(await overlapping(visitor, 'p')).toHaveLength(KEYS);
    expect(sets).toHaveLength(1);
  });
});
