#!/usr/bin/env bash
# The dashboard skills-query serves (services/query/web): its build, the
# check that the committed build is the build of the sources, and its
# browser tests.
#
#   deploy/web.sh            rebuild services/query/web/dist (commit the result)
#   deploy/web.sh --check    rebuild into a scratch folder; fail if it differs
#                            from the committed dist/ (or is over its budget)
#   deploy/web.sh --test     the browser tests: Debian's chromium, headless,
#                            against the all-in-one demo (target/debug/skills,
#                            built by `cargo build --workspace --bins`)
#
# Installs what it needs when missing: Node.js and npm, the packages of the
# committed lockfile (npm ci), and chromium for --test. Screenshots and the
# measured budget go to services/query/web/test-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
WEB=services/query/web

log() { printf '==> %s\n' "$*" >&2; }
install_packages() {
    log "installing $*"
    if [[ $(id -u) -eq 0 ]]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

check=0
test=0
for arg in "$@"; do
    case "$arg" in
    --check) check=1 ;;
    --test) test=1 ;;
    *) echo "usage: deploy/web.sh [--check] [--test]" >&2; exit 2 ;;
    esac
done

command -v npm >/dev/null 2>&1 || install_packages nodejs npm
# The lockfile's packages, exactly (node_modules is rebuilt when the
# lockfile changed since the last install).
stamp="$WEB/node_modules/.lock-installed"
if [[ ! -f "$stamp" ]] || ! cmp -s "$WEB/package-lock.json" "$stamp"; then
    log "npm ci ($WEB)"
    (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$WEB/package-lock.json" "$stamp"
fi

if ((check)); then
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    (cd "$WEB" && node scripts/build.mjs --out "$scratch")
    for file in index.html dashboard.js dashboard.css; do
        if ! cmp -s "$scratch/$file" "$WEB/dist/$file"; then
            echo "$WEB/dist/$file is not the build of the sources: run deploy/web.sh and commit dist/" >&2
            exit 1
        fi
        if ! gunzip -c "$WEB/dist/$file.gz" | cmp -s - "$WEB/dist/$file"; then
            echo "$WEB/dist/$file.gz is not $file gzipped: run deploy/web.sh and commit dist/" >&2
            exit 1
        fi
    done
    log "the committed dashboard is the build of its sources"
elif ((!test)); then
    (cd "$WEB" && node scripts/build.mjs)
fi

if ((test)); then
    command -v chromium >/dev/null 2>&1 || install_packages chromium
    if [[ -z "${SKILLS_GRPCURL:-}" ]]; then
        SKILLS_GRPCURL="$(./deploy/tools.sh grpcurl)/grpcurl"
        export SKILLS_GRPCURL
    fi
    export SKILLS_BIN="${SKILLS_BIN:-$PWD/target/debug/skills}"
    [[ -x "$SKILLS_BIN" ]] || cargo build --locked -p skills
    rm -rf "$WEB/test-artifacts"
    (cd "$WEB" && node --test --test-reporter=spec test/)
    log "screenshots and budget: $WEB/test-artifacts/"
fi
