/**
 * A real three-master Redis Cluster for the tests: three `redis-server --cluster-enabled yes`
 * nodes on free loopback ports in temp dirs, joined by `redis-cli --cluster create`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, redisCli, removeDir, startRedisServer, waitFor, type RedisServer } from './redis.js';

export interface RedisCluster {
  nodes: Array<{ host: string; port: number }>;
  urls: string[];
  stop(): Promise<void>;
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.kill()));
    for (const s of servers) removeDir(s.dir);
  };
  try {
    const ports: number[] = [];
    while (ports.length < 3) {
      const port = await freePort(true);
      if (!ports.includes(port)) ports.push(port);
    }
    for (const port of ports) {
      const dir = mkdtempSync(join(tmpdir(), 'sk-redis-cluster-'));
      servers.push(await startRedisServer(port, [
        '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '5000',
      ], dir));
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    await waitFor(async () => {
      const infos = await Promise.all(ports.map((p) => redisCli(p, 'CLUSTER', 'INFO')));
      return infos.every((info) => info.includes('cluster_state:ok') && info.includes('cluster_known_nodes:3'));
    }, 'cluster_state:ok', 30_000);
    return {
      nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
      urls: ports.map((port) => `redis://127.0.0.1:${port}`),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out}`))));
  });
}
