#!/usr/bin/env bash
# Local stack without Docker: Apache Kafka (KRaft, single combined node) from the
# official jars on Maven Central, and PostgreSQL from the system's binaries.
#
#   deploy/local/stack.sh up       start what is not running (twice is harmless)
#   deploy/local/stack.sh down     stop only what `up` started (pid files)
#   deploy/local/stack.sh status   say what runs, exit 1 if something is down
#   deploy/local/stack.sh env      print the endpoints as shell exports
#
# Everything lives under $BILLING_LOCAL_DIR (default: <repo>/.local, git-ignored):
# data, logs (logs/kafka/server.log, postgres/postgres.log), pid files, the Kafka jars
# and the generated database passwords. Ports are configurable:
#   BILLING_KAFKA_PORT (19092), BILLING_KAFKA_CONTROLLER_PORT (19093), BILLING_PG_PORT (15432)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
LOCAL_DIR=${BILLING_LOCAL_DIR:-$repo/.local}
KAFKA_PORT=${BILLING_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${BILLING_KAFKA_CONTROLLER_PORT:-19093}
PG_PORT=${BILLING_PG_PORT:-15432}
KAFKA_HEAP=${BILLING_KAFKA_HEAP:-768m}
SERVICES=(customers invoicing reminders dispatch)

KAFKA_LIBS=$LOCAL_DIR/cache/kafka-libs
KAFKA_DATA=$LOCAL_DIR/kafka/data
KAFKA_LOGS=$LOCAL_DIR/logs/kafka
KAFKA_PID=$LOCAL_DIR/run/kafka.pid
PG_BASE=$LOCAL_DIR/postgres
# As root, PostgreSQL runs as the 'postgres' user, who may not be allowed into this
# checkout (a clone under /root, say): then its files go to a folder of their own.
if [[ $(id -u) == 0 ]] && id postgres >/dev/null 2>&1 && [[ -z ${BILLING_PG_DIR:-} ]]; then
  mkdir -p "$LOCAL_DIR"
  if ! runuser -u postgres -- test -x "$LOCAL_DIR"; then
    PG_BASE=/var/tmp/billing-postgres-$(printf '%s' "$repo" | cksum | cut -d' ' -f1)
  fi
fi
PG_BASE=${BILLING_PG_DIR:-$PG_BASE}
PG_DATA=$PG_BASE/data
PG_RUN=$PG_BASE/run
PG_LOG=$PG_BASE/postgres.log
SECRETS=$LOCAL_DIR/secrets

log() { printf '[stack] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds what
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    port_open "$1" && return 0
    sleep 0.2
  done
  return 1
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# --- PostgreSQL -------------------------------------------------------------

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/pg_ctl ]] && { echo "$d"; return; }
  done
  command -v pg_ctl >/dev/null && { dirname "$(command -v pg_ctl)"; return; }
  return 1
}

ensure_pg_installed() {
  pg_bin >/dev/null && return
  [[ $(id -u) == 0 ]] || die "PostgreSQL binaries missing; install the 'postgresql' package"
  log "installing PostgreSQL from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  pg_bin >/dev/null || die "PostgreSQL install failed"
}

