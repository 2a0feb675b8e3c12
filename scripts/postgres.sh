#!/usr/bin/env bash
# Sourced by scripts/test.sh: start Debian's PostgreSQL cluster on localhost and create a test
# database. Exports VTM_TEST_POSTGRES_URL; if no server can be started it says why, and the
# PostgreSQL tests report that reason when they skip.
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! pg_ready; then
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/*/main >/dev/null 2>&1; then
    ver=$(ls /etc/postgresql | sort -n | tail -1)
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO pg_ctlcluster "$ver" main start 2>/dev/null || true
    for _ in $(seq 1 30); do pg_ready && break; sleep 0.5; done
  fi
fi
if pg_ready; then
  run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
  # A random password made once per machine: no credential lives in the repository.
  pw_file="${XDG_DATA_HOME:-$HOME/.local/share}/vtm/pg-test-password"
  if [ ! -s "$pw_file" ]; then
    mkdir -p "$(dirname "$pw_file")"
    (umask 077; head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$pw_file")
  fi
  pg_password=$(cat "$pw_file")
  run_pg psql -q -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='vtm') THEN CREATE ROLE vtm LOGIN; END IF; END\$\$;" >/dev/null
  run_pg psql -q -c "ALTER ROLE vtm PASSWORD '$pg_password'" >/dev/null
  run_pg psql -tAc "SELECT 1 FROM pg_database WHERE datname='vtm_test'" | grep -q 1 \
    || run_pg createdb -O vtm vtm_test
  export VTM_TEST_POSTGRES_URL="postgresql+psycopg://vtm:${pg_password}@127.0.0.1:5432/vtm_test"
  echo "postgres: ready at 127.0.0.1:5432 (database vtm_test)"
else
  export VTM_TEST_POSTGRES_SKIP_REASON="PostgreSQL could not be started on 127.0.0.1:5432"
  echo "postgres: $VTM_TEST_POSTGRES_SKIP_REASON"
fi
