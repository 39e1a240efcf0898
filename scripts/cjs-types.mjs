// Writes the CommonJS type declarations: `export =` of the factory, with its types in a
// namespace, so `const session = require('sessionkit')` is typed as what it is at run time.
import { readdirSync, writeFileSync } from 'node:fs';

const root = `declare const session: typeof import('./index.js').default;
declare namespace session {
  type SessionOptions = import('./index.js').SessionOptions;
  /** Augment it as \`declare module 'sessionkit' { interface SessionData { ... } }\`. */
  interface SessionData {}
  type CookieOptions = import('./index.js').CookieOptions;
  type SessionRecord = import('./index.js').SessionRecord;
  type MemoryStoreOptions = import('./index.js').MemoryStoreOptions;
  type Store = import('./index.js').Store;
  type MemoryStore = import('./index.js').MemoryStore;
  type Cookie = import('./index.js').Cookie;
  type Session = import('./index.js').Session;
}
// What a CommonJS program adds to SessionData reaches req.session, which is typed by the
// ES module's SessionData.
declare module './index.js' {
  interface SessionData extends session.SessionData {}
}
export = session;
`;
writeFileSync('dist/index.d.cts', root);
for (const file of readdirSync('dist')) {
  const m = /^([\w-]+)\.d\.ts$/.exec(file);
  if (!m || m[1] === 'index' || file.startsWith('chunk')) continue;
  writeFileSync(`dist/${m[1]}.d.cts`, `export * from './${m[1]}.js';\n`);
}
