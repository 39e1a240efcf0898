import { settle, type Callback } from '../../core/callback.js';
import {
  expiresOf, parseRecord, Store,
  type ConditionalWrite, type SessionRecord, type UserIndexOptions, type UserSession, type VersionedRecord,
} from '../contract.js';
import {
  destroyUserSessions, listUserSessions, planLogin, sessionLimitOf, userKeyOf, type SessionLimit, type UserIndexBackend,
} from '../user-index.js';

import { Deadlines, NEVER, type Abortable } from './deadlines.js';
import { detectDriver, type Driver, type SendToNode } from './driver.js';
import {
  COMPARE_AND_SET, COMPARE_SET_AND_FILE, FILE_UNDER_USER, isNoScript, LIMITED_FILE, LIMITED_SET, REFILE_UNDER_USER,
  SET_AND_FILE, TOUCH_AND_REFILE, type Script,
} from './scripts.js';

/** How records become the stored text and back; JSON by default, as connect-redis. */
export interface Serializer {
  parse(text: string): unknown;
  stringify(record: SessionRecord): string;
}

export interface RedisStoreOptions extends UserIndexOptions {
  /**
   * A connected node-redis client (`createClient`) or cluster (`createCluster`), or an ioredis
   * `Redis` or `Cluster`. The store never connects, quits or wraps it.
   */
  client: object;
  /** Prefix of the session keys. Default `sess:` (connect-redis's). */
  prefix?: string;
  /**
   * Prefix of the user index keys (one set per user), which must not start with `prefix`.
   * Default: `prefix` with its final `:` made `-user:` (`sess:` gives `sess-user:`), else `sessionkit-user:<prefix>:`.
   */
  userPrefix?: string;
  /** Seconds a session lives when its cookie has no expiry, or a function of the session returning seconds. Default 86400. */
  ttl?: number | ((session: SessionRecord) => number);
  /** Makes `touch` do nothing. Default false. */
  disableTouch?: boolean;
  /** Stores sessions without an expiry (and makes `touch` do nothing). Default false. */
  disableTTL?: boolean;
  /** Turns records into stored text and back. Default `JSON`. */
  serializer?: Serializer;
  /** The COUNT hint of each SCAN in `all`, `ids`, `length` and `clear`. Default 100. */
  scanCount?: number;
  /** Milliseconds within which every command must be answered, or it fails; 0 waits forever. Default 2000. */
  commandTimeout?: number;
}


function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function recordOrNull(parsed: unknown): SessionRecord | null {
  try {
    return parseRecord(parsed);
  } catch {
    return null;
  }
}

/** `command`'s answer once `beside` (the user index update, when there is one) is done too. */
function both<T>(command: Promise<T>, beside: Promise<unknown> | undefined): Promise<T> {
  return beside ? Promise.all([command, beside]).then(([answer]) => answer) : command;
}

/** What the store asks of any client: its 'error' events. */
interface ErrorSource {
  on?(event: 'error', listener: (err: unknown) => void): unknown;
  off?(event: 'error', listener: (err: unknown) => void): unknown;
}

/** The error of a server that does not know PEXPIRE's GT option (before Redis 7.0). */
function isNoExpireGt(err: unknown): boolean {
  return /wrong number of arguments|syntax error|unsupported option/i.test(String((err as Error | null)?.message));
}

/** A script's integer answer (node-redis and ioredis both give a number). */
function isAnswer(result: unknown, n: number): boolean {
  return result === n;
}

/**
 * The most times a login under `maxSessionsPerUser` reads the user's sessions again because
 * another write changed them meanwhile; each retry means another write went through.
 */
const MAX_PLANS = 50;

/** Users whose set's expiry the store remembers (the oldest forgotten first). */
const MAX_COVERED = 10_000;

/** Session IDs per MGET or DEL when a user's sessions are loaded or ended together. */
const MANY = 100;

