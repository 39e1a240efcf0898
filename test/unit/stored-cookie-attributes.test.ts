/**
 * A stored cookie whose attributes no Set-Cookie header can carry (found by fuzzing stored
 * records): the record is no session, decided at load, so the request gets a fresh session
 * instead of a response that fails as its head goes out.
 */
import { describe, expect, it } from 'vitest';
import express from 'express';
import request from 'supertest';
import session, { MemoryStore } from '../../src/index.js';
import { sign } from '../../src/core/signature.js';

const SECRET = 'stored cookie attributes';
const cookieFor = (sid: string) => `connect.sid=${encodeURIComponent(sign(sid, SECRET))}`;

describe('stored cookie attributes that cannot be sent', () => {
  const good = { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000).toISOString(), httpOnly: true, path: '/' };
  const bad: Record<string, unknown>[] = [
    { sameSite: {} }, { sameSite: 'sometimes' }, { sameSite: -1 }, { priority: -1 }, { priority: 'urgent' },
    { domain: [] }, { originalMaxAge: 2 ** 60 }, { originalMaxAge: -(2 ** 60) }, { domain: 'ex ample.com' }, { domain: '__proto__!' }, { path: 'a;b' }, { path: 42 },
  ];
  for (const attributes of bad) {
    it(`${JSON.stringify(attributes)} is no session: a fresh one, its cookie sent, no error after`, async () => {
      const store = new MemoryStore();
      store.sessions.set('odd', JSON.stringify({ cookie: { ...good, ...attributes }, mark: 'stored' }));
      const late: unknown[] = [];
      const app = express();
      app.use(session({ secret: SECRET, store, resave: false, saveUninitialized: false }));
      app.get('/', (req: any, res) => {
        req.session.written = true;
        res.json({ mark: req.session.mark ?? null, id: req.sessionID });
      });
      app.use((err: Error, _req: any, res: any, _next: any) => (res.headersSent ? late.push(err) : res.status(500).send(err.message)));
      const res = await request(app).get('/').set('Cookie', cookieFor('odd')).expect(200);
      expect(res.body.mark).toBeNull();
      expect(res.body.id).not.toBe('odd');
      expect(res.headers['set-cookie']?.[0]).toMatch(/^connect\.sid=/);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(late).toEqual([]);
    });
  }

  it('the attributes a cookie may carry still load', async () => {
    const store = new MemoryStore();
    const fine = { ...good, sameSite: 'Strict', priority: 'High', domain: '127.0.0.1', secure: false, partitioned: false };
    store.sessions.set('fine', JSON.stringify({ cookie: fine, mark: 'stored' }));
    const app = express();
    app.use(session({ secret: SECRET, store, resave: false, saveUninitialized: false }));
    app.get('/', (req: any, res) => res.json({ mark: req.session.mark ?? null }));
    await request(app).get('/').set('Cookie', cookieFor('fine')).expect(200, { mark: 'stored' });
  });
});
