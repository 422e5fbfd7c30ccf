#!/usr/bin/env bash
# The proto contract is the partners' API: `buf lint` on proto/, and
# `buf breaking` against the baseline, the commit recorded in
# proto/BASELINE. A change that breaks the contract fails here; moving the
# baseline on is a deliberate commit of its own (CONTRIBUTING.md).
#
#   deploy/proto-check.sh
#
# buf comes from the npm registry (@bufbuild/buf) into a cache folder
# outside the checkout. The script also proves the check bites: a copy of
# the contract with a field removed must fail it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF_VERSION=1.75.0
cache="${SKILLS_CACHE_DIR:-$HOME/.cache/skills-monitor}/buf-$BUF_VERSION"
buf="$cache/node_modules/.bin/buf"
if [[ ! -x "$buf" ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm not found: install Node.js and npm (Debian: apt-get install npm)" >&2
        exit 1
    fi
    echo "==> installing buf $BUF_VERSION from the npm registry into $cache" >&2
    npm install --prefix "$cache" --no-audit --no-fund --silent "@bufbuild/buf@$BUF_VERSION" >&2
fi

baseline="$(grep -v '^#' proto/BASELINE | tr -d '[:space:]')"
if ! git cat-file -e "$baseline^{commit}" 2>/dev/null; then
    # A shallow clone may not hold it: fetch that one commit.
    git fetch -q origin "$baseline" 2>/dev/null || {
        echo "the proto baseline $baseline is not in this clone; run git fetch --unshallow" >&2
        exit 1
    }
fi
repo="$(git rev-parse --show-toplevel)"
against="$repo/.git#ref=$baseline,subdir=proto"
[[ -d "$repo/.git" ]] || against="$(git rev-parse --git-common-dir)#ref=$baseline,subdir=proto"

echo "==> buf lint (proto/)"
(cd proto && "$buf" lint)
echo "==> buf breaking against the baseline ${baseline:0:12} (proto/BASELINE)"
(cd proto && "$buf" breaking --against "$against")

# The check must bite: the contract without EventEnvelope.partner_id.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp -r proto/buf.yaml proto/skills "$scratch/"
sed -i '/string partner_id = 3;/d' "$scratch/skills/v1/events.proto"
if (cd "$scratch" && "$buf" breaking --against "$against" >"$scratch/out" 2>&1); then
    echo "buf breaking did not notice a removed field: the check is not working" >&2
    exit 1
fi
grep -q 'partner_id' "$scratch/out" || {
    echo "buf breaking failed, but not on the removed field:" >&2
    cat "$scratch/out" >&2
    exit 1
}
echo "==> proto contract: lint clean, no breaking change since ${baseline:0:12} (a removed field is caught)"
