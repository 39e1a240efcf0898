// `npm start` as a newcomer runs it: the demo's URL comes first, and an up-to-date dist/ is not rebuilt.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { buildNeeded } from '../../examples/demo/build.js';
import { freePort, root, startServer } from './helpers.js';

const fixtures = mkdtempSync(join(tmpdir(), 'sessionkit-demo-build-'));
afterAll(() => rmSync(fixtures, { recursive: true, force: true }));

/**
 * A package like this one: exports pointing into dist/, and sources, all with the given
 * times (s); `build` is its build script.
 */
function fixture(name: string, times: { dist?: number; src: number }, build = 'node -e ""'): string {
  const dir = join(fixtures, name);
  const write = (file: string, seconds: number | undefined) => {
    if (seconds === undefined) return;
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '');
    utimesSync(path, seconds, seconds);
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    scripts: { build },
    exports: {
      '.': { import: { types: './dist/index.d.ts', default: './dist/index.js' }, require: './dist/index.cjs' },
      './redis': { import: './dist/redis.js' },
      './package.json': './package.json',
    },
  }));
  for (const file of ['index.d.ts', 'index.js', 'index.cjs', 'redis.js']) write(`dist/${file}`, times.dist);
  write('src/stores/redis.ts', times.src);
  write('tsup.config.ts', times.src - 100);
  utimesSync(join(dir, 'src/stores'), times.src - 100, times.src - 100);
  utimesSync(join(dir, 'src'), times.src - 100, times.src - 100);
  return dir;
}

describe('when npm start builds', () => {
  test('dist/ missing: a build is needed, naming the missing file', () => {
    expect(buildNeeded(fixture('missing', { src: 1_000_000 }))).toBe('dist/index.d.ts is missing');
  });

  test('dist/ older than a file under src/: a build is needed', () => {
    expect(buildNeeded(fixture('stale', { dist: 1_000_000, src: 1_000_500 }))).toBe('dist/ is older than src');
  });

  test('dist/ newer than every source: no build', () => {
    expect(buildNeeded(fixture('fresh', { dist: 1_000_500, src: 1_000_000 }))).toBeNull();
  });
});

/** Runs buildIfNeeded on the package in `dir` in a process of its own (a failed build ends the process). */
function buildIn(dir: string) {
  const script = `import { buildIfNeeded } from ${JSON.stringify(join(root, 'examples/demo/build.js'))};
console.log('built:', buildIfNeeded(${JSON.stringify(dir)}));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('the build before the demo starts', { timeout: 60_000 }, () => {
  // What a build script that makes every file the exports name would do.
  const makeDist = `node -e "const fs=require('fs');fs.mkdirSync('dist',{recursive:true});for(const f of ['index.d.ts','index.js','index.cjs','redis.js'])fs.writeFileSync('dist/'+f,'')"`;

  test('builds a missing dist/ and prints nothing', () => {
    const dir = fixture('build-quiet', { src: 1_000_000 }, makeDist);
    expect(buildIn(dir)).toEqual({ status: 0, stdout: 'built: true\n', stderr: '' });
    expect(existsSync(join(dir, 'dist/redis.js'))).toBe(true);
    expect(buildNeeded(dir)).toBeNull();
    expect(buildIn(dir)).toEqual({ status: 0, stdout: 'built: false\n', stderr: '' });
  });

  test('a build that warns: the warning is shown, and the build counts as done', () => {
    const dir = fixture('build-warns', { src: 1_000_000 }, `${makeDist} && node -e "console.warn('warning: odd')"`);
    const run = buildIn(dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('built: true\n');
    expect(run.stderr).toBe('warning: odd\n');
  });

  test('a build that fails: its output and why it ran are shown, and the process exits', () => {
    const dir = fixture('build-fails', { src: 1_000_000 }, `node -e "console.error('src/index.ts(1,1): error TS2322'); process.exit(2)"`);
    const run = buildIn(dir);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('Building sessionkit failed (dist/index.d.ts is missing):\nsrc/index.ts(1,1): error TS2322\n');
  });
});

describe('the package build', { timeout: 180_000 }, () => {
  test('a clean build prints nothing, and require() of the CommonJS entry is the factory itself', () => {
    // Built beside dist/, not into it (other test files import it meanwhile), and inside the
    // project so that its dependencies resolve.
    const out = mkdtempSync(join(root, 'node_modules', '.sessionkit-build-test-'));
    try {
      const build = spawnSync(process.execPath, [join(root, 'node_modules/tsup/dist/cli-default.js'), '--out-dir', out], {
        cwd: root, encoding: 'utf8',
      });
      expect(build.stderr).toBe('');
      expect(build.stdout).toBe('');
      expect(build.status).toBe(0);
      const session = createRequire(import.meta.url)(join(out, 'index.cjs'));
      expect(typeof session).toBe('function');
      expect(typeof session.MemoryStore).toBe('function');
      expect(session.default).toBe(session);
      expect(typeof session({ secret: 'x', resave: false, saveUninitialized: false })).toBe('function');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('npm start', { timeout: 90_000 }, () => {
  test('prints the demo URL before anything of its own, and leaves an up-to-date dist/ alone', async () => {
    // The suite's own build made dist/; were it out of date, npm start would rebuild it under
    // the other test files' feet.
    expect(buildNeeded(root), 'run `npm run build` first').toBeNull();
    const built = statSync(join(root, 'dist/index.js')).mtimeMs;
    const port = await freePort();
    const server = await startServer({ SESSION_STORE: 'memory', PORT: String(port) }, ['npm', 'start']);
    try {
      expect(server.url).toBe(`http://localhost:${port}`);
      // npm announces the script it runs ("> sessionkit@0.1.0 start", "> node ..."); the
      // first line after that is the URL.
      const lines = server.output().split('\n').filter((line) => line.trim() && !line.startsWith('> '));
      expect(lines[0]).toBe(`sessionkit demo on http://localhost:${port} (sessions: MemoryStore (this process only))`);
      expect(statSync(join(root, 'dist/index.js')).mtimeMs).toBe(built);
    } finally {
      await server.stop();
    }
  });
});
