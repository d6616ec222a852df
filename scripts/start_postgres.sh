#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on 127.0.0.1 and print its SQLAlchemy URL (last line).
#
#   bash scripts/start_postgres.sh [DATADIR]      start (DATADIR: a new temp dir by default)
#   bash scripts/start_postgres.sh stop DATADIR   stop it again (and remove it)
#   bash scripts/start_postgres.sh pause DATADIR  stop the server, keeping its data (an outage)
#   bash scripts/start_postgres.sh resume DATADIR start it again on the same port
#
# Installs nothing: it uses the Debian `postgresql` binaries (/usr/lib/postgresql/*/bin) or
# whatever initdb/pg_ctl are on PATH. Run as root, the cluster runs as the `postgres` user.
# The cluster trusts local connections and trades durability for speed (fsync off): it is
# for tests only. Exit status 1 with a reason on stderr when no server can be started.
set -euo pipefail

bindir=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/pg_ctl" ] && bindir="$d"
done
if [ -z "$bindir" ] && command -v pg_ctl >/dev/null 2>&1; then
  bindir="$(dirname "$(command -v pg_ctl)")"
fi
if [ -z "$bindir" ]; then
  echo "start_postgres: no PostgreSQL server binaries (initdb/pg_ctl) found" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" = "0" ]; then
    if ! id postgres >/dev/null 2>&1; then
      echo "start_postgres: running as root but there is no 'postgres' user" >&2
      exit 1
    fi
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [ "${1:-}" = "stop" ]; then
  [ -n "${2:-}" ] || { echo "usage: start_postgres.sh stop DATADIR" >&2; exit 2; }
  as_owner "$bindir/pg_ctl" -D "$2/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$2"
  exit 0
fi

if [ "${1:-}" = "pause" ]; then
  as_owner "$bindir/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null
  exit 0
fi
if [ "${1:-}" = "resume" ]; then
  as_owner "$bindir/pg_ctl" -D "$2/data" -l "$2/server.log" -o "$(cat "$2/opts")" -w -t 60 start >/dev/null
  exit 0
fi

dir="${1:-}"
if [ -z "$dir" ]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/journeylab-pg.XXXXXX")"
fi
mkdir -p "$dir"
if [ "$(id -u)" = "0" ]; then
  id postgres >/dev/null 2>&1 && chown postgres "$dir"
fi
chmod 700 "$dir"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
  echo "start_postgres: initdb failed, see $dir/initdb.log:" >&2
  tail -n 5 "$dir/initdb.log" >&2
  exit 1
}
opts="-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
echo "$opts" >"$dir/opts"
as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null || {
  echo "start_postgres: the server did not start, see $dir/server.log:" >&2
  tail -n 5 "$dir/server.log" >&2
  exit 1
}
echo "PostgreSQL data directory: $dir (stop: bash scripts/start_postgres.sh stop $dir)" >&2
echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
