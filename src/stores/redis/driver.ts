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
  cluster: boolean;
  /** Runs `send`, letting the commands it sends leave in one socket write. */
  together<T>(send: () => T): T;
  /** Removes the listeners the driver put on the client. */
  release(): void;
}

/** Runs `run` as it is: node-redis writes the commands of one tick together by itself, and a cluster sends to several nodes. */
const together = <T>(run: () => T): T => run();

export function detectDriver(client: any): Driver {
  if (!client || typeof client !== 'object') {
    throw new TypeError('RedisStore needs the client option: a node-redis or ioredis client or cluster');
  }
  // ioredis: `call` sends any command and routes it by key on a Cluster.
  if (typeof client.call === 'function' && typeof client.status === 'string') {
    if (client.options?.keyPrefix) {
      // ioredis would prefix the keys of commands but not those SCAN returns; one prefix, ours.
      throw new TypeError('RedisStore: use the prefix option instead of the ioredis keyPrefix option');
    }
    const gate = readyGate(client);
    const call = (target: any) => (args: string[], signal: Abortable): Promise<unknown> => {
      // ioredis keeps commands issued while disconnected and sends them on reconnect, long after
      // they timed out here; waiting for 'ready' ourselves means a failed command never runs late.
      // A ready client writes the command at once, so that path adds nothing.
      if (target.status === 'ready' || target.status === 'end') return target.call(...args);
      return gate.wait(signal).then(() => target.call(...args));
    };
    const send = call(client);
    if (client.isCluster) {
      return {
        cluster: true,
        together,
        release: gate.release,
        send: (_key, args, signal) => send(args, signal),
        masters: async (signal) => {
          // Before the cluster is ready its node list is empty, which would read as no sessions.
          if (client.status !== 'ready') await gate.wait(signal);
          return client.nodes('master').map((node: any) => (args: string[]) => node.call(...args));
        },
      };
    }
    return {
      cluster: false,
      release: gate.release,
      send: (_key, args, signal) => send(args, signal),
      masters: async () => [send],
      together: (run) => {
        // A ready ioredis client writes each command to the socket as it is sent: one system
        // call per command, unless the socket is corked while they are sent.
        const stream = client.status === 'ready' ? client.stream : undefined;
        if (typeof stream?.cork !== 'function') return run();
        stream.cork();
        try {
          return run();
        } finally {
          stream.uncork();
        }
      },
    };
  }
  // node-redis v4/v5: an abort signal takes a timed-out command out of the offline queue.
  if (typeof client.sendCommand === 'function' && typeof client.getMasterNode === 'function' && 'isOpen' in client) {
    // A node-redis Sentinel client: commands go to the current master.
    const send: SendToNode = (args, signal) => client.sendCommand(false, args, { abortSignal: signal });
    return { cluster: false, release: () => {}, together, send: (_key, args, signal) => send(args, signal), masters: async () => [send] };
  }
  if (typeof client.sendCommand === 'function' && 'isOpen' in client) {
    // `abortSignal` is node-redis v5's name for it, `signal` v4's.
    const nodeSend = (target: any): SendToNode => (args, signal) => target.sendCommand(args, { abortSignal: signal, signal });
    if (Array.isArray(client.masters) && typeof client.nodeClient === 'function') {
      return {
        cluster: true,
        release: () => {},
        together,
        send: (key, args, signal) => client.sendCommand(key, false, args, { abortSignal: signal, signal }),
        masters: () => Promise.all(client.masters.map(async (m: unknown) => nodeSend(await client.nodeClient(m)))),
      };
    }
    const send = nodeSend(client);
    return { cluster: false, release: () => {}, together, send: (_key, args, signal) => send(args, signal), masters: async () => [send] };
  }
  throw new TypeError('RedisStore: the client option is neither a node-redis nor an ioredis client or cluster');
}

/** Waiters for an ioredis client's next 'ready', each dropped when its command times out. */
function readyGate(client: any): { wait(signal: Abortable): Promise<void>; release(): void } {
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
