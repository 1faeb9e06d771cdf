#!/usr/bin/env bash
# The `docker compose` CLI plugin, built from source with Go (no registry serves a binary
# here). Idempotent: does nothing when `docker compose version` already answers.
#   bash deploy/containers/compose-plugin.sh          # build and install if missing
# Installs to $DOCKER_CONFIG/cli-plugins/docker-compose (default ~/.docker). Go's module
# and build caches make a second build take seconds; a cold one takes ~8 minutes.
# `go install github.com/docker/compose/v5/cmd@VERSION` refuses the module (its go.mod has
# `exclude` lines), so the source is copied out of the module cache and built there.
set -euo pipefail

COMPOSE_VERSION="${COMPOSE_VERSION:-v5.6.0}"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
PLUGIN="$PLUGIN_DIR/docker-compose"

if docker compose version >/dev/null 2>&1; then
  echo "compose plugin: present ($(docker compose version --short 2>/dev/null || echo '?'))"
  exit 0
fi
if ! command -v go >/dev/null; then
  for g in /usr/local/go/bin/go /usr/lib/go/bin/go; do
    [ -x "$g" ] && PATH="$(dirname "$g"):$PATH" && break
  done
fi
if ! command -v go >/dev/null; then
  echo "installing golang-go (the compose plugin is built from source)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
fi

start=$(date +%s)
module="github.com/docker/compose/v5@${COMPOSE_VERSION}"
echo "compose plugin: building $module with $(go version | awk '{print $3}')"
src_dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$module" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
work=$(mktemp -d "${TMPDIR:-/tmp}/compose-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$src_dir/." "$work/"
chmod -R u+w "$work"
mkdir -p "$PLUGIN_DIR"
(cd "$work" && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=${COMPOSE_VERSION}" \
  -o "$PLUGIN.tmp" ./cmd)
mv "$PLUGIN.tmp" "$PLUGIN"
echo "compose plugin: $("$PLUGIN" version) at $PLUGIN in $(( $(date +%s) - start )) s"
