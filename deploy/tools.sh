#!/usr/bin/env bash
# The gRPC tools the tests and benches drive the query service with, built
# from the Go module proxy (Go must be installed; Debian: golang-go) into
# $SKILLS_CACHE_DIR/bin (default ~/.cache/skills-monitor/bin). Pinned
# versions; a second run reuses the binaries.
#
#   deploy/tools.sh [grpcurl] [ghz]     (default: both); prints the bin directory
set -euo pipefail
CACHE_DIR="${SKILLS_CACHE_DIR:-$HOME/.cache/skills-monitor}"
BIN="$CACHE_DIR/bin"
GRPCURL_VERSION=v1.9.4
GHZ_VERSION=v0.120.0

log() { printf '==> %s\n' "$*" >&2; }

install_go() {
    command -v go >/dev/null 2>&1 && return 0
    log "installing Go"
    if [[ $(id -u) -eq 0 ]]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends golang-go ca-certificates >/dev/null
}

# tool name, module path of its command, version
build() {
    local name="$1" module="$2" version="$3"
    if [[ -x "$BIN/$name" ]] && go version -m "$BIN/$name" 2>/dev/null | grep -q "	$version	"; then
        return 0
    fi
    install_go
    log "building $name $version from the Go module proxy"
    mkdir -p "$BIN"
    GOBIN="$BIN" GOFLAGS=-mod=mod go install "$module@$version" >&2
}

tools=("$@")
((${#tools[@]})) || tools=(grpcurl ghz)
for tool in "${tools[@]}"; do
    case "$tool" in
    grpcurl) build grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_VERSION" ;;
    ghz) build ghz github.com/bojand/ghz/cmd/ghz "$GHZ_VERSION" ;;
    *) echo "unknown tool $tool (grpcurl, ghz)" >&2; exit 2 ;;
    esac
done
echo "$BIN"
