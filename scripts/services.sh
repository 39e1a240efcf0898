#!/usr/bin/env bash
# Makes sure the servers the store and browser tests use are up: Redis, PostgreSQL and MariaDB
# on 127.0.0.1, and Chromium. `npm run test:unit` needs none of them.
#
#   bash scripts/services.sh              starts what is installed but not running, waits until
#                                         each answers, and says what is missing. Changes nothing
#                                         else on the machine.
#   bash scripts/services.sh --configure  also, as root: installs what is missing from Debian's
#                                         packages, sets PostgreSQL to trust local connections on
#                                         127.0.0.1 (pg_hba.conf, the old file kept beside it as
#                                         pg_hba.conf.before-sessionkit), and creates the `test`
#                                         databases. For CI machines and throwaway containers.
#
# Every change is printed. Safe to run any number of times; exits non-zero if a service is
# still unavailable.
set -u

configure=0
for arg in "$@"; do
  case $arg in
    --configure) configure=1 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) printf 'services: unknown argument %s (see --help)\n' "$arg" >&2; exit 2 ;;
  esac
done

log() { printf 'services: %s\n' "$*" >&2; }
changed() { printf 'services: changed: %s\n' "$*" >&2; }
as_root() { [ "$(id -u)" = 0 ]; }
status=0

# Installs Debian packages, only with --configure as root; otherwise says how to get them.
apt_updated=0
install() { # what, packages...
  local what=$1; shift
  if [ "$configure" = 0 ]; then log "$what is not installed (install $*, or run with --configure as root)"; return 1; fi
  as_root || { log "$what is not installed, and installing it needs root"; return 1; }
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    apt_updated=1
  fi
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
    changed "installed $*"
  else
    log "installing $* failed"; return 1
  fi
}

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  log "$name did not answer"; return 1
}

# Redis
command -v redis-server >/dev/null 2>&1 || install Redis redis-server redis-tools || status=1
if command -v redis-cli >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null 2>&1 &&
    changed "started Redis on 127.0.0.1:6379 (no persistence)"
fi
if command -v redis-cli >/dev/null 2>&1; then wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping || status=1; else status=1; fi

# PostgreSQL
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then install PostgreSQL postgresql postgresql-client || status=1; fi
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$ver" ] && pg_ctlcluster --skip-systemctl-redirect "$ver" main start >/dev/null 2>&1 &&
    changed "started PostgreSQL $ver (cluster main)"
fi
if command -v pg_isready >/dev/null 2>&1 && wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432; then
  pg() { psql -h 127.0.0.1 -U postgres "$@"; }
  if ! pg -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    if [ "$configure" = 1 ] && as_root; then
      hba=$(su postgres -c "psql -Atc 'show hba_file'" 2>/dev/null)
      if [ -n "$hba" ]; then
        [ -e "$hba.before-sessionkit" ] || cp -p "$hba" "$hba.before-sessionkit"
        sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(local\s+all\s+\S+\s+)\S+/\1trust/' "$hba"
        su postgres -c "psql -c 'select pg_reload_conf()'" >/dev/null 2>&1
        changed "$hba: trust for local and 127.0.0.1/32 connections; the lines changed:"
        diff "$hba.before-sessionkit" "$hba" | grep '^[<>]' >&2
      fi
    fi
  fi
  if ! pg -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    log "PostgreSQL refuses user postgres without a password on 127.0.0.1 (run with --configure as root to trust local connections)"
    status=1
  elif ! pg -d postgres -Atc "select 1 from pg_database where datname='test'" 2>/dev/null | grep -q 1; then
    if [ "$configure" = 1 ] && pg -d postgres -c 'create database test' >/dev/null 2>&1; then
      changed "created the PostgreSQL database test"
    else
      log "PostgreSQL has no database test (create it, or run with --configure)"; status=1
    fi
  fi
else
  status=1
fi

# MariaDB
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || install MariaDB mariadb-server mariadb-client || status=1
if [ -x /usr/sbin/mariadbd ] && ! mariadb-admin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; then
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >/dev/null 2>&1 &&
    changed "started MariaDB"
fi
if command -v mariadb-admin >/dev/null 2>&1 && wait_for MariaDB mariadb-admin -h 127.0.0.1 -P 3306 -uroot ping; then
  if ! mariadb -h 127.0.0.1 -P 3306 -uroot -e 'use test' >/dev/null 2>&1; then
    if [ "$configure" = 1 ] && mariadb -h 127.0.0.1 -P 3306 -uroot -e 'create database if not exists test' >/dev/null 2>&1; then
      changed "created the MariaDB database test"
    else
      log "MariaDB has no database test for root without a password (create it, or run with --configure)"; status=1
    fi
  fi
else
  status=1
fi

# Chromium, for the browser tests
command -v chromium >/dev/null 2>&1 || install Chromium chromium || status=1

exit $status