# initdb/postgres refuse to run as root: run them as the 'postgres' system user.
as_pg() {
  if [[ $(id -u) == 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

secret() { # name -> generated once, kept under .local/secrets
  local f=$SECRETS/$1
  if [[ ! -s $f ]]; then
    mkdir -p "$SECRETS" && chmod 700 "$SECRETS"
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$f"
    chmod 600 "$f"
  fi
  cat "$f"
}

pg_up() {
  ensure_pg_installed
  local bin; bin=$(pg_bin)
  mkdir -p "$PG_RUN" "$(dirname "$PG_LOG")" "$(dirname "$PG_DATA")"
  if [[ ! -s $PG_DATA/PG_VERSION ]]; then
    log "initialising PostgreSQL data directory"
    mkdir -p "$PG_DATA"
    local pwfile; pwfile=$(mktemp)
    secret pg-postgres >"$pwfile"
    if [[ $(id -u) == 0 ]]; then
      id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
      chown -R postgres "$PG_DATA" "$PG_RUN" "$pwfile"
      touch "$PG_LOG" && chown postgres "$PG_LOG"
    fi
    as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --pwfile="$pwfile" \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
  fi
  if [[ $(id -u) == 0 ]]; then chown -R postgres "$PG_RUN"; touch "$PG_LOG"; chown postgres "$PG_LOG"; fi
  if as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    port_open "$PG_PORT" && die "port $PG_PORT is taken by another process (set BILLING_PG_PORT)"
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_RUN -c max_connections=300 -c fsync=${BILLING_PG_FSYNC:-on}" >/dev/null
  fi
  pg_roles
}

psql_admin() {
  PGPASSWORD=$(secret pg-postgres) psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"
}

pg_roles() { # one role and one database per service
  local s pw
  for s in "${SERVICES[@]}"; do
    pw=$(secret "pg-$s")
    psql_admin -tA <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$s') THEN
    CREATE ROLE $s LOGIN PASSWORD '$pw';
  END IF;
END \$\$;
SQL
    if [[ -z $(psql_admin -tA -c "SELECT 1 FROM pg_database WHERE datname = '$s'") ]]; then
      psql_admin -c "CREATE DATABASE $s OWNER $s" >/dev/null
    fi
  done
}

pg_down() {
  local bin; bin=$(pg_bin) || return 0
  if [[ -s $PG_DATA/PG_VERSION ]] && as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "stopping PostgreSQL"
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
  fi
}

pg_status() {
  local bin; bin=$(pg_bin) || { echo "postgres: not installed"; return 1; }
  if [[ -s $PG_DATA/PG_VERSION ]] && as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    echo "postgres: running on 127.0.0.1:$PG_PORT ($("$bin/postgres" --version))"
  else
    echo "postgres: stopped"; return 1
  fi
}

# --- Kafka --------------------------------------------------------------------

kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml"; }

kafka_fetch() {
  local stamp=$KAFKA_LIBS/.version-$(kafka_version)
  [[ -f $stamp ]] && return
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch the Kafka jars"
  command -v java >/dev/null || die "a JDK (java 17+) is needed to run Kafka"
  log "fetching Apache Kafka $(kafka_version) and its runtime dependencies from Maven Central"
  rm -rf "$KAFKA_LIBS" && mkdir -p "$KAFKA_LIBS"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" \
    -Dmaven.repo.local="${BILLING_MAVEN_REPO:-$LOCAL_DIR/cache/m2}" >&2
  touch "$stamp"
}

kafka_java() {
  java -Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
    -Dkafka.logs.dir="$KAFKA_LOGS" -cp "$KAFKA_LIBS/*" "$@"
}

kafka_config() {
  mkdir -p "$LOCAL_DIR/kafka"
  cat >"$LOCAL_DIR/kafka/server.properties" <<EOF
# generated by deploy/local/stack.sh: KRaft, one combined broker+controller
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.min.compaction.lag.ms=0
EOF
}

kafka_up() {
  kafka_fetch
  if pid_alive "$KAFKA_PID"; then
    log "Kafka already running on 127.0.0.1:$KAFKA_PORT"
    return
  fi
  port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by another process (set BILLING_KAFKA_PORT)"
  mkdir -p "$KAFKA_LOGS" "$LOCAL_DIR/run"
  kafka_config
  if [[ ! -f $KAFKA_DATA/meta.properties ]]; then
    log "formatting Kafka storage (KRaft)"
    local cluster_id; cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid)
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$LOCAL_DIR/kafka/server.properties" >"$KAFKA_LOGS/format.log" 2>&1 \
      || die "formatting failed, see $KAFKA_LOGS/format.log"
  fi
  log "starting Kafka $(kafka_version) on 127.0.0.1:$KAFKA_PORT"
  # a broker holds files per partition segment: as many as the hard limit allows
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  nohup java -Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
    -Dkafka.logs.dir="$KAFKA_LOGS" -cp "$KAFKA_LIBS/*" \
    kafka.Kafka "$LOCAL_DIR/kafka/server.properties" \
    >"$KAFKA_LOGS/stdout.log" 2>&1 </dev/null &
  echo $! >"$KAFKA_PID"
  if ! wait_port "$KAFKA_PORT" 90; then
    tail -n 30 "$KAFKA_LOGS/server.log" "$KAFKA_LOGS/stdout.log" >&2 || true
    die "Kafka did not open port $KAFKA_PORT"
  fi
}

kafka_down() {
  if pid_alive "$KAFKA_PID"; then
    log "stopping Kafka"
    local pid; pid=$(cat "$KAFKA_PID")
    kill "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$KAFKA_PID"
}

kafka_status() {
  if pid_alive "$KAFKA_PID" && port_open "$KAFKA_PORT"; then
    echo "kafka: running on 127.0.0.1:$KAFKA_PORT (Apache Kafka $(kafka_version), KRaft)"
  else
    echo "kafka: stopped"; return 1
  fi
}

print_env() {
  echo "export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT"
  echo "export BILLING_PG_ADMIN_URL=postgresql://postgres:$(secret pg-postgres)@127.0.0.1:$PG_PORT/postgres"
  local s up
  for s in "${SERVICES[@]}"; do
    up=$(echo "$s" | tr '[:lower:]' '[:upper:]')
    echo "export ${up}_DATABASE_URL=postgresql+asyncpg://$s:$(secret "pg-$s")@127.0.0.1:$PG_PORT/$s"
    echo "export ${up}_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT"
  done
}

case ${1:-} in
  up) pg_up; kafka_up; pg_status; kafka_status ;;
  down) kafka_down; pg_down ;;
  status) rc=0; pg_status || rc=1; kafka_status || rc=1; exit $rc ;;
  env) print_env ;;
  pg-stop) pg_down ;;     # used by the outage tests
  pg-start) pg_up ;;
  kafka-stop) kafka_down ;;
  kafka-start) kafka_up ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
