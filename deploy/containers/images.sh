#!/usr/bin/env bash
# Builds the container images here (no registry needed), reusing what exists:
#
#   deploy/containers/images.sh [all|billing|kafka|postgres|smtp-sink|debian]...   (default: all)
#
#   local/debian:bookworm  debootstrap minbase, imported (only when missing)
#   local/billing:dev      the project image (Dockerfile; BASE_IMAGE=$BILLING_BASE_IMAGE,
#                          default local/debian:bookworm; python:3.11-slim with a registry)
#   local/kafka:4.1.1      Apache Kafka (KRaft) from the Maven Central jars (deploy/containers/kafka)
#   local/postgres:15      Debian's PostgreSQL 15, started as the official image (deploy/containers/postgres)
#   local/smtp-sink:dev    the SMTP sink of the test kit (deploy/containers/smtp-sink)
#
# Rebuilds are quick: podman's layer cache, the Kafka jars kept in the build context
# (deploy/containers/kafka/libs, refetched when the version changes), Maven's cache in
# ${BILLING_MAVEN_REPO:-.local/cache/m2}. Prints how long each image took. Needs root
# (rootful podman; deploy/containers/engine.sh up first).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
BASE=local/debian:bookworm
BILLING_BASE=${BILLING_BASE_IMAGE:-$BASE}
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$repo/deploy/local/kafka/pom.xml")
KAFKA_LIBS=$here/kafka/libs
MAVEN_REPO=${BILLING_MAVEN_REPO:-$repo/.local/cache/m2}
LOGS=$repo/.local/logs/images
DEBIAN_MIRROR=${BILLING_DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf '[images] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "rootful podman: run this as root"
command -v podman >/dev/null || die "podman is missing: run deploy/containers/engine.sh up first"

apt_install() {
  log "installing: $*"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# build TAG ARGS...: podman build with its layer cache; the image the tag named before is
# removed when nothing uses it any more (never another image: a failing rmi is fine).
build() {
  local tag=$1; shift
  local old; old=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  local out=$LOGS/build-${tag//[\/:]/-}.log
  mkdir -p "$LOGS"
  if ! podman build --layers --tag "$tag" "$@" >"$out" 2>&1; then
    tail -n 30 "$out" >&2
    die "building $tag failed (log: $out)"
  fi
  local new; new=$(podman image inspect --format '{{.Id}}' "$tag")
  if [[ -n $old && $old != "$new" ]]; then
    podman rmi "$old" >/dev/null 2>&1 || true
  fi
}

image_debian() {
  if podman image exists "$BASE"; then
    log "$BASE exists"
    return
  fi
  command -v debootstrap >/dev/null || apt_install debootstrap
  local root; root=$(mktemp -d /var/tmp/billing-debootstrap.XXXXXX)
  log "debootstrap --variant=minbase bookworm (from $DEBIAN_MIRROR)"
  debootstrap --variant=minbase bookworm "$root" "$DEBIAN_MIRROR" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; die "debootstrap failed (log: $root.log)"; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$root" "$root.log"
}

kafka_libs() {
  local stamp=$KAFKA_LIBS/.version-$KAFKA_VERSION
  [[ -f $stamp ]] && return
  command -v mvn >/dev/null || apt_install maven
  log "fetching Apache Kafka $KAFKA_VERSION and its runtime dependencies from Maven Central"
  rm -rf "$KAFKA_LIBS" && mkdir -p "$KAFKA_LIBS"
  mkdir -p "$LOGS"
  if ! mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" \
    -Dkafka.version="$KAFKA_VERSION" -Dmaven.repo.local="$MAVEN_REPO" >"$LOGS/kafka-jars.log" 2>&1; then
    tail -n 30 "$LOGS/kafka-jars.log" >&2
    die "fetching the Kafka jars failed (log: $LOGS/kafka-jars.log)"
  fi
  touch "$stamp"
}

image_billing() {
  podman image exists "$BILLING_BASE" || [[ $BILLING_BASE != "$BASE" ]] || image_debian
  # A site CA (a TLS-inspecting proxy) reaches the downloads as a build secret, not a layer.
  local secret=()
  [[ -s /etc/ssl/certs/ca-certificates.crt ]] && secret=(--secret id=cacert,src=/etc/ssl/certs/ca-certificates.crt)
  build local/billing:dev --build-arg BASE_IMAGE="$BILLING_BASE" "${secret[@]}" "$repo"
}

image_kafka() {
  podman image exists "$BASE" || image_debian
  kafka_libs
  build "local/kafka:$KAFKA_VERSION" "$here/kafka"
}

image_postgres() {
  podman image exists "$BASE" || image_debian
  build local/postgres:15 "$here/postgres"
}

image_smtp_sink() {
  podman image exists "$BASE" || image_debian
  build local/smtp-sink:dev -f "$here/smtp-sink/Containerfile" "$repo/testkit/billing_testkit"
}

timed() { # name function
  local t0=$SECONDS
  "$2"
  log "$1: $((SECONDS - t0)) s ($(podman image inspect --format '{{.Size}}' "$3" 2>/dev/null | awk '{printf "%.0f MB", $1/1e6}'))"
}

tag_of() {
  case $1 in
    debian) echo "$BASE" ;;
    billing) echo local/billing:dev ;;
    kafka) echo "local/kafka:$KAFKA_VERSION" ;;
    postgres) echo local/postgres:15 ;;
    smtp-sink) echo local/smtp-sink:dev ;;
    *) die "unknown image '$1' (all|billing|kafka|postgres|smtp-sink|debian)" ;;
  esac
}

one() { timed "$1" "image_${1//-/_}" "$(tag_of "$1")"; }

# all: the base first (the Kafka jars are fetched meanwhile), then the four images side
# by side (they wait on the network as much as on the CPU); BILLING_IMAGES_SERIAL=1: one
# after the other.
all() {
  if [[ ${BILLING_IMAGES_SERIAL:-0} == 1 ]]; then
    local n
    for n in debian billing kafka postgres smtp-sink; do one "$n"; done
    return
  fi
  kafka_libs &
  local jars=$!
  one debian
  wait "$jars" || die "fetching the Kafka jars failed"
  local pids=() n rc=0
  for n in billing kafka postgres smtp-sink; do
    one "$n" &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || rc=1; done
  ((rc == 0)) || die "an image failed to build (see above)"
}

targets=("$@")
((${#targets[@]})) || targets=(all)
start=$SECONDS
for t in "${targets[@]}"; do
  if [[ $t == all ]]; then
    all
  else
    tag_of "$t" >/dev/null
    one "$t"
  fi
done
log "done in $((SECONDS - start)) s"
