/**
 * The runtime tests' harness: test/runtimes/server.mjs started on Node, Bun or Deno (the binaries
 * scripts/runtimes.sh installs into .runtimes/bin, or BUN_PATH and DENO_PATH), driven over HTTP
 * from the test's Node process. A runtime that is missing fails the test that needs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..', '..');
export type Runtime = 'node' | 'bun' | 'deno';
/** The runtimes besides Node that every runtime test runs on. */
export const runtimes: Runtime[] = ['bun', 'deno'];

export type Front = 'web' | 'hono' | 'express';
export type StoreKind = 'none' | 'memory' | 'redis' | 'postgres' | 'sqlite' | 'sealed';

/** What server.mjs serves: see its header. */
export interface ServerConfig {
  front: Front;
  store: StoreKind;
  redisUrl?: string;
  prefix?: string;
  pgUrl?: string;
  table?: string;
  sqlitePath?: string;
  driver?: string;
  commandTimeout?: number;
  secret?: string;
}

function binary(runtime: 'bun' | 'deno'): string {
  const path = process.env[`${runtime.toUpperCase()}_PATH`] || join(root, '.runtimes', 'bin', runtime);
  if (!existsSync(path)) throw new Error(`${runtime} is not installed at ${path}: run bash scripts/runtimes.sh`);
  return path;
}

/** The command that runs a script on a runtime: Deno with every permission, no lock file written. */
export function command(runtime: Runtime, script: string): [string, string[]] {
  if (runtime === 'node') return [process.execPath, [script]];
  if (runtime === 'bun') return [binary('bun'), [script]];
  return [binary('deno'), ['run', '--allow-all', '--no-lock', script]];
}

/** The environment of a runtime's process: no update checks or prompts (nothing leaves the machine). */
export function runtimeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1', ...extra };
}

export interface RunningServer {
  runtime: Runtime;
  url: string;
  /** What the process printed on stderr so far. */
  stderr(): string;
  /** SIGTERM (the server closes its store), then SIGKILL if it has not exited in 5 s. */
  stop(): Promise<void>;
}

/** Starts server.mjs on `runtime` and waits until it says which free port it listens on. */
export function startServer(runtime: Runtime, config: ServerConfig): Promise<RunningServer> {
  const [file, args] = command(runtime, join(root, 'test', 'runtimes', 'server.mjs'));
  const child: ChildProcess = spawn(file, args, { cwd: root, env: runtimeEnv({ SK_SERVER: JSON.stringify(config) }), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stderr!.on('data', (chunk) => (err += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${runtime} server did not start in 30 s: ${err}`)), 30_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const early = (code: number | null) => fail(new Error(`${runtime} server exited (${code}) before listening: ${err}`));
    child.once('exit', early);
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const ready = /READY (\d+)/.exec(out);
      if (!ready) return;
      clearTimeout(timer);
      child.off('exit', early);
      resolve({
        runtime,
        url: `http://127.0.0.1:${ready[1]}`,
        stderr: () => err,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}

/** Runs a script on a runtime to its end: its stdout, stderr and exit code. */
export function runScript(runtime: Runtime, script: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [file, args] = command(runtime, script);
  const child = spawn(file, args, { cwd: root, env: runtimeEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export { Client } from '../helpers/client.js';
