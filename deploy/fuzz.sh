#!/usr/bin/env bash
# Fuzzing the event decoders and validation with cargo-fuzz (libFuzzer,
# AddressSanitizer). Targets (fuzz/fuzz_targets/): decode_json,
# decode_protobuf, normalize (decode + validate + pseudonymise, and the
# accepted event must yield facts), normalized_facts (the aggregator's
# side).
#
#   ./deploy/fuzz.sh            300 s per target: the longer run
#   ./deploy/fuzz.sh 3600       an hour per target
#   ./deploy/fuzz.sh --quick    10 s per target: the run of deploy/test.sh
#
# First the seeds and every saved crash (fuzz/regressions/<target>/) are
# replayed on stable Rust. A crash found here is saved by libFuzzer under
# fuzz/artifacts/<target>/; copy it into fuzz/regressions/<target>/ with
# the fix, and it is a regression test from then on.
#
# cargo-fuzz needs a nightly toolchain; it is installed with rustup when
# missing. Where it cannot be (no rustup, no network), the replay still
# runs and the libFuzzer part says clearly that it was skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-300}"
[[ "$seconds" == --quick ]] && seconds=10
targets=(decode_json decode_protobuf normalize normalized_facts)

echo "==> replaying seeds and saved crashes (stable)"
cargo test --manifest-path fuzz/Cargo.toml --lib --locked -q

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "==> installing a nightly toolchain for cargo-fuzz"
    if ! rustup toolchain install nightly --profile minimal; then
        echo "SKIPPED libFuzzer runs: no nightly toolchain could be installed (the replay above ran)" >&2
        exit 0
    fi
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz (crates.io)"
    cargo install cargo-fuzz --locked
fi

cargo test --manifest-path fuzz/Cargo.toml --lib --locked -q -- --ignored write_seed_corpus >/dev/null
mkdir -p target/fuzz
for target in "${targets[@]}"; do
    echo "==> fuzzing $target for $seconds s"
    log="target/fuzz/$target.log"
    status=0
    (cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1) >"$log" 2>&1 || status=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)|^Done|SUMMARY|panicked' "$log" || true
    if ((status != 0)) || compgen -G "fuzz/artifacts/$target/*" >/dev/null; then
        tail -40 "$log" >&2
        echo "FAILED: $target (exit $status); inputs in fuzz/artifacts/$target/, log $log" >&2
        exit 1
    fi
done
echo "==> fuzzing done: no crash in ${#targets[@]} targets × $seconds s"
