// Heap bytes per session in a MemoryStore: `node --expose-gc bench/memory.js <sessionkit|express-session> <count>`.
// Prints one line of JSON. Run by stores.js in its own process so nothing else is on the heap.
import { randomBytes } from 'node:crypto';
import { sessionRecord } from './common.js';

const [library = 'sessionkit', countArg = '100000'] = process.argv.slice(2);
const count = Number(countArg);
if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');

async function settle() {
  await new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < 4; i++) globalThis.gc();
}

let Store;
if (library === 'sessionkit') ({ MemoryStore: Store } = await import('sessionkit'));
else if (library === 'express-session') Store = (await import('express-session')).default.MemoryStore;
else throw new Error(`unknown library ${library}`);

// Warm up the code paths so that compiled code isn't counted as session memory.
const warm = new Store();
for (let i = 0; i < 1000; i++) warm.set(`warm${i}`, sessionRecord(i), () => {});
warm.close?.();
await settle();

const before = process.memoryUsage().heapUsed;
const store = new Store();
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
    store: `${library} MemoryStore`,
    sessions: count,
    bytesPerSession: Math.round((after - before) / count),
    recordBytes: JSON.stringify(sessionRecord(count)).length,
  }));
});
