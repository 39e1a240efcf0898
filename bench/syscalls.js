#!/usr/bin/env node
// System calls per request, counted with `strace -c` (Linux, strace installed): a measure that
// other load on the machine doesn't move. `node bench/syscalls.js [--scenarios=read,write,new]
// [--contenders=bare,es-memory,sk-memory,...]`.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { deleteRedisPrefix, ensureBuilt, loadStore } from './common.js';
import { contenders, lineup } from './contenders.js';
import { load, login, startServer } from './load.js';

const { values: flags } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'read,write,new' },
    contenders: { type: 'string' },
    duration: { type: 'string', default: '3' },
  },
});

if (spawnSync('strace', ['-V']).status !== 0) {
  console.error('bench/syscalls.js needs strace (apt-get install strace)');
  process.exit(1);
}

/** Counts the server's system calls while it serves `duration` seconds of load; per request. */
async function count(server, path, cookies, duration) {
  const strace = spawn('strace', ['-f', '-c', '-p', String(server.child.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let report = '';
  strace.stderr.on('data', (d) => (report += d));
  // strace needs a moment to attach to every thread.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const result = await load({ server, path, cookies, duration, connections: 10 });
  strace.kill('SIGINT');
  await once(strace, 'exit');
  const calls = {};
  for (const line of report.split('\n')) {
    const f = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors,] syscall
    if (f.length >= 5 && /^\d+$/.test(f[3]) && f[f.length - 1] !== 'total') calls[f[f.length - 1]] = Number(f[3]) / result.requests;
  }
  return calls;
}

async function main() {
  ensureBuilt();
  const { missing } = await loadStore('redis', 'RedisStore');
  const prefix = `skbench:syscalls:${Date.now().toString(36)}:${process.pid}:`;
  const shown = ['writev', 'write', 'read', 'epoll_pwait', 'futex', 'getpid'];
  console.log(`system calls per request (strace -c), 10 connections, ${flags.duration} s`);
  console.log(`  ${'scenario  contender'.padEnd(58)} ${shown.map((s) => s.padStart(11)).join('')}`);
  for (const scenario of flags.scenarios.split(',')) {
    const ids = (flags.contenders?.split(',') ?? lineup[scenario]).filter((id) => !(missing && id.startsWith('sk-redis')));
    for (const id of ids) {
      const server = await startServer({ contender: id, scenario, prefix: `${prefix}${scenario}:${id}:` });
      try {
        const cookies = scenario === 'new' || id === 'bare' ? undefined : await login(server.port, 10);
        await load({ server, path: `/${scenario}`, cookies, duration: 1, connections: 10 });
        const calls = await count(server, `/${scenario}`, cookies, Number(flags.duration));
        console.log(`  ${`${scenario.padEnd(9)} ${contenders[id].label}`.padEnd(58)} ${shown.map((s) => (calls[s] ?? 0).toFixed(2).padStart(11)).join('')}`);
      } finally {
        await server.stop();
      }
    }
  }
  await deleteRedisPrefix(prefix);
}

await main();