function chunks(keys: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < keys.length; i += MANY) out.push(keys.slice(i, i + MANY));
  return out;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Sessions in Redis or Redis Cluster, with connect-redis's data layout: key `<prefix><id>`,
 * value the serialized record, expiry from the session cookie (else `ttl`). Apps move between
 * the two stores with every session intact.
 */
export class RedisStore extends Store {
  readonly client: object;
  readonly prefix: string;
  readonly userPrefix: string;
  readonly ttl: number | ((session: SessionRecord) => number);
  readonly disableTouch: boolean;
  readonly disableTTL: boolean;
  readonly serializer: Serializer;
  readonly scanCount: number;
  readonly commandTimeout: number;
  private readonly userId: RedisStoreOptions['userId'];
  /** `maxSessionsPerUser` and `onLimit`, when set. */
  private readonly limit: SessionLimit | undefined;
  private readonly driver: Driver;
  /** The commands in flight and their deadlines; none when `commandTimeout` is 0. */
  private readonly deadlines: Deadlines | undefined;
  private readonly onClientError: (err: unknown) => void;
  /** Whether the server takes PEXPIRE's NX and GT options (Redis 7.0 and later); false once it refused them. */
  private expireGt = true;
  /**
   * Per user's set: how long this store made it live (`until`, a lower bound, and `at`, when
   * it was sent, both on the monotonic clock). A touch, or a save of a session already filed,
   * whose session ends before `until` skips the set's PEXPIRE, while the entry is younger than
   * a quarter of the session's life. Only ever set by an answered PEXPIRE, never trusted
   * across processes: see `covers`.
   */
  private readonly covered = new Map<string, { until: number; at: number }>();

  constructor(options: RedisStoreOptions) {
    super();
    const o = (options ?? {}) as RedisStoreOptions;
    this.driver = detectDriver(o.client);
    this.client = o.client;
    this.prefix = o.prefix ?? 'sess:';
    if (typeof this.prefix !== 'string') throw new TypeError('RedisStore: prefix option must be a string');
    // Outside the session prefix, so SCANs for sessions never meet the index (nor do connect-redis's).
    this.userPrefix = o.userPrefix ?? (this.prefix.endsWith(':') ? `${this.prefix.slice(0, -1)}-user:` : `sessionkit-user:${this.prefix}:`);
    if (typeof this.userPrefix !== 'string' || (this.prefix !== '' && this.userPrefix.startsWith(this.prefix))) {
      throw new TypeError(`RedisStore: userPrefix option must be a string that does not start with prefix (${this.prefix})`);
    }
    this.ttl = o.ttl ?? 86400;
    if (typeof this.ttl !== 'function' && !(typeof this.ttl === 'number' && this.ttl > 0 && Number.isFinite(this.ttl))) {
      throw new TypeError(`RedisStore: ttl option must be a number of seconds above 0, or a function; got ${String(this.ttl)}`);
    }
    this.disableTouch = Boolean(o.disableTouch);
    this.disableTTL = Boolean(o.disableTTL);
    this.serializer = o.serializer ?? JSON;
    this.scanCount = o.scanCount ?? 100;
    if (!(Number.isInteger(this.scanCount) && this.scanCount > 0)) {
      throw new TypeError(`RedisStore: scanCount option must be a positive integer; got ${String(this.scanCount)}`);
    }
    this.commandTimeout = o.commandTimeout ?? 2000;
    if (!(typeof this.commandTimeout === 'number' && this.commandTimeout >= 0 && Number.isFinite(this.commandTimeout))) {
      throw new TypeError(`RedisStore: commandTimeout option must be milliseconds, 0 or more; got ${String(this.commandTimeout)}`);
    }
    this.deadlines = this.commandTimeout ? new Deadlines(this.commandTimeout) : undefined;
    this.userId = o.userId;
    this.limit = sessionLimitOf(o, 'RedisStore');
    // A node-redis client or cluster with no 'error' listener throws on a lost connection and
    // ends the process. The store listens so an outage can't crash the app: requests get the
    // errors through their commands, and the store re-emits them to its own 'error' listeners.
    this.onClientError = (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    };
    (this.client as ErrorSource).on?.('error', this.onClientError);
  }

