# Helpers shared by the deploy/bench-*.sh scripts (sourced, not run).

# Where the binaries under test are (the quick check uses the debug build).
BIN_DIR="${BIN_DIR:-./target/release}"

# One counter from a Prometheus endpoint (host:port), or nothing.
metric() {
    curl -fsS "http://$1/metrics" 2>/dev/null | sed -n "s/^$2 \([0-9]*\)\$/\1/p"
}

# The sum of the samples of endpoint $1 whose name (labels included)
# matches the awk regex $2, or nothing when the endpoint does not answer.
metric_sum() {
    curl -fsS "http://$1/metrics" 2>/dev/null | awk -v re="$2" '$1 ~ re {n += $2} END {if (NR) print n + 0}'
}

# Waits until the samples of endpoint $1 matching $2 (see metric_sum) add
# up to $3; sets FIRST (the sum at the first non-zero sample), START and END
# (epoch seconds of the first non-zero sample and of the one that reached
# the target).
wait_for_counter() {
    local endpoint="$1" name="$2" target="$3" n now
    START=""
    while :; do
        n=$(metric_sum "$endpoint" "$name" || true)
        now=$(date +%s.%N)
        if [[ -n "$n" && "$n" -gt 0 && -z "$START" ]]; then START=$now; FIRST=$n; fi
        if [[ -n "$n" && "$n" -ge "$target" ]]; then END=$now; return 0; fi
        sleep 0.05
    done
}

# CPU seconds and peak RSS (MiB) of a running process: sets CPU and RSS.
process_usage() {
    CPU=$(cpu_of "$1")
    RSS=$(awk '/VmHWM/ {print $2/1024}' "/proc/$1/status")
}

# The pid of the ClickHouse server deploy/infra.sh started.
clickhouse_pid() {
    cat "${SKILLS_RUN_DIR:-${SKILLS_CACHE_DIR:-$HOME/.cache/skills-monitor}/run}/clickhouse/clickhouse.pid"
}

drop_database() {
    curl -fsS "$SKILLS_CLICKHOUSE_URL" --data-binary "DROP DATABASE IF EXISTS $1" >/dev/null
}

# CPU seconds of process $1 so far.
cpu_of() {
    awk '{print ($14+$15)/100}' "/proc/$1/stat"
}

# Starts one release skills-aggregator (metrics on $1) into ClickHouse
# database $2 in the background; sets AGGREGATOR_PID.
start_aggregator() {
    SKILLS__STORE__KIND=clickhouse SKILLS__STORE__CLICKHOUSE__URL="$SKILLS_CLICKHOUSE_URL" \
    SKILLS__STORE__CLICKHOUSE__DATABASE="$2" SKILLS__METRICS__AGGREGATOR_LISTEN="$1" RUST_LOG=warn \
        "$BIN_DIR"/skills-aggregator 2>>/tmp/skills-bench-aggregator.log &
    AGGREGATOR_PID=$!
}

# Starts one release skills-model (metrics on $1) keeping ClickHouse
# database $2's read model, its state in a new file under target/bench, in
# the background; sets MODEL_PID and MODEL_STATE (the file; a few hundred
# MB at 40,000 learners: the caller removes it once the model has stopped).
start_model() {
    MODEL_STATE="$(pwd)/target/bench/model-state-$$-$2.db"
    rm -f "$MODEL_STATE" "$MODEL_STATE-wal" "$MODEL_STATE-shm"
    SKILLS__STORE__KIND=clickhouse SKILLS__STORE__CLICKHOUSE__URL="$SKILLS_CLICKHOUSE_URL" \
    SKILLS__STORE__CLICKHOUSE__DATABASE="$2" SKILLS__METRICS__MODEL_LISTEN="$1" SKILLS__MODEL__STATE_PATH="$MODEL_STATE" \
    RUST_LOG=warn "$BIN_DIR"/skills-model 2>>/tmp/skills-bench-model.log &
    MODEL_PID=$!
}

