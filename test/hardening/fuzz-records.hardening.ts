/**
 * Fuzzing stored records, written straight into each store's backend (a Redis key, a SQL row,
 * MemoryStore's saved text) under a session ID whose cookie is validly signed: broken JSON,
 * `__proto__` and `constructor` keys, cookie fields of the wrong type, huge and deeply nested
 * records. A request on such a session, reading or writing, gets the session, a fresh one,
 * or the app's 5xx; what is saved afterwards is a readable record; nothing is polluted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import express from 'express';
import session from '../../src/index.js';
import { sign } from '../../src/core/signature.js';
import {
  openStore, POLLUTION_KEY, polluted, prototypeKeys, randomFor, report, scaled, send, serve, SEED, STORE_NAMES, Tally, watchProcess,
  type Random,
} from './harness.js';

const SECRET = 'hardening stored record secret';
const INPUTS = scaled(80);

const watch = watchProcess();
const protoBefore = prototypeKeys();
afterAll(() => watch.stop());

/** Errors the app's handler was given after the response had gone out: it cannot answer them, so it records them. */
const late: string[] = [];

function app(store: any) {
  const a = express();
  a.use(session({ secret: SECRET, store, resave: false, saveUninitialized: false, cookie: { maxAge: 600_000 } }));
  a.get('/read', (req, res) => {
    const s = req.session as any;
    res.json({ id: req.sessionID, marked: s.mark === 'stored', probe: ({} as any)[POLLUTION_KEY] ?? null });
  });
  a.get('/write', (req, res) => {
    const s = req.session as any;
    s.written = (typeof s.written === 'number' ? s.written : 0) + 1;
    res.json({ id: req.sessionID, marked: s.mark === 'stored' });
  });
  a.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (res.headersSent) {
      late.push(err.message);
      return;
    }
    res.status(503).set('x-app-error', '1').json({ error: err.message });
  });
  return a;
}

const future = () => new Date(Date.now() + 3_600_000).toISOString();
const goodCookie = () => ({ originalMaxAge: 3_600_000, expires: future(), httpOnly: true, path: '/' });

/** A stored text of a random kind; `kind` names it in the report. */
function generate(r: Random): { kind: string; text: string } {
  const valid = () => JSON.stringify({ cookie: goodCookie(), mark: 'stored' });
  const wrongValues = [
    'garbage', '', -1, 0, 1e308, true, null, [], {}, ['x'], { $date: 1 }, '2099-13-45', 'NaN', 'Infinity', '__proto__', 2 ** 60,
  ];
  const kinds: Array<() => { kind: string; text: string }> = [
    () => {
      const text = valid();
      return { kind: 'truncated JSON', text: text.slice(0, r.int(text.length)) };
    },
    () => ({ kind: 'not JSON', text: r.pick(['', ' ', 'undefined', 'NaN', '{', '}', "{'cookie':{}}", '\u0000', 'sess:' + r.text(40, 'abc{}[]":,')]) }),
    () => ({ kind: 'JSON of the wrong shape', text: r.pick(['null', '[]', '"text"', '123', 'true', '{}', '{"cookie":null}', '{"cookie":"x"}', '{"cookie":[]}', '{"cookie":1}', '[{"cookie":{}}]']) }),
    () => {
      const planted = `{"${POLLUTION_KEY}":"yes"}`;
      return {
        kind: 'prototype keys',
        text: r.pick([
          `{"cookie":${JSON.stringify(goodCookie())},"mark":"stored","__proto__":${planted}}`,
          `{"cookie":{"__proto__":${planted},"expires":"${future()}","originalMaxAge":3600000},"mark":"stored"}`,
          `{"cookie":${JSON.stringify(goodCookie())},"mark":"stored","constructor":{"prototype":${planted}}}`,
          `{"cookie":${JSON.stringify(goodCookie())},"mark":"stored","nested":{"__proto__":${planted},"a":[{"__proto__":${planted}}]}}`,
          `{"__proto__":{"cookie":${JSON.stringify(goodCookie())}},"mark":"stored"}`,
          `{"cookie":${JSON.stringify(goodCookie())},"mark":"stored","hasOwnProperty":1,"toString":"x","valueOf":null,"toJSON":"no"}`,
          `{"cookie":${JSON.stringify(goodCookie())},"mark":"stored","__defineGetter__":1,"isPrototypeOf":[]}`,
        ]),
      };
    },
    () => {
      const cookie: Record<string, unknown> = goodCookie();
      const field = r.pick(['expires', 'originalMaxAge', 'maxAge', 'httpOnly', 'path', 'domain', 'secure', 'sameSite', 'priority', 'partitioned']);
      cookie[field] = r.pick(wrongValues);
      if (r.chance(0.3)) cookie[r.pick(['expires', 'originalMaxAge', 'path'])] = r.pick(wrongValues);
      return { kind: `cookie.${field} of the wrong type`, text: JSON.stringify({ cookie, mark: 'stored' }) };
    },
    () => ({ kind: 'expired', text: JSON.stringify({ cookie: { ...goodCookie(), expires: new Date(Date.now() - 1000).toISOString() }, mark: 'stored' }) }),
    () => ({ kind: 'huge (1 MB)', text: JSON.stringify({ cookie: goodCookie(), mark: 'stored', blob: 'x'.repeat(1 << 20) }) }),
    () => {
      // JSON.parse takes any depth; what recurses after it may not.
      const depth = r.pick([100 + r.int(3000), 3000 + r.int(3000), Math.round(10 ** (4 + r.next() * 2))]);
      return { kind: 'deeply nested', text: `{"cookie":${JSON.stringify(goodCookie())},"mark":"stored","deep":${'['.repeat(depth)}${']'.repeat(depth)}}` };
    },
    () => {
      const data: Record<string, unknown> = { cookie: goodCookie(), mark: 'stored' };
      for (let i = 0; i < r.int(20); i++) data[r.text(1 + r.int(10), 'abcXYZ_$.-🍪')] = r.pick([...wrongValues, r.text(30, 'ab"\\\n\u2028')]);
      return { kind: 'odd data', text: JSON.stringify(data) };
    },
  ];
  return r.pick(kinds)();
}

