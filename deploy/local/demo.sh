#!/usr/bin/env bash
# The demo on the local stack: run the four services as processes and show them healthy.
#   deploy/local/demo.sh up     start (the stack must be up: `make stack-up`)
#   deploy/local/demo.sh down   stop the services started by `up`
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
LOCAL_DIR=${BILLING_LOCAL_DIR:-$repo/.local}
RUN=$LOCAL_DIR/run
LOGS=$LOCAL_DIR/logs
declare -A PORTS=([customers]=8001 [invoicing]=8002 [reminders]=8003 [dispatch]=8004)
ORDER=(customers invoicing reminders dispatch)

token() {
  local f=$LOCAL_DIR/secrets/api-token
  [[ -s $f ]] || { mkdir -p "$(dirname "$f")"; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$f"; chmod 600 "$f"; }
  cat "$f"
}

up() {
  eval "$(bash "$here/stack.sh" env)"
  mkdir -p "$RUN" "$LOGS"
  local tok; tok=$(token)
  for s in "${ORDER[@]}"; do
    local pidf=$RUN/$s.pid
    if [[ -f $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; then continue; fi
    local up_name; up_name=$(echo "$s" | tr '[:lower:]' '[:upper:]')
    env "${up_name}_API_TOKEN=$tok" "${up_name}_HTTP_PORT=${PORTS[$s]}" \
      nohup "$repo/.venv/bin/python" -m "services.$s" >"$LOGS/$s.log" 2>&1 </dev/null &
    echo $! >"$pidf"
  done
  printf '%-10s %-6s %-28s %s\n' service port readyz checks
  local s code body all_ok=1
  for s in "${ORDER[@]}"; do
    for _ in $(seq 1 150); do
      body=$(curl -s "http://127.0.0.1:${PORTS[$s]}/readyz" || true)
      [[ $body == *'"status":"ready"'* ]] && break
      sleep 0.2
    done
    [[ $body == *'"status":"ready"'* ]] || all_ok=0
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORTS[$s]}/readyz" || true)
    printf '%-10s %-6s %-28s %s\n' "$s" "${PORTS[$s]}" "$code" "${body:-no answer (see $LOGS/$s.log)}"
  done
  echo
  # Hints as the user can type them where they are: bin/billing needs no uv on the
  # PATH and loads the stack's endpoints and the API token itself.
  local cli=$repo/bin/billing make="make -C $repo"
  if [[ $PWD == "$repo" ]]; then cli=bin/billing make=make; fi
  echo "API token: $LOCAL_DIR/secrets/api-token   logs: $LOGS/<service>.log   stop: $make demo-down"
  echo "try: $cli customers invalid"
  [[ $all_ok == 1 ]]
}

down() {
  local s pidf
  for s in "${ORDER[@]}"; do
    pidf=$RUN/$s.pid
    if [[ -f $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
      kill "$(cat "$pidf")"
      echo "stopped $s"
    fi
    rm -f "$pidf"
  done
}

case ${1:-} in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