# Builds skills-model's copy of database $1 (a state restored from its
# facts, then copied), as a ClickHouse deployment serves from, and stops
# skills-model; prints the seconds it took. Without a copy the query
# service counts from the facts, each partner's part too (minutes a year
# at the full size).
build_model_copy() {
    local events started copied
    events=$(curl -fsS "$SKILLS_CLICKHOUSE_URL" --data-binary "SELECT uniqExact(event_id) FROM $1.applied_events")
    started=$(date +%s.%N)
    start_model 127.0.0.1:9194 "$1"
    for _ in $(seq 1 3000); do
        copied=$(curl -fsS "$SKILLS_CLICKHOUSE_URL" --data-binary \
            "SELECT if(state_id != 0, events, 0) FROM $1.model_state ORDER BY version DESC LIMIT 1" 2>/dev/null || true)
        [[ "$copied" == "$events" ]] && break
        kill -0 "$MODEL_PID" 2>/dev/null || { echo "skills-model stopped; see /tmp/skills-bench-model.log" >&2; exit 1; }
        sleep 0.2
    done
    [[ "$copied" == "$events" ]] || { echo "skills-model did not copy $events events in 10 min" >&2; exit 1; }
    kill -TERM "$MODEL_PID"; wait "$MODEL_PID" || true
    MODEL_PID=""
    rm -f "$MODEL_STATE" "$MODEL_STATE-wal" "$MODEL_STATE-shm"
    awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'
}

# The pid of the Kafka broker deploy/infra.sh started.
kafka_pid() {
    cat "${SKILLS_RUN_DIR:-${SKILLS_CACHE_DIR:-$HOME/.cache/skills-monitor}/run}/kafka/kafka.pid"
}

# Points every service started afterwards at the bench's own topics and
# consumer groups (prefix $1), on the local broker.
export_bench_topics() {
    local prefix="$1"
    export SKILLS__BUS__KIND=kafka SKILLS__BUS__KAFKA__BROKERS="$SKILLS_KAFKA_BROKERS"
    export SKILLS__INGEST__GROUP_ID="${prefix}ingest" SKILLS__AGGREGATOR__GROUP_ID="${prefix}aggregator"
    export SKILLS__INGEST__RAW_TOPICS="[\"${prefix}skills.enrolments.v1\", \"${prefix}skills.assessments.v1\", \"${prefix}skills.demand.v1\"]"
    export SKILLS__INGEST__NORMALIZED_TOPIC="${prefix}skills.events.v1" SKILLS__INGEST__DEAD_LETTER_TOPIC="${prefix}skills.dlq.v1"
    export SKILLS__AGGREGATOR__NORMALIZED_TOPIC="${prefix}skills.events.v1"
    export SKILLS__AGGREGATOR__DEAD_LETTER_TOPIC="${prefix}skills.dlq.v1"
    export SKILLS__MODEL__GROUP_ID="${prefix}model" SKILLS__MODEL__NORMALIZED_TOPIC="${prefix}skills.events.v1"
}

# Sends the synthetic data set of $1 learners to the topics of prefix $2;
# sets TOTAL (raw events sent).
send_synthetic() {
    local sent
    sent=$("$BIN_DIR"/skills send --synthetic --learners "$1" --brokers "$SKILLS_KAFKA_BROKERS" --topic-prefix "$2")
    echo "$sent" >&2
    TOTAL=$(sed -n 's/^sent \([0-9]*\) events.*/\1/p' <<<"$sent")
}

# Starts one release skills-ingest (metrics on $1) in the background; sets
# INGEST_PID.
start_ingest() {
    SKILLS__METRICS__INGEST_LISTEN="$1" SKILLS_PSEUDONYM_KEY=$(printf "ab%.0s" $(seq 1 32)) RUST_LOG=warn \
        "$BIN_DIR"/skills-ingest 2>>/tmp/skills-bench-ingest.log &
    INGEST_PID=$!
}

# Runs one release skills-ingest (metrics on $1) until every one of the
# TOTAL raw events is accounted for (produced, dropped as a duplicate or
# dead-lettered), then stops it; sets PRODUCED and LETTERS, and START,
# END, FIRST, CPU, RSS for its run.
ingest_all() {
    local metrics="$1" pid
    start_ingest "$metrics"
    pid=$INGEST_PID
    wait_for_counter "$metrics" '^skills_ingest_(produced|duplicates|dead_lettered)_total' "$TOTAL"
    process_usage $pid
    PRODUCED=$(metric "$metrics" skills_ingest_produced_total)
    LETTERS=$(curl -fsS "http://$metrics/metrics" | awk '/^skills_ingest_dead_lettered_total\{/ {n += $2} END {print n + 0}')
    kill -TERM $pid
    wait $pid || true
}

