/**
 * Fuzzing sealed cookies (`cookieSession()`): bit flips, truncation, chunks reordered, missing,
 * from another user or another cookie name, seals of another secret, replay after expiry. Only
 * a seal exactly as this app wrote it opens; everything else is a fresh session; nothing
 * crashes, hangs or pollutes a prototype.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import express from 'express';
import { cookieSession } from '../../src/cookie-session/index.js';
import {
  cookiesOf, polluted, prototypeKeys, randomFor, report, scaled, send, serve, SEED, sleep, Tally, watchProcess, type Answer, type Random,
} from './harness.js';

const SECRET = randomBytes(32).toString('base64');
const OLD_SECRET = randomBytes(32).toString('base64');
const FOREIGN_SECRET = randomBytes(32).toString('base64');
const INPUTS = scaled(600);

const watch = watchProcess();
const protoBefore = prototypeKeys();
afterAll(() => watch.stop());

/** Routes under `/a` (cookie `session`), `/b` (cookie `other`), `/old` (sealed with the old secret) and `/short` (100 ms sessions). */
function app() {
  const a = express();
  const routes = (name: string, secret: string | string[], maxAge: number) => {
    const r = express.Router();
    r.use(cookieSession({ secret, name, cookie: { maxAge }, maxSize: 16_384 }));
    r.get('/login/:user', (req, res) => {
      (req.session as any).user = req.params.user;
      // Enough data for several chunks, so chunk mix-ups can be tried.
      (req.session as any).padding = randomBytes(Number(req.query.pad ?? 0)).toString('base64');
      res.json({ id: req.sessionID });
    });
    r.get('/', (req, res) => res.json({ id: req.sessionID, user: (req.session as any).user ?? null }));
    r.get('/logout', async (req, res) => {
      await req.session.destroy();
      res.json({ out: true });
    });
    return r;
  };
  a.use('/a', routes('session', [SECRET, OLD_SECRET], 600_000));
  a.use('/b', routes('other', SECRET, 600_000));
  a.use('/old', routes('session', OLD_SECRET, 600_000));
  a.use('/foreign', routes('session', FOREIGN_SECRET, 600_000));
  a.use('/short', routes('session', SECRET, 100));
  a.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(503).set('x-app-error', '1').json({ error: err.message });
  });
  return a;
}