describe(`stored record fuzzing (seed ${SEED})`, () => {
  for (const name of STORE_NAMES) {
    it(`${name}: a request on any stored record gets it, a fresh session or the app's 5xx`, async () => {
      const target = await openStore(name);
      const http = await serve(app(target.store));
      const r = randomFor(`records:${name}`);
      const tally = new Tally();
      const failures: string[] = [];
      try {
        for (let i = 0; i < INPUTS; i++) {
          const input = generate(r);
          const sid = `fuzz${i}-${r.text(8, 'abcdef0123456789')}`;
          if (!(await target.writeRaw(sid, input.text))) {
            tally.add(`${input.kind}: refused by the backend`);
            continue;
          }
          const cookie = `connect.sid=${encodeURIComponent(sign(sid, SECRET))}`;
          const outcomes: string[] = [];
          for (const path of ['/read', '/write']) {
            late.length = 0;
            try {
              const answer = await send(http, path, { cookie, bound: 3000 });
              if (answer.status === 200) {
                const body = JSON.parse(answer.body);
                if (body.probe !== null && body.probe !== undefined) failures.push(`${input.kind}: prototype polluted while handling`);
                outcomes.push(body.id === sid ? (body.marked ? 'loaded' : 'loaded without data') : 'fresh');
                if (path === '/write') {
                  // What the write left is a record every reader can parse.
                  const stored = await target.readRaw(body.id);
                  const parsed = stored === null ? null : JSON.parse(stored);
                  if (!parsed || typeof parsed.cookie !== 'object' || parsed.written === undefined) {
                    failures.push(`${input.kind}: after a write, stored ${String(stored).slice(0, 200)}`);
                  }
                }
              } else if (answer.status >= 500 && answer.headers['x-app-error']) {
                outcomes.push(`app ${answer.status}`);
              } else {
                outcomes.push(`unexpected ${answer.status}`);
                failures.push(`${input.kind} ${path} got ${answer.status}: ${answer.body.slice(0, 200)}`);
              }
            } catch (err) {
              outcomes.push(`no answer (${(err as Error).name})`);
              failures.push(`${input.kind} ${path}: ${(err as Error).message}: ${input.text.slice(0, 300)}`);
            }
            await new Promise((resolve) => setImmediate(resolve));
            if (late.length) {
              outcomes.push('error after the response');
              failures.push(`${input.kind} ${path}: next(err) after the response was sent (${late.join(', ')}): ${input.text.slice(0, 300)}`);
            }
          }
          tally.add(`${input.kind}: ${outcomes.join(' / ')}`);
        }
      } finally {
        await http.close();
        await target.dispose();
      }
      report(`stored records ${name}`, { seed: SEED, tried: tally.tried, outcomes: tally.counts });
      expect(watch.problems).toEqual([]);
      expect(failures).toEqual([]);
      expect(polluted()).toBe(false);
      expect(prototypeKeys()).toEqual(protoBefore);
    });
  }
});
