#!/usr/bin/env bash
# Query service throughput and latency with ghz (the standard gRPC load
# tool, built by deploy/tools.sh), on ClickHouse: loads the synthetic data
# set into a fresh database through the real pipeline (skills send →
# skills-ingest → skills-aggregator), starts one release `skills-query` on
# it, and loads GetRegionIndicators twice:
#   cached   — the normal configuration: every call after the first is
#              served from the per-period cache;
#   uncached — query.cache = false: every call reads ClickHouse.
# Prints requests/s and p50/p99 latency for each; ghz's JSON reports are
# kept in target/bench/.
#
#   deploy/bench-query.sh [learners] [concurrency]     (default 20000 learners, 50 concurrent cached calls)
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib/bench.sh
LEARNERS="${1:-20000}"
CONCURRENCY="${2:-50}"
CACHED_CALLS="${SKILLS_BENCH_CACHED_CALLS:-100000}"
UNCACHED_CALLS="${SKILLS_BENCH_UNCACHED_CALLS:-100}"
# An uncached call is one counters query on ClickHouse (≈ 0.4 s for a year
# on 18.16 here); more concurrent ones than its cores only queue.
UNCACHED_CONCURRENCY="${SKILLS_BENCH_UNCACHED_CONCURRENCY:-4}"
eval "$(./deploy/infra.sh up 2>/dev/null)"
TOOLS="$(./deploy/tools.sh ghz grpcurl)"
cargo build --release --locked -p skills -p skills-ingest -p skills-aggregator -p skills-query >&2
STAMP="$(date +%s)"
PREFIX="bench-$STAMP."
DATABASE="bench_$STAMP"
OUT="target/bench/query-$STAMP"
mkdir -p "$OUT"
export_bench_topics "$PREFIX"

send_synthetic "$LEARNERS" "$PREFIX"
ingest_all 127.0.0.1:9191
aggregate_all 127.0.0.1:9192 "$DATABASE"
echo "loaded: $APPLIED events into ClickHouse database $DATABASE" >&2

TOKEN="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
echo "policy $TOKEN" >"$OUT/tokens"
ADDRESS=127.0.0.1:50151
CALL=skills.v1.TalentGapService/GetRegionIndicators
BODY='{"region":"84","period":"2025"}'

# $1: label, $2: query.cache, $3: calls, $4: concurrency. Starts
# skills-query, waits until it answers, runs ghz, stops it.
QUERY_PID=""
trap '[[ -n "$QUERY_PID" ]] && kill $QUERY_PID 2>/dev/null || true' EXIT
load() {
    local label="$1" cache="$2" calls="$3" concurrency="$4" pid
    SKILLS__STORE__KIND=clickhouse SKILLS__STORE__CLICKHOUSE__URL="$SKILLS_CLICKHOUSE_URL" \
    SKILLS__STORE__CLICKHOUSE__DATABASE="$DATABASE" SKILLS__QUERY__LISTEN="$ADDRESS" SKILLS__METRICS__QUERY_LISTEN="" \
    SKILLS__QUERY__TOKENS_FILE="$OUT/tokens" SKILLS__QUERY__CACHE="$cache" SKILLS__QUERY__MAX_CONCURRENT_REQUESTS=1024 \
    SKILLS__QUERY__LIMITS__POLICY__RATE_PER_S=0 SKILLS__QUERY__LIMITS__POLICY__CONCURRENT_PER_CALLER=1024 \
    SKILLS__QUERY__LIMITS__POLICY__CONCURRENT=1024 \
    RUST_LOG=warn ./target/release/skills-query 2>>"$OUT/query.log" &
    pid=$!
    QUERY_PID=$pid
    for _ in $(seq 1 100); do
        "$TOOLS/grpcurl" -plaintext -H "authorization: Bearer $TOKEN" -d "$BODY" "$ADDRESS" "$CALL" >/dev/null 2>&1 && break
        sleep 0.1
    done
    "$TOOLS/ghz" --insecure --call "$CALL" -d "$BODY" --metadata "{\"authorization\":\"Bearer $TOKEN\"}" \
        -c "$concurrency" -n "$calls" --format json "$ADDRESS" >"$OUT/$label.json"
    process_usage $pid
    kill -TERM $pid
    wait $pid || true
    QUERY_PID=""
    python3 - "$OUT/$label.json" "$label" "$CPU" "$RSS" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
latency = {p["percentage"]: p["latency"] / 1e6 for p in report.get("latencyDistribution") or []}
errors = sum(report.get("statusCodeDistribution", {}).get(code, 0) for code in report.get("statusCodeDistribution", {}) if code != "OK")
print(f"{sys.argv[2]:>9}: {report['count']} calls, {report['options']['concurrency']} concurrent, {report['rps']:.0f} requests/s, "
      f"p50 {latency.get(50, float('nan')):.2f} ms, p99 {latency.get(99, float('nan')):.2f} ms, "
      f"errors {errors}; skills-query CPU {float(sys.argv[3]):.1f} s, peak RSS {float(sys.argv[4]):.0f} MiB")
PY
}

echo "ghz: $CALL $BODY, ClickHouse 18.16 at $SKILLS_CLICKHOUSE_URL ($LEARNERS learners, $APPLIED events)"
load cached true "$CACHED_CALLS" "$CONCURRENCY"
load uncached false "$UNCACHED_CALLS" "$UNCACHED_CONCURRENCY"
drop_database "$DATABASE"
echo "ghz reports: $OUT" >&2