/** The cookies of a response as name to value. */
function jar(answer: Answer): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of cookiesOf(answer).split('; ').filter(Boolean)) {
    const eq = pair.indexOf('=');
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

const header = (cookies: Map<string, string>) => [...cookies].map(([n, v]) => `${n}=${v}`).join('; ');

/** Flips one bit of the sealed bytes (in the value after the `<count>.` of the first chunk, or in a later chunk). */
function flipBit(r: Random, cookies: Map<string, string>): Map<string, string> {
  const out = new Map(cookies);
  const names = [...out.keys()];
  const name = r.pick(names);
  let value = out.get(name)!;
  let prefix = '';
  if (name === names[0]) {
    const dot = value.indexOf('.');
    prefix = value.slice(0, dot + 1);
    value = value.slice(dot + 1);
  }
  // Flip a bit of one base64url character's 6 bits, which changes the decoded bytes.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const at = r.int(value.length);
  const flipped = alphabet[alphabet.indexOf(value[at]!) ^ (1 << r.int(6))]!;
  out.set(name, prefix + value.slice(0, at) + flipped + value.slice(at + 1));
  return out;
}

describe(`sealed cookie fuzzing (seed ${SEED})`, () => {
  it('only an untouched seal of this app, for this cookie name, opens', async () => {
    const http = await serve(app());
    const r = randomFor('sealed');
    const tally = new Tally();
    const failures: string[] = [];
    try {
      // Sessions of two users, each over three chunks, and one that fits one cookie.
      const alice = jar(await send(http, '/a/login/alice?pad=5000'));
      const bob = jar(await send(http, '/a/login/bob?pad=5000'));
      const small = jar(await send(http, '/a/login/carol'));
      expect([alice.size, bob.size, small.size]).toEqual([3, 3, 1]);
      const forOther = jar(await send(http, '/b/login/dave'));
      const oldSealed = jar(await send(http, '/old/login/erin'));
      const foreign = jar(await send(http, '/foreign/login/mallory'));

      const opens = async (path: string, cookies: Map<string, string> | string) =>
        send(http, path, { cookie: typeof cookies === 'string' ? cookies : header(cookies) });

      // What must open: the untouched seals, and one sealed with the older secret still accepted.
      for (const [cookies, user] of [[alice, 'alice'], [bob, 'bob'], [small, 'carol'], [oldSealed, 'erin']] as const) {
        expect(JSON.parse((await opens('/a', cookies)).body).user).toBe(user);
      }

      for (let i = 0; i < INPUTS; i++) {
        const source = r.pick([alice, bob, small]);
        const mutations: Array<[string, () => Map<string, string> | string]> = [
          ['bit flip', () => flipBit(r, source)],
          ['truncated', () => {
            const out = new Map(source);
            const name = r.pick([...out.keys()]);
            const value = out.get(name)!;
            out.set(name, value.slice(0, r.int(value.length)));
            return out;
          }],
          ['chunks reordered', () => {
            const values = [...alice.values()];
            const [first, second, third] = values as [string, string, string];
            return new Map([['session', first], ['session.1', third], ['session.2', second]]);
          }],
          ['chunk missing', () => {
            const out = new Map(r.pick([alice, bob]));
            out.delete(r.pick(['session.1', 'session.2']));
            return out;
          }],
          ['chunk of another user', () => {
            const out = new Map(alice);
            const name = r.pick(['session', 'session.1', 'session.2']);
            out.set(name, bob.get(name)!);
            return out;
          }],
          ['chunk count changed', () => {
            const out = new Map(source);
            const first = out.get('session')!;
            out.set('session', `${r.pick(['0', '2', '4', '99', '100', '-1', 'x', ''])}.${first.slice(first.indexOf('.') + 1)}`);
            return out;
          }],
          ['seal for another cookie name', () => new Map([['session', forOther.get('other')!]])],
          ['seal of an unknown secret', () => foreign],
          ['random bytes', () => `session=1.${randomFor(`bytes${i}`).bytes(16 + r.int(400)).toString('base64url')}`],
          ['garbage', () => `session=${r.text(r.int(300), 'abc.%;=_-1234567890ABZ')}; session.1=${r.text(r.int(50), 'xyz')}`],
          ['extra chunk', () => new Map([...small, ['session.1', bob.get('session.1')!]])],
        ];
        const [kind, mutate] = r.pick(mutations);
        const cookies = mutate();
        const sent = typeof cookies === 'string' ? cookies : header(cookies);
        const untouched = [alice, bob, small].some((c) => header(c) === sent);
        let outcome: string;
        try {
          const answer = await opens('/a', cookies);
          if (answer.status === 200) {
            const { user } = JSON.parse(answer.body);
            outcome = user ? 'opened' : 'fresh session';
            // A mutation may leave the cookies as they were (an extra chunk after a one-cookie seal is ignored).
            if (user && !untouched && kind !== 'extra chunk') failures.push(`${kind} opened as ${user}: ${sent.slice(0, 200)}`);
            if (user && kind === 'extra chunk' && user !== 'carol') failures.push(`extra chunk opened as ${user}`);
          } else if (answer.status >= 500 && answer.headers['x-app-error']) {
            outcome = `app ${answer.status}`;
          } else {
            outcome = `unexpected ${answer.status}`;
            failures.push(`${kind} got ${answer.status}`);
          }
        } catch (err) {
          outcome = `no answer (${(err as Error).name})`;
          failures.push(`${kind}: ${(err as Error).message}`);
        }
        tally.add(`${kind}: ${outcome}`);
      }

      // A seal moved to the cookie name it was not made for does not open there either.
      expect(JSON.parse((await opens('/b', new Map([['other', alice.get('session')!]]))).body).user).toBe(null);
      // Replay after expiry: the seal carries the expiry the server enforces, whatever the browser keeps.
      const brief = jar(await send(http, '/short/login/frank'));
      expect(JSON.parse((await opens('/short', brief)).body).user).toBe('frank');
      await sleep(250);
      const replayed = await opens('/short', brief);
      expect(JSON.parse(replayed.body).user).toBe(null);
      tally.add('replay after expiry: fresh session');
    } finally {
      await http.close();
    }
    report('sealed cookies', { seed: SEED, tried: tally.tried, outcomes: tally.counts });
    expect(failures).toEqual([]);
    expect(watch.problems).toEqual([]);
    expect(polluted()).toBe(false);
    expect(prototypeKeys()).toEqual(protoBefore);
  });

  it('what a seal cannot do: an older seal replayed before it expires opens again, after a later write and after logout', async () => {
    const http = await serve(app());
    try {
      const first = jar(await send(http, '/a/login/alice'));
      const firstId = JSON.parse((await send(http, '/a', { cookie: header(first) })).body).id;
      // The same session written again (another user name), then logged out.
      const second = jar(await send(http, '/a/login/alice-admin', { cookie: header(first) }));
      expect(JSON.parse((await send(http, '/a', { cookie: header(second) })).body)).toEqual({ id: firstId, user: 'alice-admin' });
      const logout = await send(http, '/a/logout', { cookie: header(second) });
      expect(String(logout.headers['set-cookie'])).toMatch(/^session=;/);
      // No server state remembers either write: the first seal still opens, as it was sealed.
      expect(JSON.parse((await send(http, '/a', { cookie: header(first) })).body)).toEqual({ id: firstId, user: 'alice' });
      expect(JSON.parse((await send(http, '/a', { cookie: header(second) })).body).user).toBe('alice-admin');
    } finally {
      await http.close();
    }
  });
});
