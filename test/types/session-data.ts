/**
 * Type-level tests, checked by `tsc --noEmit`: a `@ts-expect-error` line fails the check when
 * the wrong type it holds is accepted. (Users write `declare module 'sessionkit'`; inside this
 * repository the same declarations are reached through the source.)
 */
import express from 'express';
import session, { MemoryStore, Store, type SessionOptions } from '../../src/index.js';

declare module '../../src/index.js' {
  interface SessionData {
    user?: { id: string };
    views?: number;
  }
}

const app = express();
app.use(session({ secret: 's', resave: false, saveUninitialized: false, store: new MemoryStore({ max: 1000 }) }));

app.get('/', async (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  req.session.user = { id: 'alice' };
  const id: string | undefined = req.session.user?.id;
  // @ts-expect-error views is a number
  req.session.views = 'many';
  // @ts-expect-error a user's id is a string
  req.session.user = { id: 42 };
  // @ts-expect-error user has no name
  void req.session.user?.name;

  await req.session.save();
  await req.session.reload();
  await req.session.regenerate();
  const same: typeof req.session = req.session.touch().resetMaxAge();
  const chained = req.session.save((err) => void err);
  chained.cookie.maxAge = 1000;
  const left: number | null | undefined = req.session.cookie.maxAge;
  const expires: Date | null | undefined = req.session.cookie.expires;
  const sid: string = req.sessionID;
  const sameSid: string = req.session.id;
  // @ts-expect-error the session ID is read-only
  req.session.id = 'other';
  await req.session.destroy();
  res.json({ id, same, left, expires, sid, sameSid });
});

const options: SessionOptions = {
  secret: ['new', Buffer.from('old')],
  cookie: (req) => ({ maxAge: req ? 1000 : null, sameSite: 'auto', secure: 'auto', priority: 'high', partitioned: true }),
  genid: async () => 'id',
  touchAfter: 60,
  unset: 'destroy',
};
// @ts-expect-error unset is 'keep' or 'destroy'
const badUnset: SessionOptions = { unset: 'sometimes' };
// @ts-expect-error sameSite has a fixed set of values
const badSameSite: SessionOptions = { cookie: { sameSite: 'sideways' } };
// @ts-expect-error priority has a fixed set of values
const badPriority: SessionOptions = { cookie: { priority: 'urgent' } };

class MyStore extends Store {
  get(sid: string, cb: (err: unknown, value?: any) => void): void {
    cb(null, sid ? null : undefined);
  }
  set(_sid: string, _value: any, cb?: (err?: unknown) => void): void {
    cb?.();
  }
  destroy(_sid: string, cb?: (err?: unknown) => void): void {
    cb?.();
  }
}
session({ store: new MyStore(), ...options });

export { badUnset, badSameSite, badPriority };
