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
# The stack's endpoints and the callers' credentials come from $BILLING_LOCAL_DIR
# (default .local; credentials in secrets/auth/: the credentials file, the console's
# assertion key pair, a token-<caller> file per caller, made on the first start);
# the stack's own folder may be another ($BILLING_STACK_DIR, default the same).
# Environment: DEMO_CUSTOMERS (3000), DEMO_SEED (2026), DEMO_START_TIMEOUT (420 s for all to be ready),
# BILLING_DEMO_PORT_OFFSET (0; added to every port of the demo's processes).
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

# The processes are the registry's (testkit/billing_testkit/processes.py: the mail sink,
# the four services, one worker per channel, the console), started as local processes by
# its local backend (python -m billing_testkit.local), ports shifted by
# BILLING_DEMO_PORT_OFFSET (default 0: 8001-8004, 8011-8013, 8080, SMTP 1025) so a second
# demo on the same machine (its own BILLING_LOCAL_DIR and stack ports) does not collide.
PORT_OFFSET=${BILLING_DEMO_PORT_OFFSET:-0}
DEMO_USER=demo
backend() { "$PY" -m billing_testkit.local "$@"; }
# BILLING_<SERVICE>_URL for the CLI (bin/billing), BILLING_CONSOLE_URL for the hint
eval "$(backend urls --port-offset "$PORT_OFFSET")"

stack_env() { # the stack's endpoints ($BILLING_STACK_DIR: a stack set up elsewhere; default the local dir)
  eval "$(BILLING_LOCAL_DIR=${BILLING_STACK_DIR:-$LOCAL_DIR} bash "$here/stack.sh" env)"
}

CREDENTIALS_DIR=$LOCAL_DIR/secrets/auth
credentials() { # every caller its own credential (made once; billing_testkit/credentials.py)
  backend credentials --dir "$CREDENTIALS_DIR" >/dev/null
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
  echo "The clerk's console: $BILLING_CONSOLE_URL   user: $DEMO_USER   password: $(demo_password)"
  if [[ $PORT_OFFSET != 0 ]]; then  # bin/billing calls the default ports unless told otherwise
    echo "Ports shifted by $PORT_OFFSET: for bin/billing, first: eval \"\$($PY -m billing_testkit.local urls --port-offset $PORT_OFFSET)\""
  fi
}

start() {
  cd "$repo"
  stack_env
  mkdir -p "$RUN" "$LOGS" "$OUT/mail" "$OUT/einvoice" "$OUT/print" "$OUT/pdf"
  credentials
  demo_password >/dev/null  # the console needs a user before it starts
  # One deadline for all: on a busy two-core machine eight Python processes importing and
  # migrating at once can take minutes, but a process that died is reported at once.
  backend start --run-dir "$RUN" --log-dir "$LOGS" --out "$OUT" --port-offset "$PORT_OFFSET" \
    --timeout "${DEMO_START_TIMEOUT:-420}" --credentials-dir "$CREDENTIALS_DIR" \
    --env DISPATCH_MAIL_FROM=laskutus@kustannus-demo.fi --env DISPATCH_MAIL_SENDER_NAME=Laskutus
}

down() { backend down --run-dir "$RUN"; }

status() { backend status --run-dir "$RUN"; }

cli() { "$repo/bin/billing" "$@"; }

up() {
  local t0=$SECONDS
  echo "== Resetting the demo (its processes, databases, topics and output) =="
  down >/dev/null
  stack_env
  cli demo reset --out "$OUT"
  echo
  echo "== Starting the SMTP sink, the four services and one worker per channel =="
  start
  local started_s=$((SECONDS - t0))
  echo
  # the demo's CLI steps act as the local ops user (its credential's name is what the
  # audit trails record), unless the caller set BILLING_TOKEN
  [[ -n ${BILLING_TOKEN:-} ]] || { BILLING_TOKEN=$(<"$CREDENTIALS_DIR/token-ops"); export BILLING_TOKEN; }
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
