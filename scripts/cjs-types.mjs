// Writes the CommonJS type declarations (dist/<entry>.d.cts) from what each ES entry
// (dist/<entry>.d.ts) really exports, as read by the TypeScript compiler, so the two never drift.
//
// The .d.cts files declare nothing of their own: each type is the ES declaration, reached with
// `resolution-mode: import`. So a program that has both ES and CommonJS files (or a dependency
// of the other kind) sees one Session, one SessionData and one `req.session`, not two copies
// that conflict.
//
// The root is `export =` of the factory, as `module.exports` is at run time: `session.X` is
// every value and every type the ES entry exports. Its `SessionData` is where a CommonJS
// program's `declare module 'sessionkit'` lands; the ES SessionData is made to extend it (the one
// change made to the ES declarations), so those keys reach `req.session` too.
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const dist = process.argv[2] ?? 'dist';
// Entries are the .d.ts files beside a .cjs of the same name; the rest are shared chunks.
const files = new Set(readdirSync(dist));
const entries = [...files]
  .map((file) => /^([\w-]+)\.d\.ts$/.exec(file)?.[1])
  .filter((name) => name && files.has(`${name}.cjs`));

const program = ts.createProgram(entries.map((name) => join(dist, `${name}.d.ts`)), {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  noEmit: true,
  skipLibCheck: true,
  types: [],
});
const checker = program.getTypeChecker();

/** What an entry exports: each name, whether it is a value, a type, and the type's parameters. */
function exportsOf(name) {
  const file = program.getSourceFile(join(dist, `${name}.d.ts`));
  const module = file && checker.getSymbolAtLocation(file);
  if (!module) throw new Error(`${dist}/${name}.d.ts: no module to read exports from`);
  return checker.getExportsOfModule(module).map((symbol) => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const specifier = symbol.declarations?.find(ts.isExportSpecifier);
    const typeOnly = Boolean(specifier && (specifier.isTypeOnly || specifier.parent.parent.isTypeOnly));
    const declaration = target.declarations?.find((d) => 'typeParameters' in d && d.typeParameters);
    const parameters = declaration ? [...declaration.typeParameters] : [];
    return {
      name: symbol.name,
      value: !typeOnly && Boolean(target.flags & ts.SymbolFlags.Value),
      type: Boolean(target.flags & ts.SymbolFlags.Type),
      // Defaults and constraints are copied as written; tsc checks the result in the package tests.
      declared: parameters.length ? `<${parameters.map((p) => p.getText()).join(', ')}>` : '',
      used: parameters.length ? `<${parameters.map((p) => p.name.text).join(', ')}>` : '',
    };
  }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const header = (name) => `// CommonJS declarations of ${name}.cjs, generated from ${name}.d.ts by scripts/cjs-types.mjs.
import type * as esm from './${name}.js' with { 'resolution-mode': 'import' };
`;

function root() {
  const all = exportsOf('index');
  const values = all.filter((e) => e.value && e.name !== 'default');
  const types = all.filter((e) => e.type && e.name !== 'SessionData');
  if (!all.some((e) => e.name === 'default' && e.value)) throw new Error('index.d.ts has no default export');
  return `${header('index')}
declare const session: typeof esm.default & {
${values.map((e) => `  ${e.name}: typeof esm.${e.name};`).join('\n')}
};
declare namespace session {
  /**
   * Session data, typed by module augmentation:
   *
   *     declare module 'sessionkit' { interface SessionData { user?: { id: string } } }
   */
  interface SessionData {}
${types.map((e) => `  type ${e.name}${e.declared} = esm.${e.name}${e.used};`).join('\n')}
}
export = session;
`;
}

function subpath(name) {
  const all = exportsOf(name);
  return `${header(name)}
${all.filter((e) => e.value).map((e) => `declare const ${e.name}: typeof esm.${e.name};`).join('\n')}
${all.filter((e) => e.type).map((e) => `type ${e.name}${e.declared} = esm.${e.name}${e.used};`).join('\n')}
export { ${all.map((e) => e.name).join(', ')} };
`;
}

/**
 * The ES SessionData, made to extend the CommonJS one. It is written in the ES declarations
 * because an ES file may refer to a CommonJS one under every module setting, not the reverse
 * (node16 refuses an augmentation of an ES module from a CommonJS file). The augmentation names
 * index.js itself: the shared file that declares SessionData exports it under another name.
 */
function linkSessionData() {
  if (!exportsOf('index').some((e) => e.name === 'SessionData')) throw new Error('index.d.ts exports no SessionData');
  const link = `
// What a CommonJS program declares in SessionData (declare module 'sessionkit') types req.session too.
type CommonJSSessionData = import('./index.cjs').SessionData;
declare module './index.js' {
  interface SessionData extends CommonJSSessionData {}
}
`;
  // Run twice on one build, the script leaves the link once.
  if (!readFileSync(join(dist, 'index.d.ts'), 'utf8').endsWith(link)) appendFileSync(join(dist, 'index.d.ts'), link);
}

for (const name of entries) {
  writeFileSync(join(dist, `${name}.d.cts`), name === 'index' ? root() : subpath(name));
}
linkSessionData();
