/**
 * Store methods wrapped or replaced by the app, on every sessionkit store: the same app runs
 * under express-session and under sessionkit, each on a fresh store of the same kind with the
 * same spies, and both must make the same calls, in the same order, with the same responses.
 */
import { describe, expect, it } from 'vitest';
import {
  flowApp, kinds, loginFlow, middlewares, normalised, sessionOptions, spyingSubclass, Visitor, wrap,
  type Call, type Extend, type Kind, type Method, type Seen,
} from './wrapped-methods.js';

interface Run {
  calls: string[];
  seen: Seen[];
}

/**
 * Runs `flow` once per middleware, each on a fresh store of `kind`: `prepare` puts the spies on
 * the store (or `extend` makes it a subclass) before the middleware is made.
 */
async function differential(
  kind: Kind,
  tag: string,
  flow: (visitor: Visitor, store: any, calls: Call[]) => Promise<void>,
  { prepare = () => {}, extend, options = {} }: {
    prepare?: (store: any, calls: Call[]) => void;
    extend?: (calls: Call[]) => Extend;
    options?: object;
  } = {},
): Promise<Record<string, Run>> {
  const runs: Record<string, Run> = {};
  for (const { name, session } of middlewares) {
    const calls: Call[] = [];
    const opened = await kind.open(`${tag}${name === 'sessionkit' ? 'k' : 'e'}`, extend?.(calls));
    try {
      prepare(opened.store, calls);
      const visitor = new Visitor(flowApp(session({ ...sessionOptions, ...options, store: opened.store })));
      await flow(visitor, opened.store, calls);
      runs[name] = { calls: normalised(calls), seen: visitor.seen };
    } finally {
      await opened.close();
    }
  }
  return runs;
}

function expectSame(runs: Record<string, Run>): void {
  const theirs = runs['express-session']!;
  const ours = runs.sessionkit!;
  expect(ours.seen).toEqual(theirs.seen);
  expect(ours.calls).toEqual(theirs.calls);
}

const count = (calls: string[], method: string) => calls.filter((c) => c.startsWith(`${method} `)).length;

const wrapping = (methods: Method[]) => ({ prepare: (store: any, calls: Call[]) => void wrap(store, methods, calls) });

