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
INGEST_METRICS=127.0.0.1:9191
AGGREGATOR_METRICS=127.0.0.1:9192

SENT=$(./target/release/skills send --synthetic --learners "$LEARNERS" --brokers "$SKILLS_KAFKA_BROKERS" --topic-prefix "$PREFIX")
echo "$SENT"
TOTAL=$(sed -n 's/^sent \([0-9]*\) events.*/\1/p' <<<"$SENT")

SKILLS__METRICS__INGEST_LISTEN="$INGEST_METRICS" SKILLS_PSEUDONYM_KEY=$(printf "ab%.0s" $(seq 1 32)) RUST_LOG=warn \
    ./target/release/skills-ingest 2>/tmp/bench-aggregator-ingest.log &
INGEST=$!
trap 'kill $INGEST 2>/dev/null || true' EXIT
wait_for_counter "$INGEST_METRICS" skills_ingest_consumed_total "$TOTAL"
PRODUCED=$(metric "$INGEST_METRICS" skills_ingest_produced_total)
LETTERS=$(curl -fsS "http://$INGEST_METRICS/metrics" | awk '/^skills_ingest_dead_lettered_total\{/ {n += $2} END {print n + 0}')
kill -TERM $INGEST; wait $INGEST || true
RECORDS=$((PRODUCED + LETTERS))
echo "backlog: $PRODUCED normalized events and $LETTERS dead letters"

SKILLS__STORE__KIND=clickhouse SKILLS__STORE__CLICKHOUSE__URL="$SKILLS_CLICKHOUSE_URL" \
SKILLS__STORE__CLICKHOUSE__DATABASE="$DATABASE" SKILLS__METRICS__AGGREGATOR_LISTEN="$AGGREGATOR_METRICS" RUST_LOG=warn \
    ./target/release/skills-aggregator 2>/tmp/bench-aggregator.log &
AGGREGATOR=$!
trap 'kill $AGGREGATOR 2>/dev/null || true' EXIT
wait_for_counter "$AGGREGATOR_METRICS" skills_aggregator_records_total "$RECORDS"
process_usage $AGGREGATOR
BATCHES=$(metric "$AGGREGATOR_METRICS" skills_aggregator_batches_total)
APPLIED=$(metric "$AGGREGATOR_METRICS" skills_aggregator_events_applied_total)
kill -TERM $AGGREGATOR; wait $AGGREGATOR || true
trap - EXIT
curl -fsS "$SKILLS_CLICKHOUSE_URL" --data-binary "DROP DATABASE IF EXISTS $DATABASE" >/dev/null
awk -v n="$RECORDS" -v first="$FIRST" -v s="$START" -v e="$END" -v cpu="$CPU" -v rss="$RSS" -v b="$BATCHES" -v a="$APPLIED" 'BEGIN {
    t = e - s; printf "skills-aggregator: %d records (%d events counted) in %d batches, %.2f s = %.0f records/s (first sample at %d); CPU %.1f s (%.1f CPU-s per million); peak RSS %.0f MiB\n", n, a, b, t, (n - first) / t, first, cpu, cpu * 1e6 / n, rss }'
