#!/usr/bin/env bash
# Ingest throughput on the real broker: sends the synthetic data set to
# fresh raw topics, runs one release `skills-ingest`, and reports raw events
# per second from its first to its last batch (read from its /metrics).
#
#   deploy/bench-ingest.sh [learners]      (default 40000 learners ≈ 190k events)
set -euo pipefail
cd "$(dirname "$0")/.."
LEARNERS="${1:-40000}"
eval "$(./deploy/infra.sh up 2>/dev/null)"
cargo build --release --locked -p skills -p skills-ingest >&2
PREFIX="bench-$(date +%s)."
METRICS=127.0.0.1:9191

SENT=$(./target/release/skills send --synthetic --learners "$LEARNERS" --brokers "$SKILLS_KAFKA_BROKERS" --topic-prefix "$PREFIX")
echo "$SENT"
TOTAL=$(sed -n 's/^sent \([0-9]*\) events.*/\1/p' <<<"$SENT")

SKILLS__BUS__KIND=kafka SKILLS__BUS__KAFKA__BROKERS="$SKILLS_KAFKA_BROKERS" \
SKILLS__INGEST__GROUP_ID="${PREFIX}ingest" \
SKILLS__INGEST__RAW_TOPICS="[\"${PREFIX}skills.enrolments.v1\", \"${PREFIX}skills.assessments.v1\", \"${PREFIX}skills.demand.v1\"]" \
SKILLS__INGEST__NORMALIZED_TOPIC="${PREFIX}skills.events.v1" SKILLS__INGEST__DEAD_LETTER_TOPIC="${PREFIX}skills.dlq.v1" \
SKILLS__METRICS__INGEST_LISTEN="$METRICS" \
SKILLS_PSEUDONYM_KEY=$(printf "ab%.0s" $(seq 1 32)) RUST_LOG=warn \
    ./target/release/skills-ingest 2>/tmp/bench-ingest.log &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT

consumed() { curl -fsS "http://$METRICS/metrics" 2>/dev/null | sed -n 's/^skills_ingest_consumed_total \([0-9]*\)/\1/p'; }
START=""
while :; do
    N=$(consumed || true)
    NOW=$(date +%s.%N)
    if [[ -n "$N" && "$N" -gt 0 && -z "$START" ]]; then START=$NOW; FIRST=$N; fi
    if [[ -n "$N" && "$N" -ge "$TOTAL" ]]; then END=$NOW; break; fi
    sleep 0.05
done
CPU=$(awk '{print ($14+$15)/100}' "/proc/$PID/stat")
RSS=$(awk '/VmHWM/ {print $2/1024 " MiB"}' "/proc/$PID/status")
kill -TERM $PID; wait $PID || true
trap - EXIT
awk -v n="$TOTAL" -v first="$FIRST" -v s="$START" -v e="$END" -v cpu="$CPU" -v rss="$RSS" 'BEGIN {
    t = e - s; printf "skills-ingest: %d raw events in %.2f s = %.0f events/s (first sample at %d); CPU %.1f s (%.1f CPU-s per million); peak RSS %s\n", n, t, (n - first) / t, first, cpu, cpu * 1e6 / n, rss }'
