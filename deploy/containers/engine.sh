#!/usr/bin/env bash
# The container engine: rootful podman (with runc) behind a Docker-compatible API
# socket, for the Docker CLI, `docker compose` and testcontainers.
#
#   deploy/containers/engine.sh up      install what is missing, configure, start (twice is harmless)
#   deploy/containers/engine.sh env     the client settings, as shell exports
#   deploy/containers/engine.sh status  what runs; exit 1 if the engine does not answer
#   deploy/containers/engine.sh down    stop what `up` started (pid files)
#
# `up` on a fresh Debian 12 (root, no systemd): apt-installs podman, runc and debootstrap,
# writes /etc/containers/containers.conf (runc, cgroupfs, file events, nofile = this
# machine's hard limit), starts `podman system service` on $BILLING_ENGINE_SOCKET
# (default /run/podman/podman.sock), links /var/run/docker.sock to it if that is absent,
# and starts the health-check loop: podman 4.3 schedules HEALTHCHECKs with systemd timers,
# so without systemd a loop runs `podman healthcheck run` once a second for every container
# whose health is `starting` or `unhealthy`. An engine already answering on the socket is
# left alone (only the loop is started if it does not run). Why each setting:
# see the README's "Container images" section.
set -euo pipefail

SOCK=${BILLING_ENGINE_SOCKET:-/run/podman/podman.sock}
RUN_DIR=${BILLING_ENGINE_RUN_DIR:-/run/billing-engine}
SERVICE_PID=$RUN_DIR/podman-service.pid
HEALTH_PID=$RUN_DIR/healthcheck-loop.pid
CONF=/etc/containers/containers.conf
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf '[engine] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

answers() { # the API socket answers a ping
  [[ -S $SOCK ]] || return 1
  if command -v curl >/dev/null; then
    [[ $(curl -s -m 5 --unix-socket "$SOCK" http://d/_ping 2>/dev/null) == OK ]]
  else
    podman --url "unix://$SOCK" version >/dev/null 2>&1
  fi
}

need_root() { [[ $(id -u) == 0 ]] || die "rootful podman: run this as root"; }

install_packages() {
  local missing=() p
  for p in podman runc debootstrap; do
    command -v "$p" >/dev/null || missing+=("$p")
  done
  command -v curl >/dev/null || missing+=(curl)
  ((${#missing[@]})) || return 0
  log "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

write_config() {
  # No OCI runtime may raise a hard rlimit here (no CAP_SYS_RESOURCE): give containers
  # this machine's hard nofile limit, and nproc too (else podman sets 1048576 and fails).
  local nofile; nofile=$(ulimit -Hn)
  [[ $nofile == unlimited ]] && nofile=1048576
  local want
  want=$(cat <<CONF
# written by deploy/containers/engine.sh
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]

[engine]
# crun 1.8 refuses a hybrid cgroup layout; there is no systemd to manage cgroups or events
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
)
  if [[ -f $CONF && "$(grep -v "^#" "$CONF")" == "$(grep -v "^#" <<<"$want")" ]]; then
    return 0
  fi
  if [[ -f $CONF ]]; then
    cp "$CONF" "$CONF.bak.$(date +%Y%m%d%H%M%S)"
    log "replacing $CONF (the old one kept beside it as .bak.*)"
  else
    log "writing $CONF"
  fi
  mkdir -p "$(dirname "$CONF")"
  printf '%s\n' "$want" >"$CONF"
}

start_service() {
  if answers; then
    log "engine already answering on $SOCK"
    return 0
  fi
  mkdir -p "$(dirname "$SOCK")" "$RUN_DIR"
  [[ -S $SOCK ]] && rm -f "$SOCK"  # a stale socket of an engine that is gone
  log "starting podman system service on $SOCK"
  setsid nohup podman system service --time=0 "unix://$SOCK" >"$RUN_DIR/podman-service.log" 2>&1 </dev/null &
  echo $! >"$SERVICE_PID"
  local i
  for ((i = 0; i < 150; i++)); do
    answers && return 0
    pid_alive "$SERVICE_PID" || break
    sleep 0.2
  done
  tail -n 20 "$RUN_DIR/podman-service.log" >&2 || true
  die "the engine did not answer on $SOCK"
}

link_docker_socket() {
  if [[ ! -e /var/run/docker.sock && ! -L /var/run/docker.sock ]]; then
    ln -s "$SOCK" /var/run/docker.sock
    log "linked /var/run/docker.sock -> $SOCK"
  fi
}

start_health_loop() {
  if pid_alive "$HEALTH_PID"; then
    return 0
  fi
  mkdir -p "$RUN_DIR"
  log "starting the health-check loop"
  BILLING_ENGINE_SOCKET=$SOCK setsid nohup bash "$here/engine.sh" health-loop \
    >"$RUN_DIR/healthcheck-loop.log" 2>&1 </dev/null &
  echo $! >"$HEALTH_PID"
}

health_ids() { # containers whose health is starting or unhealthy
  if command -v curl >/dev/null; then
    curl -s -m 5 --unix-socket "$SOCK" -G http://d/v4.0.0/libpod/containers/json \
      --data-urlencode 'filters={"health":["starting","unhealthy"]}' \
      | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4 || true
  else
    podman ps -q --no-trunc --filter health=starting --filter health=unhealthy 2>/dev/null || true
  fi
}

health_loop() {
  # What the systemd timers would do: each due check, once a second; the checks of one
  # round run side by side, and a round ends when its slowest check has.
  local id
  while true; do
    for id in $(health_ids); do
      timeout 120 podman healthcheck run "$id" >/dev/null 2>&1 &
    done
    wait
    sleep 1
  done
}

stop_pid() { # pid-file what
  if pid_alive "$1"; then
    log "stopping $2"
    local pid; pid=$(cat "$1")
    kill -- "-$pid" 2>/dev/null || kill "$pid"
    local i
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$1"
}

print_env() {
  echo "export DOCKER_HOST=unix://$SOCK TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_CONNECTION_MODE=docker_host TC_HOST=127.0.0.1"
}

status() {
  local rc=0
  if answers; then
    echo "engine: answering on $SOCK ($(podman --version))"
  else
    echo "engine: not answering on $SOCK"; rc=1
  fi
  if pid_alive "$SERVICE_PID"; then echo "service: started by engine.sh (pid $(cat "$SERVICE_PID"))"; fi
  if pid_alive "$HEALTH_PID"; then
    echo "health-check loop: running (pid $(cat "$HEALTH_PID"))"
  else
    echo "health-check loop: not running"; rc=1
  fi
  if [[ -L /var/run/docker.sock || -e /var/run/docker.sock ]]; then
    echo "docker.sock: $(readlink /var/run/docker.sock || echo present)"
  fi
  return $rc
}

case ${1:-} in
  up)
    need_root
    install_packages
    write_config
    start_service
    link_docker_socket
    start_health_loop
    ;;
  env) print_env ;;
  status) status ;;
  down)
    need_root
    stop_pid "$HEALTH_PID" "the health-check loop"
    stop_pid "$SERVICE_PID" "podman system service"
    ;;
  health-loop) health_loop ;;
  *) echo "usage: $0 up|env|status|down" >&2; exit 2 ;;
esac
