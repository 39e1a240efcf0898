/**
 * Fuzzing the Cookie header of `session()`, on every store: malformed and duplicated cookies,
 * 8 KB and 16 KB headers, non-ASCII, percent garbage, `s:` with empty IDs, validly signed IDs
 * with path characters or prototype names, forged and truncated signatures. Each request gets
 * a fresh session, the session its exact signed cookie names, or the app's own 5xx; never a
 * crash, a hang or a polluted prototype.
 */
import { afterAll, describe, expect, it } from 'vitest';
import express from 'express';
import session from '../../src/index.js';
import { sign } from '../../src/core/signature.js';
import {
  cookiesOf, openStore, polluted, prototypeKeys, randomFor, report, scaled, send, serve, SEED, STORE_NAMES, Tally, watchProcess,
  type Random,
} from './harness.js';

const SECRET = 'hardening cookie header secret';
const OTHER_SECRET = 'a secret this app does not know';
const INPUTS = scaled(250);

const watch = watchProcess();
const protoBefore = prototypeKeys();
afterAll(() => watch.stop());

function app(store: any) {
  const a = express();
  a.use(session({ secret: SECRET, store, resave: false, saveUninitialized: false, cookie: { maxAge: 600_000 } }));
  a.get('/login', (req, res) => {
    (req.session as any).user = 'known';
    res.json({ id: req.sessionID });
  });
  a.get('/', (req, res) => {
    res.json({ id: req.sessionID, user: (req.session as any).user ?? null });
  });
  a.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(503).set('x-app-error', '1').json({ error: err.message });
  });
  return a;
}

/** The signed value of `id`, as express-session writes it into the cookie (percent-encoded). */
const signed = (id: string, secret = SECRET) => encodeURIComponent(sign(id, secret));

const PRINTABLE = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\t';

/** A UTF-8 string as the latin1 bytes a client sends, so the server sees the real octets. */
const octets = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

/** A byte a client may send in a header value: tab, printable ASCII, or any byte from 0x80 up. */
const headerSafe = (byte: number) => byte === 9 || (byte >= 32 && byte !== 127);

interface Input {
  kind: string;
  header: string;
  /** The session ID a validly signed cookie names: never adopted for a new session (no fixation). */
  named?: string;
}

/** One Cookie header of a random kind; `valid` is a cookie value that loads the known session. */
function generate(r: Random, valid: string, validId: string): Input {
  const kinds: Array<() => Input> = [
    () => ({ kind: 'garbage', header: r.text(r.int(200), PRINTABLE) }),
    () => ({ kind: 'latin1', header: `connect.sid=${Buffer.from(r.bytes(1 + r.int(80)).filter(headerSafe)).toString('latin1')}` }),
    () => ({ kind: 'non-ascii', header: octets(`connect.sid=${r.pick(['s:', ''])}${r.pick(['ünïcødé', '会话', '🍪🍪', '\u202e\u200b', 'ａｂｃ'])}${r.text(r.int(20), 'abc.')}`) }),
    () => ({
      kind: 'malformed',
      header: r.pick([
        'connect.sid', 'connect.sid=', '=', ';;;', '; ;', 'connect.sid=s:', 'connect.sid=s:.', 'connect.sid=s:.x', 'connect.sid==',
        'connect.sid="s:abc', 'connect.sid="', '"connect.sid"=x', 'connect.sid=s:abc.', `connect.sid=${valid}=`, ' connect.sid = s:x.y ',
        `connect.sid=${valid.slice(0, -1)}`, 'connect.sid=s%3A', `connect.sid=${valid}; `, 'Connect.Sid=x', 'connect.sid=\t',
      ]),
    }),
    () => {
      const garbage = `connect.sid=s:${r.text(8, 'abc')}.${r.text(8, 'xyz')}`;
      const both = [`connect.sid=${valid}`, garbage];
      if (r.chance(0.5)) both.reverse();
      return { kind: 'duplicated', header: both.join('; ') };
    },
    () => ({ kind: '8KB', header: `connect.sid=${r.pick(['s:', ''])}${r.text(8192, 'abcdefABCDEF0123456789-_.')}` }),
    () => {
      const parts: string[] = [];
      while (parts.join('; ').length < 16_384) parts.push(`c${parts.length}=${r.text(100, 'abcdef')}`);
      if (r.chance(0.5)) parts.splice(r.int(parts.length), 0, `connect.sid=${valid}`);
      return { kind: '16KB', header: parts.join('; ') };
    },
    () => ({
      kind: 'percent-garbage',
      header: `connect.sid=${Array.from({ length: 1 + r.int(12) }, () => r.pick(['%', '%zz', '%E0%A4%A', '%00', '%FF', '%C0%AF', '%25', '%3', 's%3A', '%2e%2e%2f', r.text(2, 'ab.')])).join('')}`,
    }),
    () => ({ kind: 'empty-id', header: `connect.sid=${r.pick([signed(''), 's%3A.', 's:.', signed('', OTHER_SECRET)])}` }),
    () => {
      const named = r.pick(['../../etc/passwd', 'a/b', '..', '/', '\\', '*', '?', '[a]', '%00', 'a b', ';', '__proto__', 'constructor', 'hasOwnProperty', 'toString', validId + '/', `${validId}*`, r.text(200, 'ab/.'), r.text(32, 'abcdefghijklmnopqrstuvwxyz0123456789_-')]);
      return { kind: 'signed-odd-id', header: `connect.sid=${signed(named)}`, named };
    },
    () => {
      const value = sign(validId, SECRET);
      const dot = value.lastIndexOf('.');
      const sig = value.slice(dot + 1);
      const forged = r.pick([
        () => `${value.slice(0, dot + 1)}${r.text(sig.length, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')}`,
        () => value.slice(0, value.length - 1 - r.int(sig.length)),
        () => `${value}=`,
        () => `${value.slice(0, dot + 1)}${sig.slice(1)}${sig[0] === 'A' ? 'B' : 'A'}`,
        () => sign(validId, OTHER_SECRET),
        () => `s:${validId}`,
        () => value.slice(2),
        () => `s:${validId}.${sig}.${sig}`,
      ])();
      return { kind: 'forged-signature', header: `connect.sid=${encodeURIComponent(forged)}` };
    },
  ];
  return r.pick(kinds)();
}