  /** Stops listening to the client. The client stays open: it is the app's to quit. */
  close(): void {
    (this.client as ErrorSource).off?.('error', this.onClientError);
    this.driver.release();
  }

  private key(sid: string): string {
    return this.prefix + sid;
  }

  /** Sends one command (to `key`'s master, or to the node `to`), bounded by `commandTimeout`. */
  private send(key: string | undefined, args: string[], to?: SendToNode): Promise<unknown> {
    return this.bounded((signal) => (to ? to(args, signal) : this.driver.send(key, args, signal)));
  }

  /** Fails after `commandTimeout` ms, aborting the signal so the driver withdraws what it still holds. */
  private bounded<T>(run: (signal: Abortable) => Promise<T>): Promise<T> {
    if (this.deadlines) return this.deadlines.run(run);
    try {
      return run(NEVER);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Runs a script on the master of its first key (the others share its server: no cluster). */
  private async runScript(s: Script, keys: string[], args: string[]): Promise<unknown> {
    const count = String(keys.length);
    try {
      return await this.send(keys[0], ['EVALSHA', s.sha, count, ...keys, ...args]);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      // Not cached on this node yet (a new node, a restart, SCRIPT FLUSH): EVAL caches it.
      return this.send(keys[0], ['EVAL', s.source, count, ...keys, ...args]);
    }
  }

  /** Milliseconds the record should live, as connect-redis computes it; 0 or less means expired. */
  private ttlMs(record: SessionRecord): number {
    if (typeof this.ttl === 'function') return Math.ceil(Number(this.ttl(record)) * 1000);
    const expires = expiresOf(record);
    return Math.ceil(expires ? expires.getTime() - Date.now() : this.ttl * 1000);
  }

  /** The record of a stored text, or null; synchronous unless the serializer answers with a promise. */
  private parse(text: unknown): SessionRecord | null | Promise<SessionRecord | null> {
    if (typeof text !== 'string') return null;
    let parsed: unknown;
    try {
      parsed = this.serializer.parse(text);
    } catch {
      return null;
    }
    // connect-redis serializers may parse asynchronously; JSON's answer is used without a detour.
    return isThenable(parsed) ? Promise.resolve(parsed).then(recordOrNull, () => null) : recordOrNull(parsed);
  }

  /** The key of the set the record is filed under, or undefined for an anonymous one. */
  private userKey(record: SessionRecord): string | undefined {
    const user = userKeyOf(this.userId, record);
    return user === undefined ? undefined : this.userPrefix + user;
  }

  /** The expiry argument of the scripts: ms above 0, or 0 for none (disableTTL). */
  private ttlArg(ttlMs: number): string {
    return this.disableTTL ? '0' : String(ttlMs);
  }

  /** Files the session under its user with a command of its own: on a cluster the set lives in another slot. */
  private fileUnderUser(sid: string, userKey: string | undefined, ttlMs: number): Promise<unknown> | undefined {
    if (userKey === undefined) return undefined;
    return this.runScript(FILE_UNDER_USER, [userKey], [sid, this.ttlArg(ttlMs)]);
  }

  /**
   * Whether the user's set is known to outlive a session ending `ttl` ms after `now`: this store
   * gave it an expiry past that (PEXPIRE only ever lengthens it: GT, or NX on a new set) less
   * than a quarter of the session's life ago. A set this store did not see emptied (by another
   * process: its last session ended) and made anew since holds only sessions filed since, each
   * saved with half its life again of headroom; within that quarter, such a set outlives a
   * session touched to no longer than 1.2 times the life it was saved with (the cookie's
   * maxAge, the same at a touch as at a save). Not with a `ttl` function, whose answer may change.
   */
  private covers(userKey: string, ttl: number, now: number): boolean {
    if (typeof this.ttl === 'function') return false;
    const entry = this.covered.get(userKey);
    return entry !== undefined && now + ttl <= entry.until && now - entry.at <= ttl / 4;
  }

  /** Remembers that the user's set lives until `until` at least (sent at `at`). */
  private cover(userKey: string, until: number, at: number): void {
    if (typeof this.ttl === 'function') return;
    this.covered.delete(userKey);
    if (this.covered.size >= MAX_COVERED) this.covered.delete(this.covered.keys().next().value!);
    this.covered.set(userKey, { until, at });
  }

  /** Forgets the user's set: this store removed sessions from it, which may have emptied it. */
  private uncover(userKey: string): void {
    this.covered.delete(userKey);
  }

  /**
   * The set's expiry after a SADD that added a session: NX for a set made by that SADD, and GT
   * when it was not sent with the SADD.
   */
  private async extendSet(userKey: string, setTtl: number, at: number, gt: boolean): Promise<void> {
    await this.bounded((signal) => Promise.all([
      this.driver.send(userKey, ['PEXPIRE', userKey, String(setTtl), 'NX'], signal),
      gt ? this.driver.send(userKey, ['PEXPIRE', userKey, String(setTtl), 'GT'], signal) : undefined,
    ]));
    this.cover(userKey, at + setTtl, at);
  }

  private async read(sid: string): Promise<VersionedRecord | null> {
    const text = await this.send(this.key(sid), ['GET', this.key(sid)]);
    const record = await this.parse(text);
    return record ? { record, version: text as string } : null;
  }

  private async write(sid: string, record: SessionRecord): Promise<void> {
    const key = this.key(sid);
    const ttl = this.ttlMs(record);
    if (ttl <= 0) {
      await this.send(key, ['DEL', key]);
      return;
    }
    const text = this.serializer.stringify(record);
    const userKey = this.userKey(record);
    if (userKey !== undefined && this.limit) {
      await this.limitedWrite(sid, userKey, text, ttl, undefined);
      return;
    }
    // SET, then the filing: SADD, and the set made to outlive the session with half as long
    // again of headroom, never shortened (PEXPIRE GT extends it; NX gives a new set its expiry),
    // in plain commands sent together, where a script costs Redis ten times more. The set's
    // PEXPIRE GT only while it is not known to outlive the session already; NX only after a
    // SADD that added the session (a login, or a set made anew), in a second round trip.
    if (userKey !== undefined && this.expireGt && !this.disableTTL) {
      const setTtl = ttl + Math.floor(ttl / 2);
      const at = performance.now();
      try {
        const known = this.covers(userKey, ttl, at);
        const [, added] = await this.bounded((signal) => Promise.all([
          this.driver.send(key, ['SET', key, text, 'PX', String(ttl)], signal),
          this.driver.send(userKey, ['SADD', userKey, sid], signal),
          known ? undefined : this.driver.send(userKey, ['PEXPIRE', userKey, String(setTtl), 'GT'], signal),
        ]));
        if (Number(added) === 1) {
          await this.extendSet(userKey, setTtl, at, known);
        } else if (!known) {
          // The set held the session, so it has its expiry, which GT made at least this one.
          this.cover(userKey, at + setTtl, at);
        }
        return;
      } catch (err) {
        if (!isNoExpireGt(err)) throw err;
        this.expireGt = false;
      }
    }
    if (userKey !== undefined && !this.driver.cluster) {
      await this.runScript(SET_AND_FILE, [key, userKey], [text, this.ttlArg(ttl), sid]);
      return;
    }
    const args = this.disableTTL ? ['SET', key, text] : ['SET', key, text, 'PX', String(ttl)];
    await both(this.send(key, args), this.fileUnderUser(sid, userKey, ttl));
  }

  get(sid: string): Promise<SessionRecord | null>;
  get(sid: string, callback: Callback<SessionRecord | null | undefined>): void;
  get(sid: string, callback?: Callback<SessionRecord | null>): Promise<SessionRecord | null> | void {
    const key = this.key(sid);
    return settle(this.send(key, ['GET', key]).then((text) => this.parse(text)), callback);
  }

  set(sid: string, session: SessionRecord): Promise<void>;
  set(sid: string, session: SessionRecord, callback: Callback): void;
  set(sid: string, session: SessionRecord, callback?: Callback): Promise<void> | void {
    return settle(this.write(sid, session), callback);
  }

  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: Callback): void;
  destroy(sid: string, callback?: Callback): Promise<void> | void {
    return settle(this.send(this.key(sid), ['DEL', this.key(sid)]).then(() => undefined), callback);
  }

  /** Renews the expiry of an existing session (PEXPIRE: the record is not rewritten, nor created). */
  touch(sid: string, session: SessionRecord): Promise<void>;
  touch(sid: string, session: SessionRecord, callback: Callback): void;
  touch(sid: string, session: SessionRecord, callback?: Callback): Promise<void> | void {
    return settle(this.renew(sid, session), callback);
  }

  private async renew(sid: string, session: SessionRecord): Promise<void> {
    if (this.disableTouch || this.disableTTL) return;
    const key = this.key(sid);
    const ttl = this.ttlMs(session);
    const userKey = ttl > 0 ? this.userKey(session) : undefined;
    // A non-positive expiry deletes the key, as connect-redis's EXPIRE does.
    if (userKey === undefined) {
      await this.send(key, ['PEXPIRE', key, String(ttl)]);
      return;
    }
    // A touch files no session (a save does): it makes the user's set outlive this session, with
    // half as long again of headroom and never shortened (GT), in two plain commands sent
    // together, where a script costs Redis several times more; in one, the session's PEXPIRE,
    // while the set is known to outlive it.
    if (this.expireGt) {
      const at = performance.now();
      if (this.covers(userKey, ttl, at)) {
        await this.send(key, ['PEXPIRE', key, String(ttl)]);
        return;
      }
      const setTtl = ttl + Math.floor(ttl / 2);
      try {
        const [, extended] = await this.bounded((signal) => Promise.all([
          this.driver.send(key, ['PEXPIRE', key, String(ttl)], signal),
          this.driver.send(userKey, ['PEXPIRE', userKey, String(setTtl), 'GT'], signal),
        ]));
        // 0 is also the answer for a set that does not exist: only a set given this expiry is remembered.
        if (Number(extended) === 1) this.cover(userKey, at + setTtl, at);
        return;
      } catch (err) {
        if (!isNoExpireGt(err)) throw err;
        // Redis before 7.0: the scripts, from now on.
        this.expireGt = false;
      }
    }
    if (!this.driver.cluster) {
      await this.runScript(TOUCH_AND_REFILE, [key, userKey], [String(ttl), sid]);
      return;
    }
    await both(this.send(key, ['PEXPIRE', key, String(ttl)]), this.runScript(REFILE_UNDER_USER, [userKey], [sid, String(ttl)]));
  }

  /** Every live session, as an array of records with their `id`, as connect-redis returns them. */
  all(): Promise<Array<SessionRecord & { id: string }>>;
  all(callback: Callback<Array<SessionRecord & { id: string }>>): void;
  all(callback?: Callback<Array<SessionRecord & { id: string }>>): Promise<Array<SessionRecord & { id: string }>> | void {
    return settle(this.loadAll(), callback);
  }

  ids(): Promise<string[]>;
  ids(callback: Callback<string[]>): void;
  ids(callback?: Callback<string[]>): Promise<string[]> | void {
    const from = this.prefix.length;
    return settle(this.keys(this.prefix).then((keys) => keys.map((k) => k.slice(from))), callback);
  }

  length(): Promise<number>;
  length(callback: Callback<number>): void;
  length(callback?: Callback<number>): Promise<number> | void {
    return settle(this.keys(this.prefix).then((keys) => keys.length), callback);
  }

  /** Deletes every session of this store's prefix, and the user index. */
  clear(): Promise<void>;
  clear(callback: Callback): void;
  clear(callback?: Callback): Promise<void> | void {
    const clearing = (async () => {
      await this.deleteKeys(await this.keys(this.prefix));
      await this.deleteKeys(await this.keys(this.userPrefix));
      this.covered.clear();
    })();
    return settle(clearing, callback);
  }

  /** The keys starting with `prefix` on every master, found with SCAN (never KEYS), each once. */
  private async keys(prefix: string): Promise<string[]> {
    const match = escapeGlob(prefix) + '*';
    const found = new Set<string>();
    for (const node of await this.bounded((signal) => this.driver.masters(signal))) {
      let cursor = '0';
      do {
        const [next, keys] = (await this.send(undefined, ['SCAN', cursor, 'MATCH', match, 'COUNT', String(this.scanCount)], node)) as [string, string[]];
        cursor = String(next);
        for (const key of keys) found.add(String(key));
      } while (cursor !== '0');
    }
    return [...found];
  }

  /** Runs a multi-key command in batches; on a cluster, one key per command, as keys rarely share a slot. */
  private async eachBatch<T>(keys: string[], run: (batch: string[]) => Promise<T[]>): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < keys.length; i += this.scanCount) {
      const batch = keys.slice(i, i + this.scanCount);
      const results = this.driver.cluster ? await Promise.all(batch.map((key) => run([key]))) : [await run(batch)];
      for (const result of results) out.push(...result);
    }
    return out;
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    await this.eachBatch(keys, async (batch) => [await this.send(batch[0], ['DEL', ...batch])]);
  }

  private async loadAll(): Promise<Array<SessionRecord & { id: string }>> {
    const keys = await this.keys(this.prefix);
    const texts = await this.eachBatch(keys, async (batch) => (await this.send(batch[0], ['MGET', ...batch])) as unknown[]);
    const out: Array<SessionRecord & { id: string }> = [];
    for (const [i, text] of texts.entries()) {
      const record = await this.parse(text);
      if (record) out.push(Object.assign(record, { id: keys[i]!.slice(this.prefix.length) }));
    }
    return out;
  }

  // The atomic primitive behind "no lost updates".

  /**
   * The record and its exact stored text, or null when missing or unreadable: a GET, with a
   * PTTL sent beside it (same round trip). `touch` renews only the key's expiry, so the stored
   * cookie keeps the expiry of the last save; the loaded cookie gets the key's real expiry
   * instead, which is what lets the middleware's `touchAfter` skip touches that are not due.
   */
  async getVersioned(sid: string): Promise<VersionedRecord | null> {
    const key = this.key(sid);
    // Both commands under one deadline (one entry, half the bookkeeping) and in one socket write.
    const [text, pttl] = await this.bounded((signal) =>
      Promise.all([this.driver.send(key, ['GET', key], signal), this.driver.send(key, ['PTTL', key], signal)]),
    );
    const record = await this.parse(text);
    if (!record) return null;
    // Only when the key's expiry is the cookie's: not for a session cookie, a ttl function or disableTTL.
    if (record.cookie.expires && typeof this.ttl !== 'function' && Number(pttl) > 0) {
      record.cookie.expires = new Date(Date.now() + Number(pttl)).toISOString();
    }
    return { record, version: text as string };
  }

  /**
   * One EVALSHA: the compare-and-set script, which with `userId` also files a written session
   * under its user (on a cluster, where the user's set lives in another slot, a second script
   * files it beside the write).
   */
  async setIfVersion(sid: string, version: string, record: SessionRecord): Promise<ConditionalWrite> {
    const key = this.key(sid);
    const ttl = this.ttlMs(record);
    const text = this.serializer.stringify(record);
    const ttlArg = ttl <= 0 ? '-1' : this.ttlArg(ttl);
    const userKey = ttl > 0 ? this.userKey(record) : undefined;
    const result = userKey !== undefined && this.limit
      ? await this.limitedWrite(sid, userKey, text, ttl, version)
      : userKey !== undefined && !this.driver.cluster
      ? await this.runScript(COMPARE_SET_AND_FILE, [key, userKey], [version, text, ttlArg, sid])
      : await both(this.runScript(COMPARE_AND_SET, [key], [version, text, ttlArg]), this.fileUnderUser(sid, userKey, ttl));
    if (result === 1 || result === '1') return { written: true, version: text };
    if (typeof result !== 'string') return { written: false, current: null };
    const current = await this.parse(result);
    return { written: false, current: current ? { record: current, version: result } : null };
  }

  /**
   * A write of a session filed under `userKey`, with `maxSessionsPerUser`: a conditional one
   * when `version` is given (answering as COMPARE_AND_SET does). A session already filed under
   * the user is written at once; a login reads the user's sessions, plans (drops the stale
   * entries, chooses whom to evict, or refuses) and files only if the user's set is still what
   * it read, else reads again. On one server the check, the evictions and the write are one
   * script; on a cluster, see clusterLogin.
   */
  private async limitedWrite(sid: string, userKey: string, text: string, ttl: number, version: string | undefined): Promise<unknown> {
    const key = this.key(sid);
    // A login may drop entries from the user's set, even all of them.
    this.uncover(userKey);
    const ttlArg = this.ttlArg(ttl);
    const cas = version === undefined ? ['0', ''] : ['1', version];
    if (this.driver.cluster) {
      const filed = await this.runScript(LIMITED_FILE, [userKey], [sid, ttlArg, '0']);
      if (isAnswer(filed, 1)) return this.writeOne(key, text, ttl, version);
      return this.clusterLogin(sid, userKey, text, ttl, version);
    }
    let result = await this.runScript(LIMITED_SET, [key, userKey], [...cas, text, ttlArg, sid, '0']);
    for (let plans = 1; isAnswer(result, 2) || isAnswer(result, 3); plans++) {
      const { evict, args } = await this.plan(sid, userKey, plans);
      result = await this.runScript(LIMITED_SET, [key, userKey, ...evict.map((id) => this.key(id))], [...cas, text, ttlArg, sid, ...args]);
    }
    return result;
  }

  /**
   * A login on a cluster, where the session lives in another slot than the user's set: the
   * session is written first, then filed by a script that checks the set is still what the plan
   * read, then the evicted sessions are ended. So the set never holds a session not yet written
   * (which another login would drop as stale); a login refused on a later plan takes its write
   * back: the session is what it was before (or gone again), unless another write came since.
   */
  private async clusterLogin(sid: string, userKey: string, text: string, ttl: number, version: string | undefined): Promise<unknown> {
    const key = this.key(sid);
    let result: unknown;
    let written = false;
    let before: unknown = version;
    try {
      for (let plans = 1; ; plans++) {
        const { evict, args } = await this.plan(sid, userKey, plans);
        if (!written) {
          if (version === undefined) before = await this.send(key, ['GET', key]);
          result = await this.writeOne(key, text, ttl, version);
          if (version !== undefined && !isAnswer(result, 1)) return result;
          written = true;
        }
        if (isAnswer(await this.runScript(LIMITED_FILE, [userKey], [sid, this.ttlArg(ttl), ...args]), 1)) {
          if (evict.length) await this.destroyMany(evict);
          return result;
        }
      }
    } catch (err) {
      if (written) {
        // Only while the session still holds this write; a session that was missing is deleted again.
        const restore = typeof before === 'string' ? [text, before, this.ttlArg(ttl)] : [text, '', '-1'];
        await this.runScript(COMPARE_AND_SET, [key], restore);
      }
      throw err;
    }
  }

  /** SET of one session, or its COMPARE_AND_SET from `version`. */
  private writeOne(key: string, text: string, ttl: number, version: string | undefined): Promise<unknown> {
    if (version !== undefined) return this.runScript(COMPARE_AND_SET, [key], [version, text, this.ttlArg(ttl)]);
    return this.send(key, this.disableTTL ? ['SET', key, text] : ['SET', key, text, 'PX', String(ttl)]);
  }

  /**
   * The plan of a login (see planLogin) from the user's set as it is now, and the arguments that
   * check it in LIMITED_SET and LIMITED_FILE: the IDs read, then the entries to drop.
   */
  private async plan(sid: string, userKey: string, plans: number): Promise<{ evict: string[]; args: string[] }> {
    const user = userKey.slice(this.userPrefix.length);
    if (plans > MAX_PLANS) throw new Error(`RedisStore: the sessions of user ${user} kept changing during a login`);
    const ids = ((await this.send(userKey, ['SMEMBERS', userKey])) as unknown[]).map(String);
    const { stale, evict } = planLogin(sid, user, ids, await this.loadMany(ids), this.userId, this.limit!);
    const drops = [...stale, ...evict];
    return { evict, args: ['1', String(ids.length), ...ids, String(drops.length), ...drops] };
  }

  // The user index: a set of session IDs per user, each ID re-checked against its record.

  /** True when the store was given a `userId` option. */
  get indexesUsers(): boolean {
    return typeof this.userId === 'function';
  }

  /** The user a record is filed under (as a string), or undefined. */
  userIdOf(record: SessionRecord): string | undefined {
    return userKeyOf(this.userId, record);
  }

  /** Ends one session (one device): deletes it and drops it from its user's set. */
  async destroySession(sid: string): Promise<void> {
    const key = this.key(sid);
    const loaded = await this.read(sid);
    const userKey = loaded ? this.userKey(loaded.record) : undefined;
    if (userKey !== undefined) this.uncover(userKey);
    await both(this.send(key, ['DEL', key]), userKey === undefined ? undefined : this.send(userKey, ['SREM', userKey, sid]));
  }

  private get index(): UserIndexBackend {
    return {
      members: async (user) => ((await this.send(this.userPrefix + user, ['SMEMBERS', this.userPrefix + user])) as unknown[]).map(String),
      remove: async (user, ids) => {
        this.uncover(this.userPrefix + user);
        if (ids.length) await this.send(this.userPrefix + user, ['SREM', this.userPrefix + user, ...ids]);
      },
      load: async (id) => (await this.read(id))?.record ?? null,
      destroy: async (id) => {
        await this.send(this.key(id), ['DEL', this.key(id)]);
      },
      loadMany: (ids) => this.loadMany(ids),
      destroyMany: (ids) => this.destroyMany(ids),
      // The DELs and the SREM leave in one write; one server runs them in that order.
      removeBesideDestroy: true,
    };
  }

  /**
   * The records of `ids`, in their order: an MGET per hundred IDs, all sent at once (on a
   * cluster, a GET each, as the keys rarely share a slot).
   */
  private async loadMany(ids: string[]): Promise<Array<SessionRecord | null>> {
    const keys = ids.map((id) => this.key(id));
    const texts = this.driver.cluster
      ? await Promise.all(keys.map((key) => this.send(key, ['GET', key])))
      : (await Promise.all(chunks(keys).map((chunk) => this.send(chunk[0], ['MGET', ...chunk]) as Promise<unknown[]>))).flat();
    return Promise.all(texts.map((text) => this.parse(text)));
  }

  /** Deletes the sessions of `ids`: a DEL per hundred IDs, all sent at once (on a cluster, one each). */
  private async destroyMany(ids: string[]): Promise<void> {
    const keys = ids.map((id) => this.key(id));
    await Promise.all((this.driver.cluster ? keys.map((key) => [key]) : chunks(keys)).map((chunk) => this.send(chunk[0], ['DEL', ...chunk])));
  }

  /** The live sessions of a user (needs the `userId` option). */
  listUserSessions(userId: string | number): Promise<UserSession[]> {
    return listUserSessions(this.index, this.userId, userId);
  }

  /** Ends every session of a user but those in `except`; returns how many it ended. */
  destroyUserSessions(userId: string | number, options?: { except?: string | string[] }): Promise<number> {
    return destroyUserSessions(this.index, this.userId, userId, options);
  }
}
