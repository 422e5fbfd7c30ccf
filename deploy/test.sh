#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with the Rust toolchain.
#
#   ./deploy/test.sh
#
# Installs what the build needs when it is missing (a C compiler and make
# for the bundled SQLite), then runs every test of the workspace. Set
# CARGO_TARGET_DIR to reuse a build directory between checkouts.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install the Rust toolchain first (https://rustup.rs)" >&2
    exit 1
fi

need_packages=()
command -v cc >/dev/null 2>&1 || need_packages+=(build-essential)
command -v make >/dev/null 2>&1 || need_packages+=(make)
command -v pkg-config >/dev/null 2>&1 || need_packages+=(pkg-config)
if ((${#need_packages[@]})); then
    log "installing build tools: ${need_packages[*]}"
    if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_packages[@]}"
fi

log "running the workspace tests"
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
