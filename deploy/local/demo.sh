#!/usr/bin/env bash
# The demo on the local stack: every process of the system as local processes, the
# demo data loaded through the inbound topics, then the clerk's day walked through the CLI.
#
#   deploy/local/demo.sh up       reset the demo's databases and topics, start the processes,
#                                 load the data, walk the day, print the report (make demo)
#   deploy/local/demo.sh start    only start what is not running and wait until ready
#   deploy/local/demo.sh down     stop the processes started here (make demo-down)
#   deploy/local/demo.sh status   which of them run
#
# Where things go: $BILLING_DEMO_DIR (default <local dir>/demo): run/ (pid files),
# logs/ (one log per process), out/ (mail/*.eml, einvoice/*.xml, print/, pdf/).
# The stack's endpoints and the API token come from $BILLING_LOCAL_DIR (default .local).
# Environment: DEMO_CUSTOMERS (3000), DEMO_SEED (2026), DEMO_START_TIMEOUT (420 s for all to be ready).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
LOCAL_DIR=${BILLING_LOCAL_DIR:-$repo/.local}
DEMO_DIR=${BILLING_DEMO_DIR:-$LOCAL_DIR/demo}
RUN=$DEMO_DIR/run
LOGS=$DEMO_DIR/logs
OUT=$DEMO_DIR/out
PY=$repo/.venv/bin/python
export BILLING_LOCAL_DIR=$LOCAL_DIR BILLING_DEMO_DIR=$DEMO_DIR
export DEMO_CALLER_DIR=${DEMO_CALLER_DIR:-$PWD}  # where the user typed it: the report's hints fit there

# The processes, in start order: name | readiness (tcp:PORT or a URL answering "ready") |
# environment (space-separated, evaluated) | python arguments. Stopped in reverse order.
# To add one (the web console, say): one row here.
PROCS=(
  'smtp-sink|tcp:1025||-m tests.support.smtp_sink --port 1025 --folder $OUT/mail'
  'customers|http://127.0.0.1:8001/readyz|CUSTOMERS_API_TOKEN=$TOKEN CUSTOMERS_HTTP_PORT=8001|-m services.customers'
  'invoicing|http://127.0.0.1:8002/readyz|INVOICING_API_TOKEN=$TOKEN INVOICING_HTTP_PORT=8002|-m services.invoicing'
  'reminders|http://127.0.0.1:8003/readyz|REMINDERS_API_TOKEN=$TOKEN REMINDERS_HTTP_PORT=8003|-m services.reminders'
  'dispatch|http://127.0.0.1:8004/readyz|$DISPATCH_ENV DISPATCH_HTTP_PORT=8004|-m services.dispatch'
  'worker-email|http://127.0.0.1:8011/readyz|$DISPATCH_ENV|-m services.dispatch.worker --channel email --port 8011'
  'worker-einvoice|http://127.0.0.1:8012/readyz|$DISPATCH_ENV|-m services.dispatch.worker --channel einvoice --port 8012'
  'worker-print|http://127.0.0.1:8013/readyz|$DISPATCH_ENV|-m services.dispatch.worker --channel print --port 8013'
  'console|tcp:8080|CONSOLE_API_TOKEN=$TOKEN CONSOLE_HTTP_PORT=8080|-m billing_cli.main console serve'
)
CONSOLE_URL=http://127.0.0.1:8080
DEMO_USER=demo

