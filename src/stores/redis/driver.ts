import type { Abortable } from './deadlines.js';

/** Sends one command (as strings) to the client, or on a cluster to the master of `key`. */
export type Send = (key: string | undefined, args: string[], signal: Abortable) => Promise<unknown>;
/** Sends one command to one node. */
export type SendToNode = (args: string[], signal: Abortable) => Promise<unknown>;

/** What the store needs from a driver, found once by duck typing so no driver is ever imported. */
export interface Driver {
  send: Send;
  /** One sender per master: the client itself, or each master of a cluster. */
  masters(signal: Abortable): Promise<SendToNode[]>;
  /** Keys may live on different nodes: no command or script may take two keys. */
  cluster: boolean;
  /** Removes the listeners the driver put on the client. */
  release(): void;
}

/** The parts of an ioredis `Redis` or `Cluster` the store uses. */
interface IoRedisClient {
  call(...args: string[]): Promise<unknown>;
  status: string;
  isCluster?: boolean;
  options?: { keyPrefix?: string };
  stream?: { cork?(): void; uncork?(): void };
  nodes?(role: 'master'): IoRedisClient[];
  connect(): Promise<unknown>;
  on(event: 'ready', listener: () => void): unknown;
  off(event: 'ready', listener: () => void): unknown;
}

/** `abortSignal` is node-redis v5's name for it, `signal` v4's. */
type NodeRedisOptions = { abortSignal: Abortable; signal: Abortable };

/** The parts of a node-redis client, Sentinel client or cluster the store uses. */
interface NodeRedisClient {
  sendCommand(...args: unknown[]): Promise<unknown>;
  isOpen: boolean;
  getMasterNode?: unknown;
  masters?: unknown[];
  nodeClient?(master: unknown): NodeRedisClient | Promise<NodeRedisClient>;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function isIoRedis(client: Record<string, unknown>): client is Record<string, unknown> & IoRedisClient {
  return typeof client.call === 'function' && typeof client.status === 'string';
}

function isNodeRedis(client: Record<string, unknown>): client is Record<string, unknown> & NodeRedisClient {
  return typeof client.sendCommand === 'function' && 'isOpen' in client;
}

/**
 * A Driver from its sender. A single server (or a Sentinel's current master) is its only master,
 * and the key of a command does not matter to it.
 */
function makeDriver(parts: {
  send: Send;
  masters?: Driver['masters'];
  release?: () => void;
}): Driver {
  const { send } = parts;
  return {
    send,
    cluster: parts.masters !== undefined,
    masters: parts.masters ?? (async () => [(args, signal) => send(undefined, args, signal)]),
    release: parts.release ?? (() => {}),
  };
}

export function detectDriver(client: unknown): Driver {
  if (!isObject(client)) {
    throw new TypeError('RedisStore needs the client option: a node-redis or ioredis client or cluster');
  }
  // ioredis: `call` sends any command and routes it by key on a Cluster.
  if (isIoRedis(client)) {
    if (client.options?.keyPrefix) {
      // ioredis would prefix the keys of commands but not those SCAN returns; one prefix, ours.
      throw new TypeError('RedisStore: use the prefix option instead of the ioredis keyPrefix option');
    }
    const gate = readyGate(client);
    const viaGate = (target: IoRedisClient, args: string[], signal: Abortable): Promise<unknown> =>
      // ioredis keeps commands issued while disconnected and sends them on reconnect, long after
      // they timed out here; waiting for 'ready' ourselves means a failed command never runs late.
      // A ready client writes the command at once, so that path adds nothing.
      target.status === 'ready' || target.status === 'end' ? target.call(...args) : gate.wait(signal).then(() => target.call(...args));
    if (client.isCluster) {
      return makeDriver({
        release: gate.release,
        send: (_key, args, signal) => viaGate(client, args, signal),
        masters: async (signal) => {
          // Before the cluster is ready its node list is empty, which would read as no sessions.
          if (client.status !== 'ready') await gate.wait(signal);
          return (client.nodes?.('master') ?? []).map((node) => (args: string[]) => node.call(...args));
        },
      });
    }
    // A ready ioredis client writes each command to the socket as it is sent: one system call
    // per command. Corked from the first command of a tick to the next tick, the commands of
    // every request answered in that tick leave in one write, as node-redis sends them.
    let corked: { uncork?(): void } | undefined;
    const uncork = () => {
      const stream = corked;
      corked = undefined;
      stream?.uncork?.();
    };
    return makeDriver({
      release: gate.release,
      send: (_key, args, signal) => {
        if (client.status !== 'ready') return viaGate(client, args, signal);
        const stream = client.stream;
        if (corked === undefined && typeof stream?.cork === 'function' && typeof stream.uncork === 'function') {
          stream.cork();
          corked = stream;
          process.nextTick(uncork);
        }
        return client.call(...args);
      },
    });
  }
  // node-redis v4/v5: an abort signal takes a timed-out command out of the offline queue.
  // It writes the commands of one tick together by itself.
  if (isNodeRedis(client)) {
    const options = (signal: Abortable): NodeRedisOptions => ({ abortSignal: signal, signal });
    if (typeof client.getMasterNode === 'function') {
      // A node-redis Sentinel client: commands go to the current master.
      return makeDriver({ send: (_key, args, signal) => client.sendCommand(false, args, { abortSignal: signal }) });
    }
    if (Array.isArray(client.masters) && typeof client.nodeClient === 'function') {
      return makeDriver({
        send: (key, args, signal) => client.sendCommand(key, false, args, options(signal)),
        // Read at each call: the cluster replaces its list of masters when its slots move.
        masters: () =>
          Promise.all((client.masters ?? []).map(async (master): Promise<SendToNode> => {
            const node = await client.nodeClient!(master);
            return (args, signal) => node.sendCommand(args, options(signal));
          })),
      });
    }
    return makeDriver({ send: (_key, args, signal) => client.sendCommand(args, options(signal)) });
  }
  throw new TypeError('RedisStore: the client option is neither a node-redis nor an ioredis client or cluster');
}

/** Waiters for an ioredis client's next 'ready', each dropped when its command times out. */
function readyGate(client: IoRedisClient): { wait(signal: Abortable): Promise<void>; release(): void } {
  const waiters = new Set<() => void>();
  const onReady = () => {
    for (const wake of waiters) wake();
    waiters.clear();
  };
  client.on('ready', onReady);
  return {
    release: () => client.off('ready', onReady),
    wait(signal) {
      if (client.status === 'wait') client.connect().catch(() => {});
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          waiters.delete(wake);
          reject(signal.reason);
        };
        const wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        waiters.add(wake);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
