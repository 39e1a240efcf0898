/**
 * The published declarations (dist/), as a user's TypeScript project sees them through
 * `import ... from 'sessionkit'` (ES module) and `import session = require('sessionkit')`
 * (CommonJS): typed SessionData by `declare module 'sessionkit'` reaches `req.session` in both.
 * Runs tsc on a small project in a temp directory; needs `npm run build` (npm test does it).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'sessionkit-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const esm = `import express from 'express';
import session, { MemoryStore, type SessionOptions } from 'sessionkit';
declare module 'sessionkit' {
  interface SessionData { user?: { id: string } }
}
const options: SessionOptions = { secret: 's', resave: false, saveUninitialized: false, store: new MemoryStore({ max: 10 }) };
const app = express();
app.use(session(options));
app.get('/', async (req, res) => {
  req.session.user = { id: 'a' };
  // @ts-expect-error a user's id is a string
  req.session.user = { id: 1 };
  // @ts-expect-error no such key in SessionData
  req.session.nope = 1;
  await req.session.save();
  res.send(req.session.user?.id);
});
`;

const cjs = `import session = require('sessionkit');
import express = require('express');
declare module 'sessionkit' {
  interface SessionData { cartItems?: number }
}
const app = express();
app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
app.get('/', (req, res) => {
  req.session.cartItems = 3;
  // @ts-expect-error cartItems is a number
  req.session.cartItems = 'three';
  const store: session.Store = new session.MemoryStore();
  const options: session.SessionOptions = { store };
  res.json({ options, cookie: session.Cookie.name, sessionClass: session.Session.name });
});
`;

it('types req.session from SessionData augmentation, in ESM and CommonJS projects', async () => {
  mkdirSync(join(dir, 'esm'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'sessionkit'));
  symlinkSync(join(root, 'node_modules', '@types'), join(dir, 'node_modules', '@types'));
  writeFileSync(join(dir, 'esm', 'package.json'), '{"type":"module"}');
  writeFileSync(join(dir, 'esm', 'app.ts'), esm);
  writeFileSync(join(dir, 'app.cts'), cjs);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
    files: ['esm/app.ts', 'app.cts'],
  }));
  const result = await new Promise<{ code: number | null; out: string }>((done) => {
    execFile(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], (err, stdout, stderr) =>
      done({ code: err ? (err.code as number) : 0, out: stdout + stderr }));
  });
  expect(result.out).toBe('');
  expect(result.code).toBe(0);
}, 60_000);
