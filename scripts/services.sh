#!/usr/bin/env bash
# Makes sure the services the tests use are up: Redis, PostgreSQL and MariaDB, and Chromium for
# the browser tests. Starts what is installed but not running; installs from Debian's packages
# what is missing (when root); waits until each answers. Safe to run any number of times.
set -u

log() { printf 'services: %s\n' "$*" >&2; }
as_root() { [ "$(id -u)" = 0 ]; }

apt_updated=0
apt_install() {
  as_root || { log "cannot install $* (not root)"; return 1; }
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  log "$name did not answer"; return 1
}

status=0

# Redis
command -v redis-server >/dev/null 2>&1 || apt_install redis-server redis-tools || status=1
if command -v redis-cli >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null 2>&1 || true
fi
wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping || status=1

# PostgreSQL
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql postgresql-client || status=1; fi
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  log "starting PostgreSQL"
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$ver" ] && pg_ctlcluster --skip-systemctl-redirect "$ver" main start >/dev/null 2>&1 || true
fi
wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432 || status=1
if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && as_root; then
  # Trust auth for the local test user and a `test` database, as the tests expect.
  if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    hba=$(su postgres -c "psql -Atc 'show hba_file'" 2>/dev/null)
    if [ -n "$hba" ]; then
      sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(local\s+all\s+\S+\s+)\S+/\1trust/' "$hba"
      su postgres -c "psql -c 'select pg_reload_conf()'" >/dev/null 2>&1
    fi
  fi
  psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1 from pg_database where datname='test'" 2>/dev/null | grep -q 1 ||
    psql -h 127.0.0.1 -U postgres -d postgres -c 'create database test' >/dev/null 2>&1 || true
fi

# MariaDB
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server mariadb-client || status=1
if ! mariadb-admin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; then
  log "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >/dev/null 2>&1 || true
fi
wait_for MariaDB mariadb-admin -h 127.0.0.1 -P 3306 -uroot ping || status=1
mariadb -h 127.0.0.1 -P 3306 -uroot -e 'create database if not exists test' >/dev/null 2>&1 || true

# Chromium, for the browser tests
if ! command -v chromium >/dev/null 2>&1; then
  log "installing Chromium"
  apt_install chromium || { log "Chromium is missing"; status=1; }
fi

exit $status
