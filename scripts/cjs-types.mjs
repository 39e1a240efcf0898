// Writes the CommonJS type declarations: `export =` of the factory, with its types in a
// namespace, so `const session = require('sessionkit')` is typed as what it is at run time.
import { readdirSync, writeFileSync } from 'node:fs';

const root = `declare const session: typeof import('./index.js').default;
declare namespace session {
  type SessionOptions = import('./index.js').SessionOptions;
  type SessionData = import('./index.js').SessionData;
  type CookieOptions = import('./index.js').CookieOptions;
  type SessionRecord = import('./index.js').SessionRecord;
  type MemoryStoreOptions = import('./index.js').MemoryStoreOptions;
  type Store = import('./index.js').Store;
  type MemoryStore = import('./index.js').MemoryStore;
  type Cookie = import('./index.js').Cookie;
  type Session = import('./index.js').Session;
}
export = session;
`;
writeFileSync('dist/index.d.cts', root);
for (const file of readdirSync('dist')) {
  const m = /^([\w-]+)\.d\.ts$/.exec(file);
  if (!m || m[1] === 'index' || file.startsWith('chunk')) continue;
  writeFileSync(`dist/${m[1]}.d.cts`, `export * from './${m[1]}.js';\n`);
}