token() { # BILLING_API_TOKEN if set, else the local stack's (made once)
  [[ -n ${BILLING_API_TOKEN:-} ]] && { echo "$BILLING_API_TOKEN"; return; }
  local f=$LOCAL_DIR/secrets/api-token
  [[ -s $f ]] || { mkdir -p "$(dirname "$f")"; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$f"; chmod 600 "$f"; }
  cat "$f"
}

demo_password() { # the console's demo user: made once, password kept beside the stack's secrets (mode 0600)
  local f=$LOCAL_DIR/console/demo-password
  if [[ ! -s $f ]]; then
    mkdir -p "$(dirname "$f")"
    (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$f")
  fi
  if ! grep -qs "^$DEMO_USER:" "$LOCAL_DIR/console/users"; then
    "$repo/bin/billing" console add-user "$DEMO_USER" <"$f" >/dev/null
  fi
  cat "$f"
}

console_hint() {
  echo "The clerk's console: $CONSOLE_URL   user: $DEMO_USER   password: $(demo_password)"
}

field() { local IFS='|'; read -r -a parts <<<"$1"; echo "${parts[$2]}"; }
alive() { [[ -f $RUN/$1.pid ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

ready() { # readiness spec -> 0 when ready
  local spec=$1
  if [[ $spec == tcp:* ]]; then
    (exec 3<>"/dev/tcp/127.0.0.1/${spec#tcp:}") 2>/dev/null
  else
    [[ $(curl -s --max-time 2 "$spec" || true) == *'"status":"ready"'* ]]
  fi
}

start() {
  cd "$repo"
  eval "$(bash "$here/stack.sh" env)"
  mkdir -p "$RUN" "$LOGS" "$OUT/mail" "$OUT/einvoice" "$OUT/print" "$OUT/pdf"
  TOKEN=$(token)
  demo_password >/dev/null  # the console needs a user before it starts
  DISPATCH_ENV="DISPATCH_API_TOKEN=$TOKEN DISPATCH_SMTP_HOST=127.0.0.1 DISPATCH_SMTP_PORT=1025"
  DISPATCH_ENV+=" DISPATCH_EINVOICE_FOLDER=$OUT/einvoice DISPATCH_PRINT_FOLDER=$OUT/print"
  DISPATCH_ENV+=" DISPATCH_MAIL_FROM=laskutus@kustannus-demo.fi DISPATCH_MAIL_SENDER_NAME=Laskutus"
  local row name envs args
  for row in "${PROCS[@]}"; do
    name=$(field "$row" 0)
    alive "$name" && continue
    envs=$(eval echo "$(field "$row" 2)")
    args=$(eval echo "$(field "$row" 3)")
    # env and nohup exec the process itself, so the pid file holds its pid (what `down` stops).
    # shellcheck disable=SC2086  # word splitting intended: KEY=VALUE pairs and arguments
    env $envs nohup "$PY" $args >"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
  done
  # One deadline for all: on a busy two-core machine eight Python processes importing and
  # migrating at once can take minutes, but a process that died is reported at once.
  local spec ok all_ok=1 deadline=$((SECONDS + ${DEMO_START_TIMEOUT:-420}))
  printf '%-16s %-32s %s\n' process ready-at state
  for row in "${PROCS[@]}"; do
    name=$(field "$row" 0)
    spec=$(field "$row" 1)
    ok=0
    while ((SECONDS < deadline)); do
      ready "$spec" && { ok=1; break; }
      alive "$name" || break
      sleep 0.2
    done
    if ((ok)); then
      printf '%-16s %-32s %s\n' "$name" "$spec" ready
    else
      all_ok=0
      printf '%-16s %-32s %s\n' "$name" "$spec" "NOT READY (see $LOGS/$name.log)"
    fi
  done
  [[ $all_ok == 1 ]]
}

down() {
  local i row name pid
  for ((i = ${#PROCS[@]} - 1; i >= 0; i--)); do
    name=$(field "${PROCS[$i]}" 0)
    if alive "$name"; then
      pid=$(cat "$RUN/$name.pid")
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      echo "stopped $name"
    fi
    rm -f "$RUN/$name.pid"
  done
}

status() {
  local row name rc=0
  for row in "${PROCS[@]}"; do
    name=$(field "$row" 0)
    if alive "$name"; then echo "$name: running (pid $(cat "$RUN/$name.pid"))"; else echo "$name: stopped"; rc=1; fi
  done
  return $rc
}

cli() { "$repo/bin/billing" "$@"; }

up() {
  local t0=$SECONDS
  echo "== Resetting the demo (its processes, databases, topics and output) =="
  down >/dev/null
  eval "$(bash "$here/stack.sh" env)"
  cli demo reset --out "$OUT"
  echo
  echo "== Starting the SMTP sink, the four services and one worker per channel =="
  start
  local started_s=$((SECONDS - t0))
  echo
  cli demo load --out "$OUT" --customers "${DEMO_CUSTOMERS:-3000}" --seed "${DEMO_SEED:-2026}"
  echo
  cli demo day --out "$OUT" --started-s "$started_s"
  echo
  console_hint
}

case ${1:-} in
  up) up ;;
  start) start && console_hint ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|start|down|status" >&2; exit 2 ;;
esac
