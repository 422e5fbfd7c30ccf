#!/usr/bin/env bash
# The benchmarks, side by side with their baselines, on this machine: starts
# Kafka and ClickHouse (deploy/infra.sh), builds the release binaries, runs
# each scenario several times, prints the table of medians, spreads and
# ratios, and writes it with the machine and the command into BENCHMARKS.md;
# raw measurements go to bench-results/<time>.jsonl. Each ClickHouse
# scenario run starts on a fresh private server (deploy/lib/bench.sh).
#
#   deploy/bench.sh [runs] [learners]       (default 3 runs, 40000 learners ≈ 190k raw events)
#   deploy/bench.sh --quick                 (1 run, 2000 learners, debug build, no BENCHMARKS.md: the
#                                            test suite's check that every scenario still runs and reports)
#   deploy/bench.sh --only 8[,3...] [...]   (only these scenarios, before the other arguments; in
#                                            BENCHMARKS.md their rows replace those of the run it
#                                            names, the other rows stay, and its command line says so;
#                                            scenario 4 reads scenario 2's database: --only 2,4;
#                                            without scenario 1, the dead-letter topic that scenarios
#                                            2 and 6 read holds nothing)
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib/bench.sh
COMMAND="deploy/bench.sh $*"
ONLY=""
if [[ "${1:-}" == --only ]]; then
    ONLY="${2:?--only needs scenario numbers, e.g. --only 8}"
    shift 2
    [[ "$ONLY" =~ ^[1-8](,[1-8])*$ ]] || { echo "--only $ONLY: scenario numbers 1 to 8, comma-separated" >&2; exit 2; }
    if [[ ",$ONLY," == *,4,* && ",$ONLY," != *,2,* ]]; then
        echo "--only $ONLY: scenario 4 reads scenario 2's database; add 2" >&2
        exit 2
    fi
