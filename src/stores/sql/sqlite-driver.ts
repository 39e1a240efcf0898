/**
 * SQLite as SQLiteStore uses it, on whichever driver the runtime has: better-sqlite3 (Node),
 * `bun:sqlite` (Bun, where better-sqlite3 cannot load) or `node:sqlite` (Deno, and Node 22.5 and
 * later). Each is shown through the few methods of better-sqlite3's Database and Statement the
 * store calls, so the store's SQL is written once; the file, its schema and its pragmas are the
 * same whichever driver wrote it.
 */
import { DriverMissingError } from '../../errors.js';

/** A prepared statement: better-sqlite3's, or one of the other drivers' shown as it. */
export interface SQLiteStatement {
  run(...params: unknown[]): { changes: number | bigint };
  /** The first row, or undefined (null from `bun:sqlite`) when there is none. */
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  /** The same statement giving each row's first column instead of the row. */
  pluck(): SQLiteStatement;
}

// Typed as better-sqlite3 types its own: the function's parameters are whatever the caller's are.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Work = (...args: any[]) => unknown;
type Args<F extends Work> = F extends (...args: infer A) => unknown ? A : never;

/** A function run in a transaction (BEGIN by default; `.immediate` takes the write lock first). */
export interface SQLiteTransaction<F extends Work> {
  (...args: Args<F>): ReturnType<F>;
  deferred(...args: Args<F>): ReturnType<F>;
  immediate(...args: Args<F>): ReturnType<F>;
  exclusive(...args: Args<F>): ReturnType<F>;
}

/** An open database: better-sqlite3's Database, or one of the other drivers' shown as it. */
export interface SQLiteDatabase {
  prepare(sql: string): SQLiteStatement;
  exec(sql: string): unknown;
  transaction<F extends Work>(fn: F): SQLiteTransaction<F>;
  /** `pragma('name')` gives its rows, `pragma('name', { simple: true })` the first value. */
  pragma(source: string, options?: { simple?: boolean }): unknown;
  close(): unknown;
}

/** The drivers SQLiteStore can open a file with. */
export type SQLiteDriverName = 'better-sqlite3' | 'bun:sqlite' | 'node:sqlite';

export const SQLITE_DRIVERS: readonly SQLiteDriverName[] = ['better-sqlite3', 'bun:sqlite', 'node:sqlite'];

/** What opening a file needs: the busy timeout, in milliseconds. */
export interface SQLiteOpenOptions {
  timeout: number;
}

/** Which runtime this is, by the globals each defines. */
function runtime(): 'bun' | 'deno' | 'node' {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return 'bun';
  if (g.Deno !== undefined) return 'deno';
  return 'node';
}

/**
 * The module names are held in variables: a bundler or TypeScript then leaves each import to
 * run time, where a runtime without that module fails only the import that names it.
 */
const modules: Record<SQLiteDriverName, string> = {
  'better-sqlite3': 'better-sqlite3',
  'bun:sqlite': 'bun:sqlite',
  'node:sqlite': 'node:sqlite',
};

/**
 * Opens `path` with `driver`, or with the runtime's own when none is named: `bun:sqlite` on Bun
 * (better-sqlite3 does not load there), `node:sqlite` on Deno (better-sqlite3's addon is not a
 * Node-API one, which is all Deno loads), better-sqlite3 on Node, or `node:sqlite` there when
 * better-sqlite3 is not installed or does not load. A DriverMissingError says what to install
 * when no driver loads.
 */
export async function openSQLite(path: string, options: SQLiteOpenOptions, driver?: SQLiteDriverName): Promise<SQLiteDatabase> {
  if (driver !== undefined && !SQLITE_DRIVERS.includes(driver)) {
    throw new TypeError(`SQLiteStore: driver option must be one of ${SQLITE_DRIVERS.map((d) => `'${d}'`).join(', ')}; got ${JSON.stringify(driver)}`);
  }
  const here = runtime();
  const chosen: SQLiteDriverName = driver ?? (here === 'bun' ? 'bun:sqlite' : here === 'deno' ? 'node:sqlite' : 'better-sqlite3');
  try {
    return await open(chosen, path, options);
  } catch (err) {
    if (!(err instanceof Unloadable)) throw err;
    if (driver === undefined && chosen === 'better-sqlite3') {
      // Node without a better-sqlite3 that loads: its own SQLite, where it has one.
      try {
        return await open('node:sqlite', path, options);
      } catch (second) {
        if (!(second instanceof Unloadable)) throw second;
      }
    }
    throw driverMissing(chosen, here, err.cause);
  }
}

