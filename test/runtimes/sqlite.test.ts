/**
 * SQLiteStore's driver on each runtime: its own chosen when none is named, each one named used
 * where the runtime has it, and a DriverMissingError saying what to use where it does not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteStore } from '../../src/stores/sql/sqlite.js';
import { DriverMissingError } from '../../src/errors.js';
import { root, runScript, type Runtime } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'sk-runtimes-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Probe {
  runtime: Runtime;
  ids?: string[];
  read?: string | null;
  error?: { name: string; code: string; message: string };
}

async function probe(runtime: Runtime, path: string, driver = ''): Promise<Probe> {
  const { code, stdout, stderr } = await runScript(runtime, join(root, 'test', 'runtimes', 'sqlite-probe.mjs'), { SK_PATH: path, SK_DRIVER: driver });
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout.trim().split('\n').pop()!) as Probe;
}

describe('SQLiteStore drivers', () => {
  it('uses each runtime\'s own SQLite on one file: Bun, Deno, then Node, each reading the others\' sessions', async () => {
    const path = join(dir, 'auto', 'sessions.db');
    expect(await probe('bun', path)).toEqual({ runtime: 'bun', ids: ['sid-bun'], read: 'bun' });
    expect(await probe('deno', path)).toEqual({ runtime: 'deno', ids: ['sid-bun', 'sid-deno'], read: 'deno' });
    expect(await probe('node', path)).toEqual({ runtime: 'node', ids: ['sid-bun', 'sid-deno', 'sid-node'], read: 'node' });
  });

  it('takes a driver by name where the runtime has it (Bun has node:sqlite too)', async () => {
    const path = join(dir, 'named', 'sessions.db');
    expect(await probe('bun', path, 'bun:sqlite')).toMatchObject({ ids: ['sid-bun'] });
    expect(await probe('bun', path, 'node:sqlite')).toMatchObject({ ids: ['sid-bun'] });
    expect(await probe('deno', path, 'node:sqlite')).toMatchObject({ ids: ['sid-bun', 'sid-deno'] });
    expect(await probe('node', path, 'better-sqlite3')).toMatchObject({ ids: ['sid-bun', 'sid-deno', 'sid-node'] });
  });

  const refused: Array<[Runtime, string, RegExp]> = [
    ['bun', 'better-sqlite3', /better-sqlite3 does not load on Bun.*leave out the driver option to use bun:sqlite/],
    ['deno', 'better-sqlite3', /better-sqlite3 does not load on Deno.*Node-API.*leave out the driver option to use node:sqlite/],
    ['deno', 'bun:sqlite', /bun:sqlite driver is Bun's own, and this is Deno; use driver 'better-sqlite3'.*or 'node:sqlite'/],
  ];
  for (const [runtime, driver, message] of refused) {
    it(`says what to use instead of ${driver} on ${runtime}`, async () => {
      const result = await probe(runtime, join(dir, `${runtime}-${driver.replace(':', '-')}.db`), driver);
      expect(result.error).toMatchObject({ name: 'DriverMissingError', code: 'EDRIVERMISSING' });
      expect(result.error!.message).toMatch(message);
    });
  }

  it('says on Node what to install when the driver named is not there', async () => {
    const bun = new SQLiteStore({ path: join(dir, 'node-bun.db'), driver: 'bun:sqlite' });
    const error = await bun.get('x').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DriverMissingError);
    expect((error as Error).message).toMatch(/bun:sqlite driver is Bun's own, and this is Node; use driver 'better-sqlite3'/);
    // node:sqlite: Node 22.5 and later have it (this test's Node may or may not).
    const specifier = 'node:sqlite';
    const nodeHasSqlite = await import(specifier).then(() => true, () => false);
    const node = new SQLiteStore({ path: join(dir, 'node-node.db'), driver: 'node:sqlite' });
    if (nodeHasSqlite) {
      await node.set('x', { cookie: { originalMaxAge: null } });
      expect(await node.ids()).toEqual(['x']);
      await node.close();
    } else {
      const missing = await node.get('x').catch((err: unknown) => err);
      expect(missing).toBeInstanceOf(DriverMissingError);
      expect((missing as Error).message).toMatch(/this Node has no node:sqlite.*npm install better-sqlite3/);
    }
  });

  it('refuses a driver it does not know, naming the ones it does', () => {
    // @ts-expect-error not a driver
    expect(() => new SQLiteStore({ path: join(dir, 'unknown.db'), driver: 'sqlite3' }))
      .toThrow(/driver option must be one of 'better-sqlite3', 'bun:sqlite', 'node:sqlite'; got "sqlite3"/);
  });
});
