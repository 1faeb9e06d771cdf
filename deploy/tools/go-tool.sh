#!/usr/bin/env bash
# Build a pinned Go tool once into .local/tools/bin and print its path.
#   bash deploy/tools/go-tool.sh kubeconform   -> .local/tools/bin/kubeconform-<version>
#   bash deploy/tools/go-tool.sh promtool   -> .local/tools/bin/promtool-<version>
# Idempotent: a tool already built at its pinned version is not built again (the Go
# module cache makes a rebuild after `rm -rf .local` cheap). No network beyond the Go
# module proxy (`go install module/cmd@version`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${GO_TOOLS_BIN:-$ROOT/.local/tools/bin}"

# name -> "package@version" (pinned; change the version here and the next run rebuilds)
tool_package() {
    case "$1" in
        kubeconform) echo "github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0" ;;
        kube-score) echo "github.com/zegl/kube-score/cmd/kube-score@v1.20.0" ;;
        kustomize) echo "sigs.k8s.io/kustomize/kustomize/v5@v5.7.1" ;;
        promtool) echo "github.com/prometheus/prometheus/cmd/promtool@v0.316.0" ;;
        *) return 1 ;;
    esac
}

# name -> Go build tags. promtool: no service discovery (remove_all_sd, Prometheus PR
# 17736): checking and unit-testing rule files needs none, and leaving out the cloud SDKs
# builds it in about half the time and 77 MB instead of 123 MB.
tool_tags() {
    case "$1" in
        promtool) echo "remove_all_sd" ;;
        *) echo "" ;;
    esac
}

usage() {
    echo "usage: $0 <kubeconform|kube-score|kustomize|promtool>   (builds the pinned version once, prints the binary's path)" >&2
    exit 2
}

[ $# -eq 1 ] || usage
name="$1"
pkg="$(tool_package "$name")" || { echo "go-tool.sh: unknown tool '$name'" >&2; usage; }
version="${pkg##*@}"
tags="$(tool_tags "$name")"
target="$BIN/$name-$version${tags:+-$tags}"

if [ ! -x "$target" ]; then
    command -v go >/dev/null || { echo "go-tool.sh: Go is needed to build $name (https://go.dev/dl/)" >&2; exit 1; }
    mkdir -p "$BIN"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    echo "go-tool.sh: building $pkg${tags:+ (tags: $tags)} (once)" >&2
    GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install ${tags:+-tags "$tags"} "$pkg"
    mv "$tmp/$name" "$target"
    ln -sfn "$(basename "$target")" "$BIN/$name"
fi
echo "$target"
