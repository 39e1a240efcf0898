/**
 * What the stored record fuzzing found, each as a fixed case: a stored cookie whose attributes
 * cannot be serialized (a sameSite of the wrong type, an originalMaxAge past any date), a deeply nested record, and, from the same cause as the latter, session
 * data JSON cannot serialize. Each request must get the session, a fresh one, or the app's own
 * 5xx, answered once, before its bound.
 */
import { describe, expect, it } from 'vitest';
import express from 'express';
import session from '../../src/index.js';
import { sign } from '../../src/core/signature.js';
import { HangError, openStore, send, serve, watchProcess } from './harness.js';

const SECRET = 'hardening found';

function app(store: any, late: string[]) {
  const a = express();
  a.use(session({ secret: SECRET, store, resave: false, saveUninitialized: false, cookie: { maxAge: 600_000 } }));
  a.get('/write', (req, res) => {
    (req.session as any).written = true;
    res.json({ id: req.sessionID });
  });
  a.get('/bigint', (req, res) => {
    (req.session as any).count = 1n;
    res.json({ id: req.sessionID });
  });
  a.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    // An error after the response went out cannot be answered: it is recorded instead.
    if (res.headersSent) {
      late.push(err.message);
      return;
    }
    res.status(503).json({ error: err.message });
  });
  return a;
}

const cookieFor = (sid: string) => `connect.sid=${encodeURIComponent(sign(sid, SECRET))}`;
const goodCookie = () => ({ originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000).toISOString(), httpOnly: true, path: '/' });

describe('found by fuzzing stored records', () => {
  for (const name of ['MemoryStore', 'PostgresStore'] as const) {
    it(`${name}: a stored cookie.sameSite that cannot be serialized gets one answer, chosen before the response goes out`, async () => {
      const watch = watchProcess();
      const late: string[] = [];
      const target = await openStore(name);
      const http = await serve(app(target.store, late));
      let outcome: string;
      try {
        await target.writeRaw('odd-samesite', JSON.stringify({ cookie: { ...goodCookie(), sameSite: {} }, mark: 'stored' }));
        const answer = await send(http, '/write', { cookie: cookieFor('odd-samesite'), bound: 3000 }).catch((err: Error) => err);
        await new Promise((r) => setImmediate(r));
        outcome = answer instanceof Error ? `no answer: ${answer.message}` : `${answer.status}`;
      } finally {
        await http.close();
        await target.dispose();
        watch.stop();
      }
      // Either a fresh session (200) or the app's 503, with no error arriving after the response.
      expect(['200', '503']).toContain(outcome);
      expect(late).toEqual([]);
      expect(watch.problems).toEqual([]);
    });
  }

  for (const name of ['MemoryStore', 'PostgresStore'] as const) {
    it(`${name}: a stored cookie.originalMaxAge past any date (2^60 ms) gets one answer, chosen before the response goes out`, async () => {
      const watch = watchProcess();
      const late: string[] = [];
      const target = await openStore(name);
      const http = await serve(app(target.store, late));
      let outcome: string;
      try {
        // Read back, its expiry (now + originalMaxAge) is no date a Set-Cookie can carry.
        await target.writeRaw('far-future', JSON.stringify({ cookie: { ...goodCookie(), originalMaxAge: 2 ** 60 }, mark: 'stored' }));
        const answer = await send(http, '/write', { cookie: cookieFor('far-future'), bound: 3000 }).catch((err: Error) => err);
        await new Promise((r) => setImmediate(r));
        outcome = answer instanceof Error ? `no answer: ${answer.message}` : `${answer.status}`;
      } finally {
        await http.close();
        await target.dispose();
        watch.stop();
      }
      expect(['200', '503']).toContain(outcome);
      expect(late).toEqual([]);
      expect(watch.problems).toEqual([]);
    });
  }

  it('MemoryStore: a deeply nested record (thousands to a million levels) never leaves a request unanswered', async () => {
    const watch = watchProcess();
    const late: string[] = [];
    const target = await openStore('MemoryStore');
    const http = await serve(app(target.store, late));
    const unanswered: number[] = [];
    try {
      // JSON.parse takes any depth; what recurses after it (JSON.stringify, copies) does not.
      const depths = [...Array.from({ length: 601 }, (_, i) => 3000 + i * 5), 10_000, 100_000, 1_000_000];
      for (const depth of depths) {
        if (unanswered.length >= 2) break;
        await target.writeRaw('deep', `{"cookie":${JSON.stringify(goodCookie())},"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`);
        // A million levels take over a second of parsing and copying alone, several on a busy
        // machine: the bound tells a request that never ends from a slow one.
        const answer = await send(http, '/write', { cookie: cookieFor('deep'), bound: 20_000 }).catch((err: Error) => err);
        if (answer instanceof HangError) unanswered.push(depth);
        else if (answer instanceof Error) throw answer;
      }
    } finally {
      await http.close();
      await target.dispose();
      watch.stop();
    }
    expect(unanswered, `depths left unanswered: ${unanswered.join(', ')}`).toEqual([]);
    expect(watch.problems).toEqual([]);
  });

  it('MemoryStore: a session value JSON cannot serialize (a BigInt) gets the app\'s 5xx, not a response that never ends', async () => {
    const watch = watchProcess();
    const late: string[] = [];
    const target = await openStore('MemoryStore');
    const http = await serve(app(target.store, late));
    let outcome: string;
    try {
      const answer = await send(http, '/bigint', { bound: 3000 }).catch((err: Error) => err);
      outcome = answer instanceof Error ? `no answer: ${answer.message}` : `${answer.status}`;
    } finally {
      await http.close();
      await target.dispose();
      watch.stop();
    }
    expect(outcome).toBe('503');
    expect(watch.problems).toEqual([]);
  });
});