describe(`Cookie header fuzzing (seed ${SEED})`, () => {
  for (const name of STORE_NAMES) {
    it(`${name}: every header gets a fresh session, its exact session, or the app's 5xx`, async () => {
      const target = await openStore(name);
      const http = await serve(app(target.store));
      const r = randomFor(`cookie-header:${name}`);
      const tally = new Tally();
      const failures: string[] = [];
      try {
        const login = await send(http, '/login');
        const known = JSON.parse(login.body).id as string;
        const valid = cookiesOf(login).replace(/^connect\.sid=/, '');
        expect(valid).toBe(signed(known));
        for (let i = 0; i < INPUTS; i++) {
          const input = generate(r, valid, known);
          let outcome: string;
          try {
            const answer = await send(http, '/', { cookie: input.header });
            if (answer.status === 200) {
              const body = JSON.parse(answer.body);
              if (body.user === 'known') {
                outcome = 'known session';
                // Only the exact signed value opens the session: every forgery gets a fresh one.
                if (input.kind === 'forged-signature' || !input.header.includes(valid)) failures.push(`${input.kind} loaded the session: ${JSON.stringify(input.header.slice(0, 200))}`);
              } else {
                outcome = body.id === known ? 'known id without its data' : 'fresh session';
                if (body.id === known) failures.push(`${input.kind}: known ID without its data`);
                if (input.named !== undefined && body.id === input.named) failures.push(`${input.kind}: adopted the ID the cookie named (${input.named})`);
              }
            } else if (answer.status >= 500 && answer.headers['x-app-error']) {
              outcome = `app ${answer.status}`;
            } else {
              outcome = `unexpected ${answer.status}`;
              failures.push(`${input.kind} got ${answer.status}: ${JSON.stringify(input.header.slice(0, 200))}`);
            }
          } catch (err) {
            outcome = `no answer (${(err as Error).name})`;
            failures.push(`${input.kind}: ${(err as Error).message}: ${JSON.stringify(input.header.slice(0, 200))}`);
          }
          tally.add(`${input.kind}: ${outcome}`);
        }
        // The store still serves the known session after every input.
        expect(JSON.parse((await send(http, '/', { cookie: `connect.sid=${valid}` })).body).user).toBe('known');
      } finally {
        await http.close();
        await target.dispose();
      }
      report(`cookie-header ${name}`, { seed: SEED, tried: tally.tried, outcomes: tally.counts });
      expect(failures).toEqual([]);
      expect(watch.problems).toEqual([]);
      expect(polluted()).toBe(false);
      expect(prototypeKeys()).toEqual(protoBefore);
    });
  }
});
