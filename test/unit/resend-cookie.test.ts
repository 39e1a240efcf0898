/**
 * A Set-Cookie for the ID the request's cookie carried sends the incoming signed value again
 * when the signing key signed it, and signs anew otherwise (rotated secrets, new IDs).
 */
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session, { MemoryStore } from '../../src/index.js';
import { sign } from '../../src/core/signature.js';

function app(secret: string | string[], store: MemoryStore) {
  const a = express();
  a.use(session({ secret, resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 } }));
  a.get('/count', (req: any, res) => {
    req.session.n = (req.session.n ?? 0) + 1;
    res.json({ id: req.sessionID, n: req.session.n });
  });
  a.get('/regenerate', (req: any, res) => req.session.regenerate(() => {
    req.session.n = 1;
    res.json({ id: req.sessionID });
  }));
  return a;
}
const valueOf = (res: request.Response) =>
  decodeURIComponent(((res.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!).split('=')[1]!);

describe('the Set-Cookie of a known session', () => {
  it('carries the same signed value as the request, signed with the current key', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const first = await request(app(['new', 'old'], store)).get('/count');
    const id = first.body.id as string;
    expect(valueOf(first)).toBe(sign(id, 'new'));

    const again = await request(app(['new', 'old'], store)).get('/count').set('Cookie', `connect.sid=${encodeURIComponent(sign(id, 'new'))}`);
    expect(again.body).toEqual({ id, n: 2 });
    expect(valueOf(again)).toBe(sign(id, 'new'));
  });

  it('is signed anew with the first key when the request was signed with an older one', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const id = (await request(app('old', store)).get('/count')).body.id as string;
    const rotated = await request(app(['new', 'old'], store)).get('/count').set('Cookie', `connect.sid=${encodeURIComponent(sign(id, 'old'))}`);
    expect(rotated.body).toEqual({ id, n: 2 });
    expect(valueOf(rotated)).toBe(sign(id, 'new'));
  });

  it('is signed anew for a new ID', async () => {
    const store = new MemoryStore({ checkPeriod: 0 });
    const id = (await request(app('k', store)).get('/count')).body.id as string;
    const res = await request(app('k', store)).get('/regenerate').set('Cookie', `connect.sid=${encodeURIComponent(sign(id, 'k'))}`);
    expect(res.body.id).not.toBe(id);
    expect(valueOf(res)).toBe(sign(res.body.id, 'k'));
  });
});
