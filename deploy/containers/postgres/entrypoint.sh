#!/bin/bash
# PostgreSQL 15 as the official postgres image starts it, by the same environment:
# POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER
# (postgres), POSTGRES_DB (= the user), PGDATA (/var/lib/postgresql/data),
# POSTGRES_HOST_AUTH_METHOD (scram-sha-256), and /docker-entrypoint-initdb.d/*.sh|*.sql
# run once, on the first start with an empty PGDATA.
#
# Fast first start: the cluster was initdb'd when the image was built; it is copied
# into an empty PGDATA, the user and database are made in single-user mode, and only
# init scripts need a (socket-only) server. Then the server replaces this script as
# PID 1, as the 'postgres' user (setpriv), so `docker stop` is a clean shutdown.
set -euo pipefail

TEMPLATE=/opt/postgres/template
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
if [[ $(id -u) != 0 ]]; then
  as_postgres() { "$@"; }
fi

sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }
sql_ident() { printf '"%s"' "${1//\"/\"\"}"; }

first_start() {
  if [[ -z ${POSTGRES_PASSWORD:-} && ${POSTGRES_HOST_AUTH_METHOD:-} != trust ]]; then
    echo "error: POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)" >&2
    exit 1
  fi
  if [[ -n ${POSTGRES_INITDB_ARGS:-} || -n ${POSTGRES_INITDB_WALDIR:-} ]]; then
    echo "[entrypoint] warning: POSTGRES_INITDB_ARGS/POSTGRES_INITDB_WALDIR are ignored:" \
      "the cluster was initialised when the image was built (UTF8, C.UTF-8)" >&2
  fi
  echo "[entrypoint] initialising $PGDATA from the image's cluster"
  as_postgres cp -a "$TEMPLATE/." "$PGDATA/"
  if [[ -n ${POSTGRES_HOST_AUTH_METHOD:-} ]]; then
    sed -i "s/^host all all all .*/host all all all $POSTGRES_HOST_AUTH_METHOD/" "$PGDATA/pg_hba.conf"
  fi
  local user pw sql
  user=$(sql_ident "$POSTGRES_USER")
  pw=NULL
  [[ -n ${POSTGRES_PASSWORD:-} ]] && pw=$(sql_literal "$POSTGRES_PASSWORD")
  if [[ $POSTGRES_USER == postgres ]]; then
    sql="ALTER ROLE postgres PASSWORD $pw;"
  else
    sql="CREATE ROLE $user SUPERUSER LOGIN PASSWORD $pw;"
  fi
  if [[ $POSTGRES_DB != postgres ]]; then
    sql+=$'\n\n'"CREATE DATABASE $(sql_ident "$POSTGRES_DB") OWNER $user;"
  fi
  # Single-user mode: no server, no socket. With -j a statement ends at ";" and an empty
  # line. It exits 0 whatever happened, so its output tells.
  local out
  out=$(printf '%s\n\n' "$sql" | as_postgres postgres --single -D "$PGDATA" -j postgres 2>&1)
  if grep -qE '(ERROR|FATAL|PANIC):' <<<"$out"; then
    grep -vE 'STATEMENT|PASSWORD' <<<"$out" >&2
    echo "error: could not make the user $POSTGRES_USER and the database $POSTGRES_DB" >&2
    exit 1
  fi

  local scripts=() f
  for f in /docker-entrypoint-initdb.d/*; do
    [[ -f $f ]] && scripts+=("$f")
  done
  if ((${#scripts[@]})); then
    # A server on the socket only (nothing outside sees it ready before the scripts ran).
    as_postgres pg_ctl -D "$PGDATA" -w -t 60 -l /tmp/postgres-init.log \
      -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" start >/dev/null
    export PGHOST=/var/run/postgresql PGUSER=$POSTGRES_USER PGDATABASE=$POSTGRES_DB
    for f in "${scripts[@]}"; do
      echo "[entrypoint] running $f"
      case $f in
        *.sh) as_postgres bash "$f" ;;
        *.sql) as_postgres psql -v ON_ERROR_STOP=1 --no-psqlrc -q -f "$f" ;;
        *.sql.gz) gunzip -c "$f" | as_postgres psql -v ON_ERROR_STOP=1 --no-psqlrc -q ;;
        *) echo "[entrypoint] ignoring $f" ;;
      esac
    done
    unset PGHOST PGUSER PGDATABASE
    as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  echo "[entrypoint] PostgreSQL init done"
}

# `docker run local/postgres:15 -c fsync=off`: options for the server.
if [[ ${1:-} == -* ]]; then
  set -- postgres "$@"
fi

if [[ ${1:-} == postgres ]]; then
  if [[ $(id -u) == 0 ]]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
  fi
  if [[ ! -s $PGDATA/PG_VERSION ]]; then
    first_start
  fi
  shift
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- postgres -D "$PGDATA" "$@"
fi
exec "$@"