/** A driver that is not there, or whose code does not load on this runtime. */
class Unloadable extends Error {}

async function open(driver: SQLiteDriverName, path: string, options: SQLiteOpenOptions): Promise<SQLiteDatabase> {
  let module: unknown;
  try {
    module = await import(modules[driver]);
  } catch (err) {
    throw new Unloadable(driver, { cause: err });
  }
  if (driver === 'bun:sqlite') return openBunSQLite(module, path, options);
  if (driver === 'node:sqlite') return openNodeSQLite(module, path, options);
  const BetterSqlite3 = (module as { default: new (path: string, options: SQLiteOpenOptions) => SQLiteDatabase }).default;
  try {
    return new BetterSqlite3(path, options);
  } catch (err) {
    // better-sqlite3 loads its native addon when the first database opens: an error that is not
    // SQLite's own (a file that cannot be opened) is that addon failing to load.
    if ((err as { name?: unknown } | null)?.name === 'SqliteError') throw err;
    throw new Unloadable(driver, { cause: err });
  }
}

const runtimeNames = { bun: 'Bun', deno: 'Deno', node: 'Node' } as const;

/** The error for a driver that did not load, saying what to install or choose instead. */
function driverMissing(driver: SQLiteDriverName, here: 'bun' | 'deno' | 'node', cause: unknown): DriverMissingError {
  const error = new DriverMissingError('SQLiteStore', driver, cause);
  const why = cause instanceof Error ? ` (${cause.message.split('\n')[0]})` : '';
  const name = runtimeNames[here];
  switch (driver) {
    case 'better-sqlite3':
      error.message = here === 'node'
        ? `SQLiteStore needs the better-sqlite3 package: npm install better-sqlite3, or run on Node 22.5 or later, whose node:sqlite it then uses${why}`
        : `SQLiteStore: better-sqlite3 does not load on ${name}${why}; leave out the driver option to use ${here === 'bun' ? 'bun:sqlite' : 'node:sqlite'}`;
      break;
    case 'bun:sqlite':
      error.message = `SQLiteStore: the bun:sqlite driver is Bun's own, and this is ${name}; use driver 'better-sqlite3' (npm install better-sqlite3) or 'node:sqlite' (Node 22.5 or later, Deno)`;
      break;
    case 'node:sqlite':
      error.message = `SQLiteStore: this ${name} has no node:sqlite (Node 22.5 or later and Deno 2.2 or later do)${why}; use driver 'better-sqlite3' (npm install better-sqlite3)${here === 'bun' ? " or 'bun:sqlite'" : ''}`;
      break;
  }
  return error;
}

/** A driver error for a locked file, with better-sqlite3's code, so the store tells it from others. */
class BusyError extends Error {
  readonly code = 'SQLITE_BUSY';
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'SqliteError';
  }
}

/** `fn`, with a driver's "database is locked" turned into a BusyError. */
function busyAware<T>(isBusy: (err: unknown) => boolean, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw isBusy(err) ? new BusyError(err) : err;
  }
}

