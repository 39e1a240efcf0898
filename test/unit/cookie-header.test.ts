/**
 * The session cookie is cut out of the Cookie header by itself (not the whole header parsed),
 * and its encoded value is remembered once verified: it must read every header exactly as the
 * cookie package's parse() does, and a value it has not verified must never pass.
 */
import { parse } from 'cookie';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session, { MemoryStore } from '../../src/index.js';
import { sign } from '../../src/core/signature.js';
import { cookieValue } from '../../src/persist/signed-id.js';

/** A small deterministic generator, so that a failing header can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const pieces = ['a', 'sid', 'connect.sid', ' ', '\t', '=', ';', '"', '%', '%3A', '%ZZ', 's:', 'x.y', '', ',', 'é'];

describe('cookieValue', () => {
  it('reads every header as cookie.parse does, for the first pair of the name', () => {
    const next = random(20261201);
    const names = ['a', 'sid', 'connect.sid'];
    for (let i = 0; i < 20_000; i++) {
      let header = '';
      const length = Math.floor(next() * 14);
      for (let j = 0; j < length; j++) header += pieces[Math.floor(next() * pieces.length)];
      for (const name of names) {
        const expected = parse(header)[name];
        const raw = cookieValue(header, name);
        let decoded = raw;
        if (raw !== undefined && raw.includes('%')) {
          try {
            decoded = decodeURIComponent(raw);
          } catch {
            decoded = raw;
          }
        }
        if (decoded !== expected) throw new Error(`header ${JSON.stringify(header)}, name ${name}: ${JSON.stringify(decoded)} != ${JSON.stringify(expected)}`);
      }
    }
  });

  it('takes the first of two pairs, trims blanks and drops the quotes', () => {
    expect(cookieValue(' a = 1 ; a=2', 'a')).toBe('1');
    expect(cookieValue('b=1;a="q"', 'a')).toBe('q');
    expect(cookieValue('aa=1; a=2', 'a')).toBe('2');
    expect(cookieValue('a', 'a')).toBeUndefined();
    expect(cookieValue('x=1; y=2', 'a')).toBeUndefined();
  });
});

describe('the session cookie in the Cookie header', () => {
  const secret = 'cookie header secret';

  function app(store: MemoryStore) {
    const a = express();
    a.use(session({ secret, resave: false, saveUninitialized: false, store }));
    a.get('/count', (req: any, res) => {
      req.session.n = (req.session.n ?? 0) + 1;
      res.json({ id: req.sessionID, n: req.session.n });
    });
    return a;
  }

  it('is found among other cookies, quoted or not, encoded or not', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const server = app(store);
    const first = await request(server).get('/count');
    const id = first.body.id as string;
    const signed = sign(id, secret);
    const headers = [
      `other=1; connect.sid=${encodeURIComponent(signed)}; last=2`,
      `connect.sid="${encodeURIComponent(signed)}"`,
      `connect.sid=${signed}`,
      `  connect.sid =\t${encodeURIComponent(signed)} ;x=y`,
    ];
    let n = 1;
    for (const header of headers) {
      const res = await request(server).get('/count').set('Cookie', header);
      expect(res.body).toEqual({ id, n: ++n });
    }
  });

  it('passes only when its own signature verifies, after other values were remembered', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const server = app(store);
    const first = await request(server).get('/count');
    const id = first.body.id as string;
    const good = encodeURIComponent(sign(id, secret));
    expect((await request(server).get('/count').set('Cookie', `connect.sid=${good}`)).body).toEqual({ id, n: 2 });

    const tampered = [good.slice(0, -1) + (good.endsWith('A') ? 'B' : 'A'), good.replace('s%3A', 's%3a'), `${good}%`, good.slice(0, -2)];
    for (const value of tampered) {
      const res = await request(server).get('/count').set('Cookie', `connect.sid=${value}`);
      if (value === good.replace('s%3A', 's%3a')) {
        // Percent-encoding is case-insensitive: the same signed value, decoded.
        expect(res.body.id).toBe(id);
      } else {
        expect(res.body.id).not.toBe(id);
        expect(res.body.n).toBe(1);
      }
    }
  });
});
