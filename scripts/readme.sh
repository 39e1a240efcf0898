#!/usr/bin/env bash
# Writes README.md from its sections in docs/readme/ (edit those, then run this).
set -euo pipefail
cd "$(dirname "$0")/.."
d=docs/readme
core=$d/core.md
n=$(grep -n '^## Differences from express-session' "$core" | cut -d: -f1)
{
  cat $d/intro.md
  head -n $((n - 1)) "$core"; echo
  cat $d/no-lost-updates.md
  cat $d/sqlite.md; echo
  cat $d/redis.md; echo
  cat $d/postgres.md; echo
  cat $d/mysql.md; echo
  cat $d/any-store.md
  cat $d/cookie.md; echo
  grep -v '^!\[The demo' $d/demo.md; echo   # the screenshot is already at the top
  cat $d/bench.md; echo
  cat $d/development.md
  tail -n +"$n" "$core"
  printf '\n## License\n\nMIT\n'
} > README.md