interface RawStatement {
  run(...params: unknown[]): { changes: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

interface RawDatabase {
  prepare(sql: string): RawStatement;
  exec(sql: string): unknown;
  close(): unknown;
}

/** Bun's and Node's statements, as better-sqlite3's: `pluck()` reads each row's first column. */
class Statement implements SQLiteStatement {
  constructor(
    private readonly raw: RawStatement,
    private readonly isBusy: (err: unknown) => boolean,
    private readonly plucked = false,
  ) {}

  run(...params: unknown[]): { changes: number | bigint } {
    return busyAware(this.isBusy, () => this.raw.run(...params));
  }

  get(...params: unknown[]): unknown {
    const row = busyAware(this.isBusy, () => this.raw.get(...params));
    return this.plucked ? first(row) : row;
  }

  all(...params: unknown[]): unknown[] {
    const rows = busyAware(this.isBusy, () => this.raw.all(...params));
    return this.plucked ? rows.map(first) : rows;
  }

  pluck(): SQLiteStatement {
    return new Statement(this.raw, this.isBusy, true);
  }
}

/** A row's first column; the drivers keep the columns' order in the row's keys. */
function first(row: unknown): unknown {
  if (row === undefined || row === null) return undefined;
  return Object.values(row as Record<string, unknown>)[0];
}

/**
 * The rest of better-sqlite3's Database over a driver's statements: transactions as BEGIN and
 * COMMIT (or ROLLBACK when the function throws; SAVEPOINTs inside another), pragmas as statements.
 */
class Database implements SQLiteDatabase {
  private depth = 0;

  constructor(
    private readonly raw: RawDatabase,
    private readonly isBusy: (err: unknown) => boolean,
  ) {}

  prepare(sql: string): SQLiteStatement {
    return new Statement(busyAware(this.isBusy, () => this.raw.prepare(sql)), this.isBusy);
  }

  exec(sql: string): this {
    busyAware(this.isBusy, () => this.raw.exec(sql));
    return this;
  }

  pragma(source: string, options?: { simple?: boolean }): unknown {
    const rows = this.prepare(`PRAGMA ${source}`).all();
    return options?.simple ? first(rows[0]) : rows;
  }

  transaction<F extends Work>(fn: F): SQLiteTransaction<F> {
    const as = (begin: string) => (...args: Args<F>): ReturnType<F> => this.within(begin, () => fn(...args) as ReturnType<F>);
    return Object.assign(as('BEGIN'), {
      deferred: as('BEGIN DEFERRED'),
      immediate: as('BEGIN IMMEDIATE'),
      exclusive: as('BEGIN EXCLUSIVE'),
    });
  }

  private within<T>(begin: string, work: () => T): T {
    const nested = this.depth > 0;
    const name = `sessionkit_${this.depth}`;
    this.exec(nested ? `SAVEPOINT ${name}` : begin);
    this.depth += 1;
    try {
      const result = work();
      this.exec(nested ? `RELEASE ${name}` : 'COMMIT');
      return result;
    } catch (err) {
      try {
        this.exec(nested ? `ROLLBACK TO ${name}; RELEASE ${name}` : 'ROLLBACK');
      } catch {
        // SQLite already rolled the transaction back (as it does on some errors): the first error is the one to report.
      }
      throw err;
    } finally {
      this.depth -= 1;
    }
  }

  close(): this {
    this.raw.close();
    return this;
  }
}

/** SQLite's primary result code for a locked file. */
const SQLITE_BUSY = 5;

function openBunSQLite(module: unknown, path: string, options: SQLiteOpenOptions): SQLiteDatabase {
  const BunDatabase = (module as { Database: new (path: string, options: { create: boolean }) => RawDatabase }).Database;
  // Bun's SQLiteError: `code` 'SQLITE_BUSY' (or an extended 'SQLITE_BUSY_…'), `errno` 5 (or extended).
  const isBusy = (err: unknown) => {
    const { code, errno } = (err ?? {}) as { code?: unknown; errno?: unknown };
    return (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) || (typeof errno === 'number' && (errno & 0xff) === SQLITE_BUSY);
  };
  const db = new Database(busyAware(isBusy, () => new BunDatabase(path, { create: true })), isBusy);
  db.pragma(`busy_timeout = ${options.timeout}`);
  return db;
}

function openNodeSQLite(module: unknown, path: string, options: SQLiteOpenOptions): SQLiteDatabase {
  const DatabaseSync = (module as { DatabaseSync: new (path: string) => RawDatabase }).DatabaseSync;
  // node:sqlite's errors: `code` 'ERR_SQLITE_ERROR', SQLite's own code in `errcode` (extended codes keep 5 in the low byte).
  const isBusy = (err: unknown) => {
    const { errcode } = (err ?? {}) as { errcode?: unknown };
    return typeof errcode === 'number' && (errcode & 0xff) === SQLITE_BUSY;
  };
  const db = new Database(busyAware(isBusy, () => new DatabaseSync(path)), isBusy);
  db.pragma(`busy_timeout = ${options.timeout}`);
  return db;
}
