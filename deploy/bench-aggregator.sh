#!/usr/bin/env bash
# Aggregator throughput on the real broker and ClickHouse: sends the
# synthetic data set to fresh topics, lets one release `skills-ingest` turn
# it into a backlog of normalized events, then runs one release
# `skills-aggregator` into a fresh ClickHouse database and reports records
# per second from its first to its last batch (read from its /metrics),
# with its CPU time and peak memory.
#
#   deploy/bench-aggregator.sh [learners]      (default 40000 learners ≈ 190k events)
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib/bench.sh
LEARNERS="${1:-40000}"
eval "$(./deploy/infra.sh up 2>/dev/null)"
cargo build --release --locked -p skills -p skills-ingest -p skills-aggregator >&2
PREFIX="bench-$(date +%s)."
DATABASE="bench_$(date +%s)"
export_bench_topics "$PREFIX"

send_synthetic "$LEARNERS" "$PREFIX"
ingest_all 127.0.0.1:9191
echo "backlog: $PRODUCED normalized events and $LETTERS dead letters"
aggregate_all 127.0.0.1:9192 "$DATABASE"
drop_database "$DATABASE"
awk -v n="$((PRODUCED + LETTERS))" -v first="$FIRST" -v s="$START" -v e="$END" -v cpu="$CPU" -v rss="$RSS" -v b="$BATCHES" -v a="$APPLIED" 'BEGIN {
    t = e - s; printf "skills-aggregator: %d records (%d events counted) in %d batches, %.2f s = %.0f records/s (first sample at %d); CPU %.1f s (%.1f CPU-s per million); peak RSS %.0f MiB\n", n, a, b, t, (n - first) / t, first, cpu, cpu * 1e6 / n, rss }'
