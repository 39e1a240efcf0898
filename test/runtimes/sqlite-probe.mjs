// Opens a SQLiteStore with the driver SK_DRIVER names (or none), writes and reads one session,
// and prints what happened as JSON: the runtime, and either the session read or the error.
import process from 'node:process';
const { SQLiteStore } = await import(new URL('../../dist/sqlite.js', import.meta.url).href);
const runtime = typeof globalThis.Bun !== 'undefined' ? 'bun' : typeof globalThis.Deno !== 'undefined' ? 'deno' : 'node';
const driver = process.env.SK_DRIVER || undefined;
const store = new SQLiteStore({ path: process.env.SK_PATH, ...(driver ? { driver } : {}) });
try {
  await store.set(`sid-${runtime}`, { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString() }, who: runtime });
  const ids = (await store.ids()).sort();
  console.log(JSON.stringify({ runtime, ids, read: (await store.get(`sid-${runtime}`))?.who ?? null }));
  await store.close();
} catch (err) {
  console.log(JSON.stringify({ runtime, error: { name: err.name, code: err.code, message: err.message } }));
}