# Runs one release skills-aggregator (metrics on $1) into ClickHouse
# database $2 until it has stored PRODUCED + LETTERS records, then stops it;
# sets START, END, FIRST, CPU, RSS, BATCHES, APPLIED for its run.
aggregate_all() {
    local metrics="$1" pid
    start_aggregator "$1" "$2"
    pid=$AGGREGATOR_PID
    wait_for_counter "$metrics" '^skills_aggregator_records_total$' "$((PRODUCED + LETTERS))"
    process_usage $pid
    BATCHES=$(metric "$metrics" skills_aggregator_batches_total)
    APPLIED=$(metric "$metrics" skills_aggregator_events_applied_total)
    kill -TERM $pid
    wait $pid || true
}

# A fresh ClickHouse server for one scenario run: its own run directory
# and ports, empty data. No run inherits the parts, merges or caches of an
# earlier one: on the shared server, scenario 2's ratio swung from 0.41 to
# 1.51 and scenario 3's from 1.17 to 0.57 with what earlier work had left.
# The directory is on tmpfs (BENCH_DATA_ROOT, default /dev/shm when it
# exists): on this machine's root filesystem (ext4 without a journal) every
# file created scans the inodes freed in the last seconds
# (`ext4_create` → `find_inode_bit` → `recently_deleted`, 61 % of the
# server's samples), so a run's server CPU grew with the part files earlier
# runs had deleted (2.9 → 8.4 → 13.0 → 18.3 s for the same inserts; on
# tmpfs 2.9, 2.7, 2.7, 2.7 s). Sets SKILLS_CLICKHOUSE_URL and CLICKHOUSE_PID
# (read by drop_database, start_aggregator and the probes).
BENCH_CLICKHOUSE_DIR=""
BENCH_DATA_ROOT="${BENCH_DATA_ROOT:-$([[ -d /dev/shm && -w /dev/shm ]] && echo /dev/shm || echo "$(pwd)/target/bench")}"
fresh_clickhouse() {
    stop_fresh_clickhouse
    BENCH_CLICKHOUSE_DIR="$BENCH_DATA_ROOT/skills-bench-clickhouse-$$"
    rm -rf "$BENCH_CLICKHOUSE_DIR"
    local env
    env=$(SKILLS_RUN_DIR="$BENCH_CLICKHOUSE_DIR" SKILLS_CLICKHOUSE_HTTP_PORT=38223 SKILLS_CLICKHOUSE_TCP_PORT=39100 \
        ./deploy/infra.sh up clickhouse 2>/dev/null)
    SKILLS_CLICKHOUSE_URL=$(sed -n 's/^export SKILLS_CLICKHOUSE_URL=//p' <<<"$env")
    export SKILLS_CLICKHOUSE_URL
    CLICKHOUSE_PID=$(cat "$BENCH_CLICKHOUSE_DIR/clickhouse/clickhouse.pid")
}

# Stops the server fresh_clickhouse started and removes its data.
stop_fresh_clickhouse() {
    if [[ -n "$BENCH_CLICKHOUSE_DIR" ]]; then
        SKILLS_RUN_DIR="$BENCH_CLICKHOUSE_DIR" SKILLS_CLICKHOUSE_HTTP_PORT=38223 SKILLS_CLICKHOUSE_TCP_PORT=39100 \
            ./deploy/infra.sh down clickhouse >/dev/null 2>&1 || true
        rm -rf "$BENCH_CLICKHOUSE_DIR"
        BENCH_CLICKHOUSE_DIR=""
    fi
}

# Waits (up to 120 s) until the server runs no background merge, so that
# the next system measured does not pay for the previous one's; prints
# how long it waited.
drain_merges() {
    local started waited merges
    started=$(date +%s.%N)
    for _ in $(seq 1 1200); do
        merges=$(curl -fsS "$SKILLS_CLICKHOUSE_URL" --data-binary "SELECT count() FROM system.merges" || echo 1)
        [[ "$merges" == 0 ]] && break
        sleep 0.1
    done
    waited=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    echo "background merges drained in ${waited} s" >&2
}
