#!/usr/bin/env bash
# The benchmarks, side by side with their baselines, on this machine: starts
# Kafka and ClickHouse (deploy/infra.sh), builds the release binaries, runs
# each scenario several times, prints the table of medians, spreads and
# ratios, and writes it with the machine and the command into BENCHMARKS.md;
# raw measurements go to bench-results/<time>.jsonl.
#
#   deploy/bench.sh [runs] [learners]       (default 3 runs, 40000 learners ≈ 190k raw events)
#   deploy/bench.sh --quick                 (1 run, 2000 learners, debug build, no BENCHMARKS.md: the
#                                            test suite's check that every scenario still runs and reports)
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib/bench.sh
QUICK=0
if [[ "${1:-}" == --quick ]]; then QUICK=1; RUNS=1; LEARNERS=2000; else RUNS="${1:-3}"; LEARNERS="${2:-40000}"; fi
COMMAND="deploy/bench.sh $*"
eval "$(./deploy/infra.sh up 2>/dev/null)"
if ((QUICK)); then
    BIN_DIR=./target/debug
    cargo build --locked -p skills -p skills-ingest -p skills-bench >&2
else
    cargo build --release --locked -p skills -p skills-ingest -p skills-bench >&2
fi
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
PREFIX="bench-$(date +%s)."
RESULTS="target/bench/run-$STAMP.jsonl"
mkdir -p target/bench
: >"$RESULTS"
RAW_TOPICS=("${PREFIX}skills.enrolments.v1" "${PREFIX}skills.assessments.v1" "${PREFIX}skills.demand.v1")

# scenario, system, run, value, cpu seconds, rss MiB, events
record() {
    python3 -c 'import json, sys
s, system, run, value, cpu, rss, n = sys.argv[1:8]
print(json.dumps({"scenario": s, "system": system, "run": int(run), "value": float(value),
                  "cpu_s_per_million": float(cpu) * 1e6 / float(n), "rss_mib": float(rss)}))' "$@" >>"$RESULTS"
}

export_bench_topics "$PREFIX"
send_synthetic "$LEARNERS" "$PREFIX"

for run in $(seq 1 "$RUNS"); do
    echo "== scenario 1, run $run/$RUNS" >&2
    SKILLS__INGEST__GROUP_ID="${PREFIX}ingest-$run" SKILLS__INGEST__NORMALIZED_TOPIC="${PREFIX}normalized-$run" \
    SKILLS__INGEST__DEAD_LETTER_TOPIC="${PREFIX}dlq-$run" ingest_all 127.0.0.1:9191
    RATE=$(awk -v n="$TOTAL" -v first="$FIRST" -v s="$START" -v e="$END" 'BEGIN { print (n - first) / (e - s) }')
    record "1. ingest" skills-ingest "$run" "$RATE" "$CPU" "$RSS" "$TOTAL"
    BARE=$("$BIN_DIR"/bare-passthrough "$SKILLS_KAFKA_BROKERS" "${PREFIX}bare-$run" "${PREFIX}copy-$run" "$TOTAL" "${RAW_TOPICS[@]}")
    python3 -c 'import json, sys
b = json.loads(sys.argv[1]); print(b["per_second"], b["cpu_seconds"], b["rss_mib"])' "$BARE" | {
        read -r rate cpu rss
        record "1. ingest" "bare rdkafka loop" "$run" "$rate" "$cpu" "$rss" "$TOTAL"
    }
done

echo "== scenario 3, $RUNS runs" >&2
"$BIN_DIR"/clickhouse-sink "$SKILLS_CLICKHOUSE_URL" "$LEARNERS" 20000 "$RUNS" >>"$RESULTS"

if ((QUICK)); then
    python3 deploy/lib/bench_report.py "$RESULTS" /dev/null "$COMMAND" "$RESULTS" --check
else
    mkdir -p bench-results
    cp "$RESULTS" "bench-results/$STAMP.jsonl"
    python3 deploy/lib/bench_report.py "$RESULTS" BENCHMARKS.md "$COMMAND" "bench-results/$STAMP.jsonl"
fi
