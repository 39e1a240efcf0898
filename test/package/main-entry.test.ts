/**
 * The published `sessionkit` entry, as apps load it from the build (dist/): the CommonJS
 * factory with its classes attached, and the ES module's default and named exports.
 */
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session, { Cookie, MemoryStore, Session, Store } from '../../src/index.js';

const require = createRequire(import.meta.url);

function cookieOf(res: request.Response): string {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined;
  expect(header, 'a session cookie is set').toBeTruthy();
  return header![0]!.split(';')[0]!;
}

describe('entry points', () => {
  it("require('sessionkit') is the factory, with Store, MemoryStore, Cookie and Session attached", async () => {
    const cjs = require('sessionkit');
    expect(typeof cjs).toBe('function');
    for (const name of ['Store', 'MemoryStore', 'Cookie', 'Session']) expect(typeof cjs[name]).toBe('function');
    // The names the ES module exports work from CommonJS too (and through bundler interop).
    expect(cjs.session).toBe(cjs);
    expect(cjs.default).toBe(cjs);
    const store = new cjs.MemoryStore({ checkPeriod: 0 });
    expect(store).toBeInstanceOf(cjs.Store);
    const app = express();
    app.use(cjs({ secret: 'cjs', resave: false, saveUninitialized: false, store }));
    app.get('/', (req: any, res) => {
      req.session.viaCjs = true;
      res.json({ isSession: req.session instanceof cjs.Session, cookie: req.session.cookie instanceof cjs.Cookie });
    });
    const res = await request(app).get('/').expect(200, { isSession: true, cookie: true });
    expect(cookieOf(res)).toMatch(/^connect\.sid=s%3A/);
    expect(readFileSync(require.resolve('sessionkit').replace(/\.cjs$/, '.d.cts'), 'utf8')).toMatch(/export = session;/);
  });

  it('the classes keep their names in both builds, as express-session\'s do', async () => {
    const es = require('express-session');
    const cjs = require('sessionkit');
    const esm = await import('sessionkit');
    for (const name of ['Store', 'MemoryStore', 'Cookie', 'Session']) {
      expect(cjs[name].name, `require: ${name}`).toBe(es[name].name);
      expect((esm as unknown as Record<string, { name: string }>)[name]!.name, `import: ${name}`).toBe(name);
    }
    expect(new cjs.MemoryStore({ checkPeriod: 0 }).constructor.name).toBe('MemoryStore');
    for (const sub of ['redis', 'postgres', 'mysql', 'sqlite']) {
      const mod = require(`sessionkit/${sub}`) as Record<string, { name: string }>;
      for (const [key, value] of Object.entries(mod)) {
        if (typeof value === 'function' && /Store$/.test(key)) expect(value.name, `sessionkit/${sub} ${key}`).toBe(key);
      }
    }
  });

  it('the CommonJS build runs the code as written: no helper calls for `?.`, `??` or class fields', () => {
    // A build that lowers them allocates closures on every optional chain of the request path.
    const dist = require.resolve('sessionkit').replace(/index\.cjs$/, '');
    const files = readdirSync(dist).filter((file) => file.endsWith('.cjs'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const code = readFileSync(join(dist, file), 'utf8');
      expect(code, file).not.toMatch(/_optionalChain\(|_nullishCoalesce\(|__init\d*\(\)/);
    }
  });

  it("import 'sessionkit' has the factory as default and everything by name", async () => {
    const esm: any = await import('sessionkit');
    expect(typeof esm.default).toBe('function');
    expect(esm.session).toBe(esm.default);
    for (const name of ['Store', 'MemoryStore', 'Cookie', 'Session']) {
      expect(typeof esm[name]).toBe('function');
      expect(esm.default[name]).toBe(esm[name]);
    }
    // The source entry has the same shape.
    expect(session.Store).toBe(Store);
    expect(session.MemoryStore).toBe(MemoryStore);
    expect(session.Cookie).toBe(Cookie);
    expect(session.Session).toBe(Session);
  });
});
