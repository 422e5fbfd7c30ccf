#!/usr/bin/env bash
# Ingest throughput on the real broker: sends the synthetic data set to
# fresh raw topics, runs one release `skills-ingest`, and reports raw events
# per second from its first to its last batch (read from its /metrics).
#
#   deploy/bench-ingest.sh [learners]      (default 40000 learners ≈ 190k events)
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib/bench.sh
LEARNERS="${1:-40000}"
eval "$(./deploy/infra.sh up 2>/dev/null)"
cargo build --release --locked -p skills -p skills-ingest >&2
PREFIX="bench-$(date +%s)."
export_bench_topics "$PREFIX"

send_synthetic "$LEARNERS" "$PREFIX"
ingest_all 127.0.0.1:9191
awk -v n="$TOTAL" -v first="$FIRST" -v s="$START" -v e="$END" -v cpu="$CPU" -v rss="$RSS" 'BEGIN {
    t = e - s; printf "skills-ingest: %d raw events in %.2f s = %.0f events/s (first sample at %d); CPU %.1f s (%.1f CPU-s per million); peak RSS %.0f MiB\n", n, t, (n - first) / t, first, cpu, cpu * 1e6 / n, rss }'
