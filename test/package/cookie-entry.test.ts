/**
 * The published `sessionkit/cookie` entry, as apps load it (it needs the build: `npm run build`):
 * ESM import, CommonJS require, and its types, checked by `tsc --noEmit`.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { cookieSession, SessionTooLargeError, type CookieSessionOptions } from 'sessionkit/cookie';

const require = createRequire(import.meta.url);
const secret = randomBytes(32).toString('base64');

type Cart = express.Request['session'] & { cart?: { items: string[] } };

// @ts-expect-error the secret is required
const noSecret: CookieSessionOptions = { name: 'x' };
// @ts-expect-error maxSize is a number of bytes
const badSize: CookieSessionOptions = { secret, maxSize: 'big' };
void noSecret;
void badSize;

function cartApp(middleware: express.RequestHandler) {
  const app = express();
  app.use(middleware);
  app.post('/add/:item', async (req, res) => {
    const sess = req.session as Cart;
    const cart = sess.cart ?? { items: [] };
    cart.items.push(req.params.item);
    sess.cart = cart;
    const saved: Promise<void> = req.session.save();
    await saved;
    res.json(sess.cart);
  });
  app.get('/', (req, res) => res.json({ id: req.session.id, items: (req.session as Cart).cart?.items ?? [] }));
  return app;
}

describe('sessionkit/cookie entry', () => {
  it('is importable as ESM and works end to end', async () => {
    const options: CookieSessionOptions = { secret, cookie: { maxAge: 60_000 } };
    const agent = request.agent(cartApp(cookieSession(options)));
    await agent.post('/add/apple').expect(200);
    await agent.post('/add/pear').expect(200);
    const { body } = await agent.get('/').expect(200);
    expect(body.items).toEqual(['apple', 'pear']);
    expect(typeof body.id).toBe('string');
    expect(new SessionTooLargeError(9000, 8192)).toBeInstanceOf(Error);
  });

  it('is requirable as CommonJS', async () => {
    const cjs = require('sessionkit/cookie') as typeof import('sessionkit/cookie');
    expect(typeof cjs.cookieSession).toBe('function');
    const agent = request.agent(cartApp(cjs.cookieSession({ secret })));
    await agent.post('/add/fig').expect(200);
    expect((await agent.get('/').expect(200)).body.items).toEqual(['fig']);
  });
});
