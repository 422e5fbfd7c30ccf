#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with the Rust toolchain.
#
#   ./deploy/test.sh
#
# 1. installs the build tools when missing (C compiler, make, pkg-config:
#    bundled SQLite and librdkafka are built from source);
# 2. installs and starts a real Kafka broker and a real ClickHouse server on
#    127.0.0.1 (deploy/infra.sh up; a second run reuses them);
# 3. runs every test of the workspace, including those that need Kafka and
#    ClickHouse (marked #[ignore] so a bare `cargo test` passes without them),
#    and the dashboard's browser tests (deploy/web.sh);
# 4. runs the Kafka SASL_SSL test, the dependency checks, the proto
#    contract's lint and breaking-change check, a short fuzzing
#    run, the disclosure audit, a newcomer's first hour (deploy/first-hour.sh),
#    the short fault suite (RELIABILITY.md) and the quick benchmarks.
#
# The servers keep running afterwards for quick re-runs; stop them with
# `deploy/infra.sh down`. Set SKILLS_TEST_STOP_INFRA=1 to stop them at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib/venv.sh

# Each step's start, with the minutes since the run began (the whole run
# should stay under 45 minutes on the project's 2-core machine).
log() { printf '\n==> [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install the Rust toolchain first (https://rustup.rs)" >&2
    exit 1
fi

need_packages=()
command -v cc >/dev/null 2>&1 || need_packages+=(build-essential)
command -v make >/dev/null 2>&1 || need_packages+=(make)
command -v pkg-config >/dev/null 2>&1 || need_packages+=(pkg-config)
command -v curl >/dev/null 2>&1 || need_packages+=(curl)
command -v openssl >/dev/null 2>&1 || need_packages+=(openssl)
# npm: buf (deploy/proto-check.sh) comes from the npm registry.
command -v npm >/dev/null 2>&1 || need_packages+=(npm)
# PyYAML: deploy/first-hour.sh reads the compose file.
python3 -c 'import yaml' >/dev/null 2>&1 || need_packages+=(python3-yaml)
# OpenSSL headers: librdkafka with TLS, for the Kafka SASL_SSL test.
pkg-config --exists openssl 2>/dev/null || need_packages+=(libssl-dev)
if ((${#need_packages[@]})); then
    log "installing build tools: ${need_packages[*]}"
    if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_packages[@]}"
fi

log "starting Kafka and ClickHouse"
eval "$(./deploy/infra.sh up)"
if [[ "${SKILLS_TEST_STOP_INFRA:-0}" == 1 ]]; then
    trap './deploy/infra.sh down' EXIT
fi

# A current ClickHouse engine in process (chdb, PyPI), to check that the
# SQL also runs on what production uses, not only on Debian's 18.16.
CHDB_VENV="${SKILLS_CACHE_DIR:-$HOME/.cache/skills-monitor}/chdb-venv"
if ! "$CHDB_VENV/bin/python" -c 'import chdb' >/dev/null 2>&1; then
    python_tool "$CHDB_VENV" chdb
fi
export SKILLS_CHDB_PYTHON="$CHDB_VENV/bin/python"

# Ralph (ralph-malph, PyPI), France Université Numérique's xAPI toolbox: the
# gateway's xAPI test writes statements with its LRS client.
RALPH_VENV="${SKILLS_CACHE_DIR:-$HOME/.cache/skills-monitor}/ralph-venv"
if ! "$RALPH_VENV/bin/ralph" --help >/dev/null 2>&1; then
    python_tool "$RALPH_VENV" "ralph-malph[cli,backend-lrs]==5.1.0"
fi
export SKILLS_RALPH="$RALPH_VENV/bin/ralph"

# External gRPC clients (grpcurl for the tests, ghz for the benches), built
# from the Go module proxy and cached.
TOOLS_BIN="$(./deploy/tools.sh grpcurl ghz)"
export SKILLS_GRPCURL="$TOOLS_BIN/grpcurl"

# The process-level tests start the service binaries themselves.
log "building the service binaries"
cargo build --workspace --bins --locked

log "running the workspace tests (Kafka at $SKILLS_KAFKA_BROKERS, ClickHouse at $SKILLS_CLICKHOUSE_URL)"
cargo test --workspace --all-targets --locked -- --include-ignored
cargo test --workspace --doc --locked

# The dashboard: the committed build is the build of its sources (npm ci
# from the lockfile, buf, esbuild), and the browser tests (Debian's
# chromium, headless, against the demo; screenshots kept in
# services/query/web/test-artifacts/).
log "dashboard: rebuild check and browser tests (deploy/web.sh --check --test)"
./deploy/web.sh --check --test

# Kafka over SASL_SSL, with librdkafka built with OpenSSL (an opt-in
# feature: the default build needs no OpenSSL headers).
log "Kafka SASL_SSL test (skills-bus --features kafka-tls)"
cargo test -p skills-bus --features kafka-tls --locked --test sasl_ssl -- --include-ignored

# Licences, bans and sources of every dependency (cargo-deny).
log "dependency checks (deploy/audit.sh)"
./deploy/audit.sh

# The proto contract: buf lint, and buf breaking against proto/BASELINE.
log "proto contract (deploy/proto-check.sh)"
./deploy/proto-check.sh

# The fuzz targets: saved crashes replayed, then 10 s of libFuzzer each.
log "short fuzzing run (deploy/fuzz.sh --quick)"
./deploy/fuzz.sh --quick

# The disclosure audit of the demo data (README, Indicators: "The
# disclosure audit"), for the public and for a partner, on the debug build
# the tests used: a release build of its own would cost a quarter of the
# run on two cores (deploy/disclosure-audit.sh without --quick makes it).
log "disclosure audit of the demo data (deploy/disclosure-audit.sh --quick)"
./deploy/disclosure-audit.sh --quick

# A newcomer's first hour: the demo, every client command of the README
# against it, `skills status`, each binary's --help and --check-config, and
# the compose file's settings; on the debug build too (deploy/first-hour.sh
# without --quick starts the demo with `cargo run --release` itself).
log "first hour (deploy/first-hour.sh --quick)"
./deploy/first-hour.sh --quick

# The fault suite, shortened: every scenario of RELIABILITY.md on a
# private broker and server, at a smaller load (deploy/faults.sh is the
# full one).
log "short fault suite (deploy/faults.sh --quick)"
./deploy/faults.sh --quick

# The benchmarks, shortened, so the bench command cannot rot.
log "quick benchmark check (deploy/bench.sh --quick)"
./deploy/bench.sh --quick

log "all tests passed"
