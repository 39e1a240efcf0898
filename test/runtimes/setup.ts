/**
 * The runtimes project's global setup: Bun and Deno at the versions scripts/runtimes.sh pins,
 * installed into .runtimes/ when missing (from the npm registry; a second or so when present).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  execFileSync('bash', [join(import.meta.dirname, '..', '..', 'scripts', 'runtimes.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
}
