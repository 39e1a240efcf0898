// Heap bytes per session of a MemoryStore as an app at scale configures it:
// `node --expose-gc bench/stores-memory.js <sessionkit|sessionkit-no-index|sessionkit-unbounded|express-session> <count>`. sessionkit's
// runs with `max` (above `count`, so nothing is evicted) and the user index on. Prints one line
// of JSON; run by stores.js in a process of its own so nothing else is on the heap.
import { randomBytes } from 'node:crypto';
import { sessionRecord } from './common.js';

const [library = 'sessionkit', countArg = '100000'] = process.argv.slice(2);
const count = Number(countArg);
if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');

async function settle() {
  await new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < 4; i++) globalThis.gc();
}

let create;
if (library === 'sessionkit' || library === 'sessionkit-no-index' || library === 'sessionkit-unbounded') {
  const { MemoryStore } = await import('sessionkit');
  // The variants show what the user index and `max` each cost.
  const userId = library === 'sessionkit-no-index' ? undefined : (data) => data.user?.id;
  create = (max) => new MemoryStore({ max: library === 'sessionkit-unbounded' ? undefined : max, checkPeriod: 0, userId });
} else if (library === 'express-session') {
  const { MemoryStore } = (await import('express-session')).default;
  create = () => new MemoryStore();
} else {
  throw new Error(`unknown library ${library}`);
}

// Compiled code and warmed-up inline caches are not session memory.
const warm = create(2000);
for (let i = 0; i < 1000; i++) warm.set(`warm${i}`, sessionRecord(i), () => {});
warm.close?.();
await settle();

const before = process.memoryUsage().heapUsed;
const store = create(count + 1);
for (let i = 0; i < count; i++) {
  // Session IDs as both libraries generate them: 24 random bytes, base64url (32 characters).
  store.set(randomBytes(24).toString('base64url'), sessionRecord(i), () => {});
}
await settle();
const after = process.memoryUsage().heapUsed;

store.length((err, n) => {
  if (err || n !== count) throw new Error(`expected ${count} sessions, found ${n}`);
  store.close?.();
  console.log(JSON.stringify({
    library,
    store: {
      sessionkit: 'sessionkit MemoryStore (max, user index)',
      'sessionkit-no-index': 'sessionkit MemoryStore (max, no user index)',
      'sessionkit-unbounded': 'sessionkit MemoryStore (no max, user index)',
      'express-session': "express-session's MemoryStore",
    }[library],
    sessions: count,
    bytesPerSession: Math.round((after - before) / count),
    recordBytes: JSON.stringify(sessionRecord(count)).length,
  }));
});
