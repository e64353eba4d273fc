#!/usr/bin/env bash
# Make sure a local PostgreSQL server runs with a test database, and print its URL.
# Installs Debian's postgresql package when it is missing (needs root and apt).
set -euo pipefail

DB=${TRACKER_PG_TEST_DB:-tracker_test}
USER_NAME=${TRACKER_PG_TEST_USER:-tracker}
PASSWORD=${TRACKER_PG_TEST_PASSWORD:-tracker}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "postgres-for-tests: installing Debian's postgresql package" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
  as_root pg_createcluster "$version" main >&2
fi
cluster=$(pg_lsclusters -h | head -n 1)
read -r cver cname cport cstatus _ <<<"$cluster"
if [ "$cstatus" != "online" ]; then
  as_root pg_ctlcluster "$cver" "$cname" start >&2
fi

psql_admin() { as_root su postgres -c "psql -p $cport -v ON_ERROR_STOP=1 -qAt -c \"$1\""; }
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname='$USER_NAME'")" != 1 ]; then
  psql_admin "CREATE ROLE $USER_NAME LOGIN PASSWORD '$PASSWORD'" >&2
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname='$DB'")" != 1 ]; then
  psql_admin "CREATE DATABASE $DB OWNER $USER_NAME" >&2
fi
echo "postgresql+psycopg://$USER_NAME:$PASSWORD@127.0.0.1:$cport/$DB"
