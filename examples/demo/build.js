import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root: the demo imports `sessionkit` from its dist/, as an app would. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** What the build is made from: a change to any of these makes dist/ out of date. */
const sources = ['src', 'tsup.config.ts', 'scripts/cjs-types.mjs'];

/** The newest modification time (ms) of a file, or of any file under a directory. */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), stat.mtimeMs);
}

/** Every file package.json's `exports` points into dist/. */
function builtFiles(root) {
  const { exports } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const files = new Set();
  const walk = (value) => {
    if (typeof value === 'string') {
      if (value.startsWith('./dist/')) files.add(value);
    } else if (value && typeof value === 'object') {
      Object.values(value).forEach(walk);
    }
  };
  walk(exports);
  return [...files];
}

/**
 * Why dist/ must be built before the demo can run ("missing", "older than src/"), or null
 * when it is up to date.
 */
export function buildNeeded(root = packageRoot) {
  let oldest = Infinity;
  for (const file of builtFiles(root)) {
    const stat = statSync(join(root, file), { throwIfNoEntry: false });
    if (!stat) return `${file.slice(2)} is missing`;
    oldest = Math.min(oldest, stat.mtimeMs);
  }
  const changed = sources.find((source) => newest(join(root, source)) > oldest);
  return changed ? `dist/ is older than ${changed}` : null;
}

/**
 * Builds the package when dist/ is missing or out of date, printing nothing unless the
 * build fails (then its whole output, and the process exits) or warns.
 */
export function buildIfNeeded(root = packageRoot) {
  const reason = buildNeeded(root);
  if (!reason) return false;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const build = spawnSync(npm, ['run', '--silent', 'build'], { cwd: root, encoding: 'utf8', shell: process.platform === 'win32' });
  const output = `${build.stdout ?? ''}${build.stderr ?? ''}`.trim();
  if (build.status !== 0) {
    console.error(`Building sessionkit failed (${reason}):\n${output || build.error?.message || ''}`);
    process.exit(1);
  }
  if (output) console.warn(output);
  return true;
}