fi
# Whether scenario $1 runs (every one without --only).
wanted() { [[ -z "$ONLY" || ",$ONLY," == *",$1,"* ]]; }
QUICK=0
if [[ "${1:-}" == --quick ]]; then QUICK=1; RUNS=1; LEARNERS=2000; else RUNS="${1:-3}"; LEARNERS="${2:-40000}"; fi
if { ((QUICK)) && [[ $# -gt 1 ]]; } || [[ ! "$RUNS" =~ ^[0-9]+$ || ! "$LEARNERS" =~ ^[0-9]+$ ]]; then
    echo "usage: deploy/bench.sh [--only N[,N...]] [--quick | RUNS [LEARNERS]]" >&2
    exit 2
fi
eval "$(./deploy/infra.sh up 2>/dev/null)"
if ((QUICK)); then
    BIN_DIR=./target/debug
    cargo build --locked -p skills -p skills-ingest -p skills-aggregator -p skills-query -p skills-gateway -p skills-bench >&2
    PROBE_RATE=50 PROBE_SECONDS=4 QUERY_SECONDS=3 QUERY_CONCURRENCY=50 UNCACHED_CALLS=10
    FRESH_SECONDS=5 SCALE_LEARNERS="500 1000 2000"
    READ_CALLS=20 READ_LEARNERS="500 1000 2000" AGGREGATION_LEARNERS=2000
else
    cargo build --release --locked -p skills -p skills-ingest -p skills-aggregator -p skills-query -p skills-gateway -p skills-bench >&2
    PROBE_RATE=200 PROBE_SECONDS=20 QUERY_SECONDS=15 QUERY_CONCURRENCY=50 UNCACHED_CALLS=40
    FRESH_SECONDS=30 SCALE_LEARNERS="10000 100000 1000000"
    READ_CALLS=400 READ_LEARNERS="10000 100000 1000000" AGGREGATION_LEARNERS=$((LEARNERS * 5))
fi
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
PREFIX="bench-$(date +%s)."
RESULTS="target/bench/run-$STAMP.jsonl"
mkdir -p target/bench
: >"$RESULTS"
RAW_TOPICS=("${PREFIX}skills.enrolments.v1" "${PREFIX}skills.assessments.v1" "${PREFIX}skills.demand.v1")

# scenario, system, run, value, cpu seconds, rss MiB, events [, p99 ms [, rate of the p99's load]]
record() {
    python3 -c 'import json, sys
s, system, run, value, cpu, rss, n = sys.argv[1:8]
row = {"scenario": s, "system": system, "run": int(run), "value": float(value),
       "cpu_s_per_million": float(cpu) * 1e6 / float(n), "rss_mib": float(rss)}
if len(sys.argv) > 8: row["p99_ms"] = float(sys.argv[8])
if len(sys.argv) > 9: row["p99_at_events_per_second"] = float(sys.argv[9])
print(json.dumps(row))' "$@" >>"$RESULTS"
}
declare -A CAPACITY_CPU

# One field of a JSON object.
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# The services' Kafka settings (SKILLS__BUS__*) and the raw topics' names.
export_bench_topics "$PREFIX"
if wanted 1; then
send_synthetic "$LEARNERS" "$PREFIX"
for run in $(seq 1 "$RUNS"); do
    echo "== scenario 1, run $run/$RUNS" >&2
    SKILLS__INGEST__GROUP_ID="${PREFIX}ingest-$run" SKILLS__INGEST__NORMALIZED_TOPIC="${PREFIX}normalized-$run" \
    SKILLS__INGEST__DEAD_LETTER_TOPIC="${PREFIX}dlq-$run" ingest_all 127.0.0.1:9191
    RATE=$(awk -v n="$TOTAL" -v first="$FIRST" -v s="$START" -v e="$END" 'BEGIN { print (n - first) / (e - s) }')
    record "1. ingest" skills-ingest "$run" "$RATE" "$CPU" "$RSS" "$TOTAL"
    BARE=$("$BIN_DIR"/bare-passthrough "$SKILLS_KAFKA_BROKERS" "${PREFIX}bare-$run" "${PREFIX}copy-$run" "$TOTAL" "${RAW_TOPICS[@]}")
    record "1. ingest" "bare rdkafka loop" "$run" "$(field "$BARE" per_second)" "$(field "$BARE" cpu_seconds)" \
        "$(field "$BARE" rss_mib)" "$TOTAL"
done
fi

# Scenario 2 reads a backlog of normalized events (the synthetic set at
# AGGREGATION_LEARNERS, normalized as ingest does): the aggregator as it is,
# the Kafka engine from a JSON copy of it (ClickHouse 18.16 reads no
# protobuf). Five times scenario 1's learners, so that each system works
# for seconds, not only starts up and joins its group: at 40,000 learners
# (4 s each) the ratio swung 1.37–1.90 between runs.
# Every ClickHouse scenario run, for each system, starts on a fresh server.
trap 'stop_fresh_clickhouse' EXIT
if wanted 2; then
NORMALIZED="${PREFIX}normalized-aggregation"
BACKLOG=$("$BIN_DIR"/normalized-feed "$SKILLS_KAFKA_BROKERS" "$NORMALIZED" "$AGGREGATION_LEARNERS")
"$BIN_DIR"/kafka-engine to-json "$SKILLS_KAFKA_BROKERS" "$NORMALIZED" "${PREFIX}normalized-json" "$BACKLOG" >&2
for run in $(seq 1 "$RUNS"); do
    echo "== scenario 2, run $run/$RUNS" >&2
    OURS="bench_agg_${STAMP}_$run" ENGINE="bench_engine_${STAMP}_$run"
    fresh_clickhouse
    STARTED=$(date +%s.%N) SERVER_CPU=$(cpu_of "$CLICKHOUSE_PID")
    SKILLS__AGGREGATOR__GROUP_ID="${PREFIX}aggregator-$run" SKILLS__AGGREGATOR__NORMALIZED_TOPIC="$NORMALIZED" \
    SKILLS__AGGREGATOR__DEAD_LETTER_TOPIC="${PREFIX}dlq-1" start_aggregator 127.0.0.1:9192 "$OURS"
    WAIT=$("$BIN_DIR"/kafka-engine wait "$SKILLS_CLICKHOUSE_URL" "$OURS" "$BACKLOG" "$STARTED" \
        "$AGGREGATOR_PID:0" "$CLICKHOUSE_PID:$SERVER_CPU")
    # The server's share of that CPU, against the engine's (all the server's).
    SERVER_SHARE=$(awk -v a="$SERVER_CPU" -v b="$(cpu_of "$CLICKHOUSE_PID")" 'BEGIN { print b - a }')
    PROBE=$("$BIN_DIR"/kafka-engine probe "$SKILLS_CLICKHOUSE_URL" "$OURS" "$SKILLS_KAFKA_BROKERS" "$NORMALIZED" proto \
        "$PROBE_RATE" "$PROBE_SECONDS")
    process_usage "$AGGREGATOR_PID"
    kill -TERM "$AGGREGATOR_PID"; wait "$AGGREGATOR_PID" || true
    echo "skills-aggregator: $WAIT $PROBE" >&2
    record "2. aggregation" skills-aggregator "$run" "$(field "$WAIT" per_second)" "$(field "$WAIT" cpu_seconds)" \
        "$RSS" "$BACKLOG" "$(field "$PROBE" p99_ms)"
    record "2. aggregation" "ClickHouse server, for skills-aggregator" "$run" "$(field "$WAIT" per_second)" \
        "$SERVER_SHARE" 0 "$BACKLOG"
    # Our rows stay on this server for the comparison below (and for
    # scenario 4): the engine starts once the merges they caused are done.
    drain_merges
    STARTED=$(date +%s.%N) SERVER_CPU=$(cpu_of "$CLICKHOUSE_PID")
    "$BIN_DIR"/kafka-engine engine-up "$SKILLS_CLICKHOUSE_URL" "$ENGINE" "$SKILLS_KAFKA_BROKERS" \
        "${PREFIX}normalized-json" "${PREFIX}engine-$run"
    WAIT=$("$BIN_DIR"/kafka-engine wait "$SKILLS_CLICKHOUSE_URL" "$ENGINE" "$BACKLOG" "$STARTED" \
        "$CLICKHOUSE_PID:$SERVER_CPU")
    PROBE=$("$BIN_DIR"/kafka-engine probe "$SKILLS_CLICKHOUSE_URL" "$ENGINE" "$SKILLS_KAFKA_BROKERS" \
        "${PREFIX}normalized-json" json "$PROBE_RATE" "$PROBE_SECONDS")
    "$BIN_DIR"/kafka-engine engine-down "$SKILLS_CLICKHOUSE_URL" "$ENGINE"
    echo "Kafka engine: $WAIT $PROBE" >&2
    record "2. aggregation" "ClickHouse Kafka engine + MV" "$run" "$(field "$WAIT" per_second)" \
        "$(field "$WAIT" cpu_seconds)" 0 "$BACKLOG" "$(field "$PROBE" p99_ms)"
    # Same events, same rows: the comparison is only worth its ratio if so.
    "$BIN_DIR"/kafka-engine compare "$SKILLS_CLICKHOUSE_URL" "$OURS" "$ENGINE" >&2
    drop_database "$ENGINE"
    # The last run's database is what scenario 4 queries.
    if ((run < RUNS)); then drop_database "$OURS"; fi
done
fi

# Scenario 4: skills-query on scenario 2's database (with skills-model's
# copy of it, as a ClickHouse deployment reads), a cached indicator call
# against tonic's hello-world Greeter, under the same ghz load (one
# connection, QUERY_CONCURRENCY concurrent calls, QUERY_SECONDS each).
TOOLS="$(./deploy/tools.sh ghz)"
TOKEN="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
echo "policy $TOKEN" >"target/bench/tokens-$STAMP"
METADATA="{\"authorization\":\"Bearer $TOKEN\"}"
CALL=skills.v1.TalentGapService/GetRegionIndicators BODY='{"region":"84","period":"2025"}'
QUERY_PID="" HELLO_PID=""
trap 'for p in $QUERY_PID $HELLO_PID; do kill "$p" 2>/dev/null || true; done; stop_fresh_clickhouse' EXIT

# Starts skills-query (query.cache = $1) on database $2, listening on $3,
# and waits until it answers; sets QUERY_PID.
start_query() {
    SKILLS__STORE__KIND=clickhouse SKILLS__STORE__CLICKHOUSE__URL="$SKILLS_CLICKHOUSE_URL" \
    SKILLS__STORE__CLICKHOUSE__DATABASE="$2" SKILLS__QUERY__LISTEN="$3" SKILLS__METRICS__QUERY_LISTEN="" \
    SKILLS__QUERY__TOKENS_FILE="target/bench/tokens-$STAMP" SKILLS__QUERY__CACHE="$1" \
    SKILLS__QUERY__MAX_CONCURRENT_REQUESTS=1024 SKILLS__QUERY__LIMITS__POLICY__RATE_PER_S=0 \
    SKILLS__QUERY__LIMITS__POLICY__CONCURRENT_PER_CALLER=1024 SKILLS__QUERY__LIMITS__POLICY__CONCURRENT=1024 RUST_LOG=warn "$BIN_DIR"/skills-query 2>>/tmp/skills-bench-query.log &
    QUERY_PID=$!
    for _ in $(seq 1 100); do
        "$TOOLS/ghz" --insecure --call "$CALL" -d "$BODY" --metadata "$METADATA" -n 1 "$3" 2>/dev/null | grep -q "OK" \
            && return 0
        kill -0 "$QUERY_PID" 2>/dev/null || break
        sleep 0.2
    done
    echo "skills-query did not answer on $3; see /tmp/skills-bench-query.log" >&2; exit 1
}

# ghz with $@; records scenario $SCENARIO (default 4) for system $SYSTEM,
# run $RUN, CPU of $PID.
ghz_record() {
    local before report="target/bench/ghz-$STAMP-$BASHPID.json"
    before=$(cpu_of "$PID")
    # ghz shares the 2 cores with the server: its own CPU is kept too.
    load_cpu=$(python3 -c 'import resource, subprocess, sys
with open(sys.argv[1], "w") as out: subprocess.run(sys.argv[2:], stdout=out, check=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN); print(usage.ru_utime + usage.ru_stime)' \
        "$report" "$TOOLS/ghz" --insecure --format json "$@")
    process_usage "$PID"
    python3 - "$report" "$SYSTEM" "$RUN" "$(awk -v a="$CPU" -v b="$before" 'BEGIN {print a - b}')" "$RSS" \
        "$load_cpu" "${SCENARIO:-4. query}" >>"$RESULTS" <<'PY'
import json, sys
report, system, run, cpu, rss = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
load_cpu, scenario = float(sys.argv[6]), sys.argv[7]
codes = report.get("statusCodeDistribution") or {}
# A timed run (-z) ends with the calls in flight cut off: at most one per
# concurrent worker, reported Unavailable or Canceled. Anything else fails.
cut_off = sum(n for code, n in codes.items() if code in ("Unavailable", "Canceled"))
others = sum(n for code, n in codes.items() if code not in ("OK", "Unavailable", "Canceled"))
if others or cut_off > report["options"]["concurrency"] or not codes.get("OK"):
    sys.exit(f"{system}: ghz saw errors {codes}")
p99 = next(p["latency"] / 1e6 for p in report["latencyDistribution"] if p["percentage"] == 99)
row = {"scenario": scenario, "system": system, "run": run, "value": report["rps"],
       "cpu_s_per_million": cpu * 1e6 / report["count"], "rss_mib": rss, "p99_ms": p99,
       "load_tool_cpu_s_per_million": load_cpu * 1e6 / report["count"]}
if scenario != "4. query":
    row["unit"] = "calls/s"
print(json.dumps(row))
PY
}

MODEL_PID=""
trap 'for p in $QUERY_PID $HELLO_PID $MODEL_PID; do kill "$p" 2>/dev/null || true; done; stop_fresh_clickhouse' EXIT
if wanted 4; then
echo "skills-model copied scenario 2's database in $(build_model_copy "$OURS") s" >&2
start_query true "$OURS" 127.0.0.1:50151
"$BIN_DIR"/hello-server 127.0.0.1:50152 &
HELLO_PID=$!
sleep 0.5
for RUN in $(seq 1 "$RUNS"); do
    echo "== scenario 4, run $RUN/$RUNS" >&2
    SYSTEM="skills-query (cached)" PID=$QUERY_PID ghz_record --call "$CALL" -d "$BODY" --metadata "$METADATA" \
        -c "$QUERY_CONCURRENCY" -z "${QUERY_SECONDS}s" 127.0.0.1:50151
    SYSTEM="tonic hello-world" PID=$HELLO_PID ghz_record --proto bench/proto/helloworld.proto \
        --call helloworld.Greeter.SayHello -d '{"name":"bench"}' --metadata "$METADATA" \
        -c "$QUERY_CONCURRENCY" -z "${QUERY_SECONDS}s" 127.0.0.1:50152
done
kill -TERM "$QUERY_PID" "$HELLO_PID"; wait "$QUERY_PID" "$HELLO_PID" || true
# Beside it, not against a baseline: every call reads ClickHouse, at most
# as many at once as it has cores to run them.
start_query false "$OURS" 127.0.0.1:50151
for RUN in $(seq 1 "$RUNS"); do
    SYSTEM="skills-query (uncached)" PID=$QUERY_PID ghz_record --call "$CALL" -d "$BODY" --metadata "$METADATA" \
        -c 2 -n "$UNCACHED_CALLS" 127.0.0.1:50151
done
kill -TERM "$QUERY_PID"; wait "$QUERY_PID" || true
QUERY_PID=""
fi
if wanted 2; then drop_database "$OURS"; fi

# Scenario 5: the four services together on fresh topics and database.
# Capacity: the synthetic set sent at once, from ingest's first event to
# the last record stored by both the aggregator and skills-model.
# Freshness: then new learners sent at a steady half of that capacity
# while the probes time postings from send to served; CPU of every
# process (the broker's and ClickHouse's too) over the capacity window,
# peak memory of each service over both.
INGEST_PID="" AGGREGATOR_PID="" MODEL_PID=""
trap 'for p in $QUERY_PID $HELLO_PID $INGEST_PID $AGGREGATOR_PID $MODEL_PID; do kill "$p" 2>/dev/null || true; done; stop_fresh_clickhouse' EXIT
BROKER_PID=$(kafka_pid)
for RUN in $(seq 1 "$RUNS"); do
    wanted 5 || break
    echo "== scenario 5, run $RUN/$RUNS" >&2
    fresh_clickhouse
    E2E="${PREFIX}e2e-$RUN." DB="bench_e2e_${STAMP}_$RUN"
    export_bench_topics "$E2E"
    start_ingest 127.0.0.1:9191
    start_aggregator 127.0.0.1:9192 "$DB"
    start_model 127.0.0.1:9193 "$DB"
    start_query true "$DB" 127.0.0.1:50153
    BROKER_CPU=$(cpu_of "$BROKER_PID") SERVER_CPU=$(cpu_of "$CLICKHOUSE_PID")
    send_synthetic "$LEARNERS" "$E2E"
    wait_for_counter 127.0.0.1:9191 '^skills_ingest_(produced|duplicates|dead_lettered)_total' "$TOTAL"
    PIPELINE_START=$START
    TARGET=$(metric_sum 127.0.0.1:9191 '^skills_ingest_(produced|dead_lettered)_total')
    NORMALIZED_EVENTS=$(metric 127.0.0.1:9191 skills_ingest_produced_total)
    wait_for_counter 127.0.0.1:9192 '^skills_aggregator_records_total$' "$TARGET"
    wait_for_counter 127.0.0.1:9193 '^skills_model_records_total$' "$NORMALIZED_EVENTS"
    CAPACITY=$(awk -v n="$TOTAL" -v s="$PIPELINE_START" -v e="$END" 'BEGIN { print n / (e - s) }')
    BROKER_CPU=$(awk -v a="$BROKER_CPU" -v b="$(cpu_of "$BROKER_PID")" 'BEGIN { print b - a }')
    SERVER_CPU=$(awk -v a="$SERVER_CPU" -v b="$(cpu_of "$CLICKHOUSE_PID")" 'BEGIN { print b - a }')
    record "5. end to end" "Kafka broker" "$RUN" "$CAPACITY" "$BROKER_CPU" 0 "$TOTAL"
    record "5. end to end" "ClickHouse server" "$RUN" "$CAPACITY" "$SERVER_CPU" 0 "$TOTAL"
    for service in ingest:$INGEST_PID aggregator:$AGGREGATOR_PID model:$MODEL_PID query:$QUERY_PID; do
        CAPACITY_CPU[${service%%:*}]=$(cpu_of "${service#*:}")
    done
    FRESH_RATE=$(awk -v c="$CAPACITY" -v q="$QUICK" 'BEGIN { printf "%d", q ? 500 : c / 2 }')
    # A dashboard polling the cached call 10 times a second, idle, then
    # while the steady load streams in (skills-query in its own process).
    SCENARIO="5. end to end" SYSTEM="dashboard, cached call 10/s, idle" PID=$QUERY_PID ghz_record --call "$CALL" \
        -d "$BODY" --metadata "$METADATA" --rps 10 -c 1 -z "${FRESH_SECONDS}s" 127.0.0.1:50153
    SCENARIO="5. end to end" SYSTEM="dashboard, cached call 10/s, under the steady load" PID=$QUERY_PID \
        ghz_record --call "$CALL" -d "$BODY" --metadata "$METADATA" --rps 10 -c 1 -z "${FRESH_SECONDS}s" \
        127.0.0.1:50153 &
    DASHBOARD=$!
    "$BIN_DIR"/skills send --synthetic --first-learner "$LEARNERS" --learners "$((LEARNERS * 2))" --rate "$FRESH_RATE" \
        --brokers "$SKILLS_KAFKA_BROKERS" --topic-prefix "$E2E" >/dev/null 2>&1 &
    SENDER=$!
    FRESH=$("$BIN_DIR"/freshness-probe "$SKILLS_KAFKA_BROKERS" "${E2E}skills.demand.v1" http://127.0.0.1:50153 \
        "$TOKEN" "$FRESH_SECONDS")
    wait "$DASHBOARD"
    kill "$SENDER" 2>/dev/null || true
    wait "$SENDER" || true
    echo "pipeline: $TOTAL raw events at $CAPACITY events/s; freshness at $FRESH_RATE events/s: $FRESH" >&2
    for service in ingest:$INGEST_PID aggregator:$AGGREGATOR_PID model:$MODEL_PID query:$QUERY_PID; do
        process_usage "${service#*:}"
        record "5. end to end" "skills-${service%%:*}" "$RUN" "$CAPACITY" "${CAPACITY_CPU[${service%%:*}]}" "$RSS" \
            "$TOTAL" "$(field "$FRESH" p99_ms)" "$FRESH_RATE"
    done
    kill -TERM "$INGEST_PID" "$AGGREGATOR_PID" "$MODEL_PID" "$QUERY_PID"
    wait "$INGEST_PID" "$AGGREGATOR_PID" "$MODEL_PID" "$QUERY_PID" || true
    rm -f "$MODEL_STATE" "$MODEL_STATE-wal" "$MODEL_STATE-shm"
    INGEST_PID="" AGGREGATOR_PID="" MODEL_PID="" QUERY_PID=""
    drop_database "$DB"
done

# Scenario 6: the aggregator alone on backlogs of normalized events from
# the synthetic set at growing numbers of distinct learners.
for learners in $SCALE_LEARNERS; do
    wanted 6 || break
    echo "== scenario 6, $learners learners" >&2
    fresh_clickhouse
    TOPIC="${PREFIX}scale-$learners" DB="bench_scale_${STAMP}_$learners"
    EVENTS=$("$BIN_DIR"/normalized-feed "$SKILLS_KAFKA_BROKERS" "$TOPIC" "$learners")
    STARTED=$(date +%s.%N) SERVER_CPU=$(cpu_of "$CLICKHOUSE_PID")
    SKILLS__AGGREGATOR__GROUP_ID="${PREFIX}scale-$learners" SKILLS__AGGREGATOR__NORMALIZED_TOPIC="$TOPIC" \
    SKILLS__AGGREGATOR__DEAD_LETTER_TOPIC="${PREFIX}dlq-1" start_aggregator 127.0.0.1:9192 "$DB"
    WAIT=$("$BIN_DIR"/kafka-engine wait "$SKILLS_CLICKHOUSE_URL" "$DB" "$EVENTS" "$STARTED" "$AGGREGATOR_PID:0")
    process_usage "$AGGREGATOR_PID"
    kill -TERM "$AGGREGATOR_PID"; wait "$AGGREGATOR_PID" || true
    echo "skills-aggregator, $learners learners: $WAIT" >&2
    # From the first stored batch: start-up does not grow with learners. A
    # backlog that fits one batch (the quick sizes) has no such rate; it
    # gets the rate from the start.
    RATE=$(field "$WAIT" per_second_from_first_row)
    [[ "$RATE" == 0 || "$RATE" == 0.0 ]] && RATE=$(field "$WAIT" per_second)
    record "6. scale curve" "skills-aggregator, $learners learners" 1 "$RATE" \
        "$(field "$WAIT" cpu_seconds)" "$RSS" "$EVENTS"
    drop_database "$DB"
done

# Scenario 7: the read model of the embedded store and its copy in
# ClickHouse (skills-model), reads at growing histories beside a recount
# from the facts, cached reads under ingest; on a fresh private server.
if wanted 7; then
echo "== scenario 7, $READ_LEARNERS learners" >&2
fresh_clickhouse
BENCH_CLICKHOUSE_PID="$CLICKHOUSE_PID" "$BIN_DIR"/read-model "$READ_CALLS" $READ_LEARNERS \
    --clickhouse "$SKILLS_CLICKHOUSE_URL" >>"$RESULTS"
stop_fresh_clickhouse
fi

for run in $(seq 1 "$RUNS"); do
    wanted 3 || break
    echo "== scenario 3, run $run/$RUNS" >&2
    for system in sink bare; do
        fresh_clickhouse
        "$BIN_DIR"/clickhouse-sink "$SKILLS_CLICKHOUSE_URL" "$LEARNERS" 20000 1 "$system" >>"$RESULTS"
    done
done
stop_fresh_clickhouse

# Scenario 8: partners through skills-gateway against `skills send`
# straight to Kafka, in the same run, with the same synthetic events:
# events/s from the first event sent to the last acknowledged (the
# gateway acks once Kafka has an event, acks=all; `skills send` returns
# once Kafka acknowledged everything), and the p99 from an event's send
# to its ack. gRPC: one Publish stream; xAPI: the enrolments and
# assessments as statements, 500 a request over two connections.
GATEWAY_PID=""
trap 'for p in $QUERY_PID $HELLO_PID $GATEWAY_PID; do kill "$p" 2>/dev/null || true; done; stop_fresh_clickhouse' EXIT
GATEWAY_TOKEN="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
echo "partner:bench-partner $GATEWAY_TOKEN" >"target/bench/partners-$STAMP"
# Runs "$@" with its standard output in $1; prints its CPU seconds.
measured() {
    python3 -c 'import resource, subprocess, sys
with open(sys.argv[1], "w") as out: subprocess.run(sys.argv[2:], stdout=out, check=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN); print(usage.ru_utime + usage.ru_stime)' "$@"
}
for RUN in $(seq 1 "$RUNS"); do
    wanted 8 || break
    echo "== scenario 8, run $RUN/$RUNS" >&2
    GW="${PREFIX}gateway-$RUN."
    OUT="target/bench/gateway-$STAMP.out"
    SEND_CPU=$(measured "$OUT" "$BIN_DIR"/skills send --synthetic --learners "$LEARNERS" --brokers "$SKILLS_KAFKA_BROKERS" \
        --topic-prefix "${GW}send.")
    cat "$OUT" >&2
    read -r SENT SECONDS_TAKEN <<<"$(sed -n 's/^sent \([0-9]*\) events in \([0-9.]*\) s.*/\1 \2/p' "$OUT")"
    SEND_RATE=$(awk -v n="$SENT" -v t="$SECONDS_TAKEN" 'BEGIN { print n / t }')
    for scenario in "8. gateway, gRPC" "8. gateway, xAPI"; do
        record "$scenario" "skills send → Kafka" "$RUN" "$SEND_RATE" "$SEND_CPU" 0 "$SENT"
    done
    SKILLS__GATEWAY__LISTEN=127.0.0.1:50154 SKILLS__GATEWAY__CREDENTIALS_FILE="target/bench/partners-$STAMP" \
    SKILLS__GATEWAY__ENROLMENTS_TOPIC="${GW}skills.enrolments.v1" SKILLS__GATEWAY__ASSESSMENTS_TOPIC="${GW}skills.assessments.v1" \
    SKILLS__GATEWAY__DEMAND_TOPIC="${GW}skills.demand.v1" SKILLS__GATEWAY__PARTNER_RATE_PER_S=0 \
    SKILLS__METRICS__GATEWAY_LISTEN="" RUST_LOG=warn "$BIN_DIR"/skills-gateway 2>>/tmp/skills-bench-gateway.log &
    GATEWAY_PID=$!
    for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/50154) 2>/dev/null && break; sleep 0.1; done
    BEFORE=$(cpu_of "$GATEWAY_PID")
    LOAD=$("$BIN_DIR"/gateway-load grpc 127.0.0.1:50154 "$GATEWAY_TOKEN" "$LEARNERS")
    process_usage "$GATEWAY_PID"
    echo "skills-gateway, gRPC: $LOAD" >&2
    record "8. gateway, gRPC" "skills-gateway, gRPC stream" "$RUN" "$(field "$LOAD" per_second)" \
        "$(awk -v a="$CPU" -v b="$BEFORE" 'BEGIN { print a - b }')" "$RSS" "$(field "$LOAD" events)" "$(field "$LOAD" p99_ms)"
    BEFORE=$(cpu_of "$GATEWAY_PID")
    LOAD=$("$BIN_DIR"/gateway-load xapi 127.0.0.1:50154 "bench-partner:$GATEWAY_TOKEN" "$LEARNERS" 500)
    process_usage "$GATEWAY_PID"
    echo "skills-gateway, xAPI: $LOAD" >&2
    record "8. gateway, xAPI" "skills-gateway, xAPI batches of 500" "$RUN" "$(field "$LOAD" per_second)" \
        "$(awk -v a="$CPU" -v b="$BEFORE" 'BEGIN { print a - b }')" "$RSS" "$(field "$LOAD" events)" "$(field "$LOAD" p99_ms)"
    kill -TERM "$GATEWAY_PID"; wait "$GATEWAY_PID" || true
    GATEWAY_PID=""
done

if ((QUICK)); then
    python3 deploy/lib/bench_report.py "$RESULTS" /dev/null "$COMMAND" "$RESULTS" --check "--only=$ONLY"
elif [[ -n "$ONLY" ]]; then
    # These scenarios' rows replace theirs in the run BENCHMARKS.md names;
    # the merged rows are the new raw file, and the command line names both.
    PREVIOUS=$(sed -n 's/^- Raw measurements: `\(.*\)` (one JSON line per run)\.$/\1/p' BENCHMARKS.md)
    PREVIOUS_COMMAND=$(sed -n 's/^- Command: `\(.*\)`$/\1/p' BENCHMARKS.md)
    [[ -f "$PREVIOUS" ]] || { echo "BENCHMARKS.md names no raw file to merge into (\"$PREVIOUS\")" >&2; exit 1; }
    mkdir -p bench-results
    python3 deploy/lib/bench_report.py --merge "$PREVIOUS" "$RESULTS" "$ONLY" >"bench-results/$STAMP.jsonl"
    python3 deploy/lib/bench_report.py "bench-results/$STAMP.jsonl" BENCHMARKS.md \
        "$PREVIOUS_COMMAND\` ($PREVIOUS), then \`$COMMAND" "bench-results/$STAMP.jsonl"
else
    mkdir -p bench-results
    cp "$RESULTS" "bench-results/$STAMP.jsonl"
    python3 deploy/lib/bench_report.py "$RESULTS" BENCHMARKS.md "$COMMAND" "bench-results/$STAMP.jsonl"
fi