describe.each(kinds)('$name: wrapped and replaced methods, as under express-session', (kind) => {
  it('a spy wrapping get and set on the instance sees the same calls (2 sets over login + write)', async () => {
    const runs = await differential(kind, 'gs', loginFlow, wrapping(['get', 'set']));
    // The flow itself, so that agreeing on it means something.
    expect(runs['express-session']!.calls).toEqual([
      'set #0 {"user":"alice"}',
      'get #0',
      'set #0 {"user":"alice","n":1}',
      'get #0',
      'get #0',
      'get #0',
      'get #0',
    ]);
    expect(count(runs.sessionkit!.calls, 'set')).toBe(2);
    expectSame(runs);
  });

  it('a subclass overriding get and set sees the same calls', async () => {
    const runs = await differential(kind, 'sub', loginFlow, { extend: spyingSubclass });
    expect(count(runs['express-session']!.calls, 'set')).toBe(2);
    expectSame(runs);
  });

  it('wrapped destroy and touch see the same calls', async () => {
    const runs = await differential(kind, 'dt', loginFlow, wrapping(['destroy', 'touch']));
    expect(runs['express-session']!.calls).toEqual([
      // regenerate() at login destroys the session the request started with.
      'destroy #0',
      'touch #1 {"user":"alice","n":1}',
      'touch #1 {"user":"alice","n":1}',
      'destroy #1',
    ]);
    expectSame(runs);
  });

  it('all four wrapped see the same calls', async () => {
    const runs = await differential(kind, 'all', loginFlow, wrapping(['get', 'set', 'destroy', 'touch']));
    expect(runs['express-session']!.calls).toEqual([
      'destroy #0',
      'set #1 {"user":"alice"}',
      'get #1',
      'set #1 {"user":"alice","n":1}',
      'get #1',
      'touch #1 {"user":"alice","n":1}',
      'get #1',
      'touch #1 {"user":"alice","n":1}',
      'get #1',
      'destroy #1',
      'get #1',
    ]);
    expectSame(runs);
  });

  it.each([
    { resave: true },
    { rolling: true },
    { saveUninitialized: true },
    { resave: true, rolling: true, saveUninitialized: true },
  ])('all four wrapped see the same calls with %o, from a first visit without a cookie', async (options) => {
    const runs = await differential(kind, 'opt', async (visitor) => {
      await visitor.go('get', '/page');
      await loginFlow(visitor);
    }, { ...wrapping(['get', 'set', 'destroy', 'touch']), options });
    if ('resave' in options) expect(count(runs['express-session']!.calls, 'set')).toBeGreaterThan(2);
    expectSame(runs);
  });

  it('save() and reload() called by the app, with get and set wrapped, make the same calls', async () => {
    const runs = await differential(kind, 'sr', async (visitor) => {
      await visitor.go('post', '/login');
      await visitor.go('post', '/save-then-write');
      await visitor.go('get', '/reload');
      await visitor.go('post', '/save-then-write');
    }, wrapping(['get', 'set']));
    expect(runs['express-session']!.calls).toEqual([
      'set #0 {"user":"alice"}',
      'get #0',
      'set #0 {"user":"alice","n":1}',
      'set #0 {"user":"alice","n":1,"saved":true}',
      'get #0',
      'get #0',
      'get #0',
      // `saved` was already true: the end of the request has nothing more to save.
      'set #0 {"user":"alice","n":2,"saved":true}',
    ]);
    expectSame(runs);
  });

  it('a logging wrapper on every method of the instance, the conditional ones too, sees the same calls', async () => {
    const runs = await differential(kind, 'every', loginFlow,
      wrapping(['get', 'set', 'destroy', 'touch', 'getVersioned', 'setIfVersion']));
    expect(count(runs['express-session']!.calls, 'set')).toBe(2);
    expectSame(runs);
  });

  it('a spy wrapping set after the middleware was made, mid-session, sees the same calls', async () => {
    const runs = await differential(kind, 'late', async (visitor, store, calls) => {
      await visitor.go('post', '/login');
      await visitor.go('post', '/write');
      wrap(store, ['set'], calls);
      await visitor.go('post', '/write');
      await visitor.go('post', '/write');
      await visitor.go('get', '/read');
    });
    expect(runs['express-session']!.calls).toEqual(['set #0 {"user":"alice","n":2}', 'set #0 {"user":"alice","n":3}']);
    expectSame(runs);
  });

  it('get replaced to call back with an error: both answer 500 with its message', async () => {
    const runs = await differential(kind, 'err', async (visitor, store) => {
      await visitor.go('post', '/login');
      await visitor.go('post', '/write');
      failing.set(store, new Error('the session store is unreachable'));
      await visitor.go('get', '/read');
      await visitor.go('post', '/write');
    }, replacingGet);
    expect(runs['express-session']!.seen.slice(2).map((s) => [s.status, s.body])).toEqual([
      [500, 'the session store is unreachable'],
      [500, 'the session store is unreachable'],
    ]);
    expectSame(runs);
  });

  it('get replaced to call back with ENOENT: both start a fresh session', async () => {
    const runs = await differential(kind, 'enoent', async (visitor, store) => {
      await visitor.go('post', '/login');
      await visitor.go('post', '/write');
      failing.set(store, Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' }));
      await visitor.go('get', '/read');
      await visitor.go('post', '/write');
      await visitor.go('get', '/read');
    }, replacingGet);
    const theirs = runs['express-session']!;
    expect(theirs.seen.slice(2).map((s) => [s.status, s.body, s.setsCookie])).toEqual([
      [200, { user: null, n: null }, false],
      [200, { user: null, n: 1 }, true],
      [200, { user: null, n: null }, false],
    ]);
    // The write after the missing record saved a new session, under a new ID.
    expect(theirs.calls.filter((c) => c.startsWith('set '))).toEqual([
      'set #1 {"user":"alice"}',
      'set #1 {"user":"alice","n":1}',
      'set #2 {"n":1}',
    ]);
    expectSame(runs);
  });
});

/** The error a replaced get calls back with, per store; none means it reads the store. */
const failing = new WeakMap<object, Error>();

/**
 * `get` replaced on the instance by one that writes the call down and, once an error is set
 * for the store, calls back with it instead of reading; set, destroy and touch wrapped.
 */
const replacingGet = {
  prepare(store: any, list: Call[]) {
    const { get } = store;
    store.get = function (this: unknown, sid: string, callback: (err: unknown, value?: unknown) => void) {
      list.push({ method: 'get', sid });
      const error = failing.get(store);
      if (error) setImmediate(() => callback(error));
      else return get.call(this, sid, callback);
    };
    wrap(store, ['set', 'destroy', 'touch'], list);
  },
};
