#!/usr/bin/env bash
# The fault suite: each scenario of RELIABILITY.md under load, on a private
# Kafka broker and ClickHouse server that it starts (deploy/infra.sh with
# their own run directory and ports) and stops, audited by
# `skills reconcile` and a clean run of the same events.
#
#   ./deploy/faults.sh                  full suite, release build; the table
#                                       goes into RELIABILITY.md
#   ./deploy/faults.sh --quick          the short suite of deploy/test.sh
#   ./deploy/faults.sh --only broker,kill [--keep]
#
# Scenarios: broker, clickhouse, kill, burst, poison, repeat, rebalance, hostile.
# Exit status 0 only when every scenario lost nothing, counted nothing
# twice and left every service healthy, and no log holds a secret or a raw
# learner id. Logs of a failed run are kept (the path is printed).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
for arg in "$@"; do
    [[ "$arg" == --quick ]] && profile=debug
done
if [[ $profile == release ]]; then
    cargo build --release --workspace --bins --locked
else
    cargo build --workspace --bins --locked
fi

mkdir -p target/faults
report="target/faults/table.md"
hostile="target/faults/hostile.md"
rm -f "$hostile"
"target/$profile/fault-suite" --report "$report" --hostile-report "$hostile" "$@"

# A full run of every scenario replaces the table in RELIABILITY.md.
if [[ $# -eq 0 ]]; then
    python3 - "$report" "$hostile" <<'PY'
import sys
path = "RELIABILITY.md"
text = open(path).read()
for file, name in [(sys.argv[1], "fault-table"), (sys.argv[2], "hostile-table")]:
    table = open(file).read().strip()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    text = f"{before}{start}\n{table}\n{end}{after}"
open(path, "w").write(text)
PY
    echo "tables written into RELIABILITY.md"
fi
