/**
 * Redis for the RedisStore tests: clients of both drivers on the shared server (REDIS_URL or
 * 127.0.0.1:6379), a key prefix unique to each test file and run, and private `redis-server`
 * processes on free loopback ports for tests that kill and restart one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import { vi } from 'vitest';

export const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

export type NodeRedisClient = ReturnType<typeof createClient>;

/** A prefix no other test file or run uses: `sk-test:<name>:<random>:`. */
export function uniquePrefix(name: string): string {
  return `sk-test:${name}:${process.pid}-${randomBytes(4).toString('hex')}:`;
}

export async function nodeRedis(url = redisUrl): Promise<NodeRedisClient> {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  return client;
}

export async function ioredis(url = redisUrl): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Deletes every key starting with `prefix` (SCAN + DEL: never KEYS, never a flush). */
export async function deleteByPrefix(client: NodeRedisClient, prefix: string): Promise<void> {
  const match = prefix.replace(/[*?[\]\\]/g, '\\$&') + '*';
  for await (const keys of client.scanIterator({ MATCH: match, COUNT: 500 })) {
    if (keys.length) await client.del(keys);
  }
}

/** A TCP port free on 127.0.0.1 (and, with `bus`, also port + 10000, a cluster node's bus port). */
export async function freePort(bus = false): Promise<number> {
  for (;;) {
    const port = bus ? 20000 + Math.floor(Math.random() * 20000) : await listenOn(0);
    if (!bus) return port;
    try {
      await listenOn(port);
      await listenOn(port + 10000);
      return port;
    } catch {
      // Taken: try another.
    }
  }
}

function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  process: ChildProcess;
  /** Kills the server (SIGKILL) and waits until it is gone. */
  kill(): Promise<void>;
}

/** Starts a private `redis-server` on 127.0.0.1:`port` in a temp dir and waits until it answers. */
export async function startRedisServer(port: number, extra: string[] = [], dir?: string): Promise<RedisServer> {
  const home = dir ?? mkdtempSync(join(tmpdir(), 'sk-redis-'));
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--daemonize', 'no', '--dir', home, ...extra,
  ], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(async () => (await redisCli(port, 'PING')).trim() === 'PONG', `redis-server on ${port}`);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir: home,
    process: child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs `redis-cli -p <port> <args>` and returns its output ('' when it fails). */
export function redisCli(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('error', () => resolve(''));
    child.once('close', () => resolve(out));
  });
}

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Starts a Redis Sentinel on `port` watching the master on `masterPort` as `mymaster`; resolves once it knows it. */
export async function startSentinel(port: number, masterPort: number): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sk-redis-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, [
    `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
    `sentinel monitor mymaster 127.0.0.1 ${masterPort} 1`,
  ].join('\n') + '\n');
  const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(async () => (await redisCli(port, 'SENTINEL', 'get-master-addr-by-name', 'mymaster')).includes(String(masterPort)), `sentinel on ${port}`);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    process: child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The commands a RedisStore's client sends while `run` runs, by name (the client of either driver). */
export async function commandsOf(store: { client: unknown }, driver: 'node-redis' | 'ioredis', run: () => Promise<unknown>): Promise<string[]> {
  const client = store.client as { sendCommand(...args: unknown[]): unknown; call(...args: unknown[]): unknown };
  const sent = driver === 'node-redis' ? vi.spyOn(client, 'sendCommand') : vi.spyOn(client, 'call');
  try {
    await run();
    return sent.mock.calls.map((call) => String(driver === 'node-redis' ? (call[0] as string[])[0] : call[0]).toUpperCase());
  } finally {
    sent.mockRestore();
  }
}
