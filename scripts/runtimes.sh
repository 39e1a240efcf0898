#!/usr/bin/env bash
# Installs the Bun and Deno binaries the runtime tests and bench drive, from the npm registry,
# at pinned versions, into .runtimes/ (outside node_modules and its lock, so `npm ci` neither
# needs nor removes them). Quick when they are already there: it checks each binary's version.
#   bash scripts/runtimes.sh          # install what is missing, print the paths
#   RUNTIMES_DIR=/elsewhere bash scripts/runtimes.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BUN_VERSION=1.4.5
DENO_VERSION=2.9.6
DIR="${RUNTIMES_DIR:-.runtimes}"

mkdir -p "$DIR/bin"
# Nothing here belongs in git.
[ -f "$DIR/.gitignore" ] || printf '*\n' > "$DIR/.gitignore"

has() { # has <binary> <version>: the binary runs and says that version
  [ -x "$DIR/bin/$1" ] && "$DIR/bin/$1" --version 2>/dev/null | head -n1 | grep -qF "$2"
}

wanted=()
has bun "$BUN_VERSION" || wanted+=("@oven/bun-linux-x64@$BUN_VERSION")
has deno "$DENO_VERSION" || wanted+=("@deno/linux-x64-glibc@$DENO_VERSION")

if [ "${#wanted[@]}" -gt 0 ]; then
  echo "runtimes: installing ${wanted[*]} into $DIR"
  # --prefix with no package.json there: nothing of the project's is read or written.
  npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    --prefix "$DIR" "${wanted[@]}"
  ln -sf "../node_modules/@oven/bun-linux-x64/bin/bun" "$DIR/bin/bun"
  ln -sf "../node_modules/@deno/linux-x64-glibc/deno" "$DIR/bin/deno"
  chmod +x "$DIR/node_modules/@oven/bun-linux-x64/bin/bun" "$DIR/node_modules/@deno/linux-x64-glibc/deno"
fi

for runtime in "bun $BUN_VERSION" "deno $DENO_VERSION"; do
  set -- $runtime
  if ! has "$1" "$2"; then
    echo "runtimes: $DIR/bin/$1 does not run as version $2" >&2
    exit 1
  fi
done
echo "runtimes: bun $BUN_VERSION, deno $DENO_VERSION in $DIR/bin"
