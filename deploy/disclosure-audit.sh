#!/usr/bin/env bash
# The disclosure audit on the demo data set (what `cargo run --release`
# serves): `skills demo --once` seeds an embedded store in a scratch
# directory, then `skills disclosure-audit` attacks the year's publication
# for the public and for one partner. Exits non-zero on any exact
# disclosure or interval narrower than the protection level.
#
#   ./deploy/disclosure-audit.sh [--learners N]   (default: the demo's size)
#   ./deploy/disclosure-audit.sh --quick          the same audit with the debug
#                                                 binaries the test suite built
#                                                 (the run of ./deploy/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '==> %s\n' "$*" >&2; }

learners=()
profile=release
case "${1:-}" in
--learners) learners=(--learners "${2:?--learners needs a number}") ;;
--quick) profile=debug ;;
"") ;;
*)
    echo "usage: deploy/disclosure-audit.sh [--learners N | --quick]" >&2
    exit 2
    ;;
esac

if [[ "$profile" == debug ]]; then
    # The same selection as deploy/test.sh's build: nothing to rebuild.
    cargo build --workspace --bins --locked >&2
    # A debug build computes the first publication of the year several
    # times slower than a release build: the demo report's first call may
    # need more than the 10 s a call is allowed by default.
    export SKILLS__QUERY__REQUEST_TIMEOUT_MS=120000
else
    # The selection deploy/first-hour.sh builds: one release build serves both.
    cargo build --release --locked -p skills -p skills-ingest -p skills-aggregator -p skills-query -p skills-gateway >&2
fi
skills="$PWD/target/$profile/skills"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
log "seeding the demo data set in $scratch"
"$skills" demo --once "${learners[@]}" >/dev/null
for audience in public partner:gen-partner-84; do
    log "disclosure audit for $audience"
    "$skills" disclosure-audit --audience "$audience"
done
