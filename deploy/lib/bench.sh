# Helpers shared by the deploy/bench-*.sh scripts (sourced, not run).

# One counter from a Prometheus endpoint (host:port), or nothing.
metric() {
    curl -fsS "http://$1/metrics" 2>/dev/null | sed -n "s/^$2 \([0-9]*\)\$/\1/p"
}

# Waits until counter $2 of endpoint $1 reaches $3; sets FIRST (the value at
# the first non-zero sample), START and END (epoch seconds of the first
# non-zero sample and of the one that reached the target).
wait_for_counter() {
    local endpoint="$1" name="$2" target="$3" n now
    START=""
    while :; do
        n=$(metric "$endpoint" "$name" || true)
        now=$(date +%s.%N)
        if [[ -n "$n" && "$n" -gt 0 && -z "$START" ]]; then START=$now; FIRST=$n; fi
        if [[ -n "$n" && "$n" -ge "$target" ]]; then END=$now; return 0; fi
        sleep 0.05
    done
}

# CPU seconds and peak RSS (MiB) of a running process: sets CPU and RSS.
process_usage() {
    CPU=$(awk '{print ($14+$15)/100}' "/proc/$1/stat")
    RSS=$(awk '/VmHWM/ {print $2/1024}' "/proc/$1/status")
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
}
