#!/usr/bin/env bash
# A newcomer's first hour, replayed: the README's first command (the demo),
# then every client command the README shows, run against it the way the
# README says, each to answer something within a second; `skills status`
# with the policy token the demo writes; the README's gRPC and xAPI ways
# for a partner to send, against the demo's gateway; every binary's --help, --version
# and --check-config, which must start nothing; and the settings
# deploy/docker-compose.yml passes to each service, checked with
# --check-config.
#
#   ./deploy/first-hour.sh           the README's release build, the demo
#                                    started with `cargo run --release`
#   ./deploy/first-hour.sh --quick   the debug binaries the test suite
#                                    built, the demo started as
#                                    target/debug/skills (the run of
#                                    ./deploy/test.sh: no second build)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '==> %s\n' "$*" >&2; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

# 0. The toolchain the README names is the one Cargo.toml requires.
rust_version="$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)"
grep -q "Rust toolchain, $rust_version or newer" README.md || fail "the README does not name rust-version $rust_version"

quick=0
case "${1:-}" in
--quick) quick=1 ;;
"") ;;
*) fail "usage: deploy/first-hour.sh [--quick]" ;;
esac
if ((quick)); then
    # The same selection as deploy/test.sh's build: nothing to rebuild.
    cargo build --workspace --bins --locked >&2
    bin="$PWD/target/debug"
    demo=("$bin/skills")
    # A debug build computes the first publication of the year several
    # times slower than a release build: the demo report's first call may
    # need more than the 10 s a call is allowed by default.
    export SKILLS__QUERY__REQUEST_TIMEOUT_MS=120000
    # What `cargo run` would start, without building it: the default
    # member's default binary, skills.
    default_run="$(cargo metadata --no-deps --format-version 1 --locked | python3 -c 'import json, sys
meta = json.load(sys.stdin)
print(" ".join(p["name"] + "/" + str(p.get("default_run")) for p in meta["packages"] if p["id"] in meta["workspace_default_members"]))')"
    [[ "$default_run" == skills/skills ]] || fail "cargo run would start $default_run, not skills/skills"
else
    cargo build --release --locked -p skills -p skills-ingest -p skills-aggregator -p skills-query -p skills-gateway >&2
    bin="$PWD/target/release"
    demo=(cargo run --release --locked -q --manifest-path "$PWD/Cargo.toml")
fi
scratch="$(mktemp -d)"
demo_pid=
cleanup() {
    [[ -n "$demo_pid" ]] && kill "$demo_pid" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT

# 1. The demo, as `cargo run --release` runs it (with --quick, the debug
# binary that `cargo run` would start), from a scratch directory (its ./data
# there), on the README's address.
log "the demo: ${demo[*]}"
if (exec 3<>/dev/tcp/127.0.0.1/50051) 2>/dev/null; then
    fail "127.0.0.1:50051 is in use: the demo serves there"
fi
repo="$PWD"
(cd "$scratch" && exec "${demo[@]}") \
    >"$scratch/demo.out" 2>"$scratch/demo.err" &
demo_pid=$!
for _ in $(seq 600); do
    grep -q "^Serving gRPC" "$scratch/demo.out" && break
    kill -0 "$demo_pid" 2>/dev/null || fail "the demo stopped: $(tail -5 "$scratch/demo.err")"
    sleep 1
done
grep -q "^Serving gRPC" "$scratch/demo.out" || fail "the demo did not start serving in 10 min"
grep -q "Top 10 shortages" "$scratch/demo.out" || fail "the demo printed no report"

# 2. Every client command of the README's "Using it" block, as printed
# there (`cargo run --release -- X` is the binary it builds), from where
# the demo runs. A watch is
# asked for one update; the disclosure audit reads the store, not the
# service, and deploy/disclosure-audit.sh runs it.
commands="$(sed -n '/^From another terminal, the command line queries the running service:/,/^```$/p' README.md |
    grep '^cargo run --release -- ' | sed -e 's/^cargo run --release -- //' -e 's/ *#.*$//')"
[[ $(wc -l <<<"$commands") -ge 6 ]] || fail "found too few client commands in the README: $commands"
while read -r command; do
    [[ "$command" == disclosure-audit* ]] && continue
    [[ "$command" == watch* ]] && command="$command --updates 1"
    started=$(date +%s%N)
    # shellcheck disable=SC2086 # the README's words, split as a shell would
    output="$(cd "$scratch" && timeout 10 "$bin/skills" $command 2>&1)" || fail "skills $command: $output"
    ms=$((($(date +%s%N) - started) / 1000000))
    rows=$(wc -l <<<"$output")
    ((rows >= 3)) || fail "skills $command answered almost nothing: $output"
    ((ms < 1000)) || fail "skills $command took $ms ms"
    log "skills $command: $rows lines in $ms ms"
done <<<"$commands"

# 3. `skills status` with the token the demo says it wrote.
token_file="$(sed -n 's/^A policy token for this run is in \(.*\):  .*/\1/p' "$scratch/demo.out")"
[[ "$token_file" == data/policy.token ]] || fail "the demo named $token_file, the README data/policy.token"
token_file="$scratch/$token_file"
[[ -f "$token_file" ]] || fail "the demo named no policy token file: $(tail -3 "$scratch/demo.out")"
[[ $(stat -c %a "$token_file") == 600 ]] || fail "$token_file is readable by others"
status="$("$bin/skills" status --token-file "$token_file")" || fail "skills status: $status"
grep -q "events counted" <<<"$status" || fail "skills status: $status"
log "skills status --token-file $token_file: $(head -1 <<<"$status")"
for format in json csv; do
    out="$("$bin/skills" gaps --region "Auvergne-Rhône-Alpes" --format "$format")" || fail "gaps --format $format: $out"
    [[ -n "$out" ]] || fail "gaps --format $format printed nothing"
done

# 3b. The README's ways for a partner to send ("Sending events"), its gRPC
# and xAPI blocks run as written against the demo's gateway.
readme_block() {
    python3 - "$1" <<'PY'
import sys
text = open("README.md").read()
start = text.index("```sh\n" + sys.argv[1]) + len("```sh\n")
print(text[start:text.index("```\n", start)])
PY
}
grpcurl_dir="$(dirname "${SKILLS_GRPCURL:-$(./deploy/tools.sh grpcurl)/grpcurl}")"
ln -s "$repo/proto" "$scratch/proto"
publish="$(readme_block grpcurl)" post="$(readme_block curl)"
[[ -n "$publish" && -n "$post" ]] || fail "the README's gRPC and xAPI blocks were not found"
sent="$(cd "$scratch" && PATH="$grpcurl_dir:$PATH" bash -e <<<"$publish" 2>&1)" || fail "README grpcurl: $sent"
grep -q ACK_STATUS_ACCEPTED <<<"$sent" && grep -q ACK_STATUS_REJECTED <<<"$sent" ||
    fail "the README's Publish did not answer an accepted and a rejected ack: $sent"
posted="$(cd "$scratch" && bash -e <<<"$post" 2>&1)" || fail "README curl: $posted"
grep -q 8f6f2a0e-4c1b-4f7e-9a3d-2b5c6d7e8f90 <<<"$posted" || fail "the README's xAPI post answered: $posted"
log "README ways to send: gRPC Publish (accepted + rejected acks), xAPI POST ($posted)"
# ...and the partner's own view of what it sent, as the README shows it.
own="$(readme_block "cargo run --release -- partner-status")"
[[ -n "$own" ]] || fail "the README's partner-status block was not found"
for _ in $(seq 1 20); do
    seen="$(cd "$scratch" && bash -e <<<"${own//cargo run --release --/$bin/skills}" 2>&1)" || fail "README partner-status: $seen"
    grep -q "^partner demo-partner: [1-9][0-9]* events counted" <<<"$seen" && break
    sleep 0.5
done
grep -q "^partner demo-partner: [1-9][0-9]* events counted" <<<"$seen" || fail "the partner's status counts nothing: $seen"
log "README partner status: $(head -1 <<<"$seen")"

# 4. Each binary's --help, --version and --check-config answer at once
# (a service that started instead would outlive the 5 s timeout) and
# leave nothing behind (no data directory, no key, no store).
mkdir "$scratch/cwd"
for binary in skills skills-ingest skills-aggregator skills-model skills-query skills-gateway; do
    for flag in --help --version --check-config; do
        out="$(cd "$scratch/cwd" && timeout 5 "$bin/$binary" "$flag" 2>&1)" || fail "$binary $flag: $out"
        [[ -n "$out" ]] || fail "$binary $flag printed nothing"
    done
    grep -q -- "--check-config" <<<"$("$bin/$binary" --help)" || fail "$binary --help does not show --check-config"
done
if out="$(SKILLS__QUERY__LISTN=x "$bin/skills-query" --check-config 2>&1)"; then
    fail "skills-query --check-config accepted an unknown key"
fi
grep -q "listn" <<<"$out" || fail "the refusal of an unknown key does not name it: $out"
[[ -z "$(ls -A "$scratch/cwd")" ]] || fail "--help, --version or --check-config wrote $(ls -A "$scratch/cwd")"
log "--help, --version and --check-config of the six binaries: exit 0, nothing started"

# 5. The compose file's settings, as each service would read them.
python3 - "$bin" <<'PY' || fail "deploy/docker-compose.yml"
import os, re, subprocess, sys
try:
    import yaml
except ImportError:
    sys.exit("python3-yaml is missing (apt-get install python3-yaml)")
bin_dir = sys.argv[1]
compose = yaml.safe_load(open("deploy/docker-compose.yml"))
expected = {
    "skills-ingest": {"bus": {"kind": "kafka"}},
    "skills-aggregator": {"bus": {"kind": "kafka"}, "store": {"kind": "clickhouse"}},
    "skills-model": {"bus": {"kind": "kafka"}, "store": {"kind": "clickhouse"}},
    "skills-query": {"store": {"kind": "clickhouse"}},
    "skills-gateway": {"bus": {"kind": "kafka"}},
}
import tomllib
for name, service in compose["services"].items():
    if not name.startswith("skills-"):
        continue
    binary = os.path.basename(service["entrypoint"][0])
    env = {"PATH": os.environ["PATH"]}
    for key, value in (service.get("environment") or {}).items():
        # ${VAR:?message} and ${VAR:-default}: a stand-in value.
        env[key] = re.sub(r"\$\{[^}]*\}", "0" * 64, str(value))
    run = subprocess.run([os.path.join(bin_dir, binary), "--check-config"], env=env, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{name}: --check-config exit {run.returncode}: {run.stderr.strip()}")
    config = tomllib.loads(run.stdout)
    for section, keys in expected.get(name, {}).items():
        for key, value in keys.items():
            if config[section][key] != value:
                sys.exit(f"{name}: {section}.{key} is {config[section][key]!r}, expected {value!r}")
    if config["store"]["kind"] == "clickhouse":
        clickhouse = config["store"]["clickhouse"]
        if clickhouse["url"] != "http://clickhouse:8123" or clickhouse["user"] != "skills":
            sys.exit(f"{name}: ClickHouse at {clickhouse['url']} as {clickhouse['user']}, not the compose server's user")
        if "SKILLS_CLICKHOUSE_PASSWORD" not in env:
            sys.exit(f"{name}: no ClickHouse password in its environment")
    print(f"==> compose {name}: {binary} --check-config OK", file=sys.stderr)
PY

# 6. The demo stops cleanly on Ctrl-C and takes its token with it.
kill -INT "$demo_pid"
wait "$demo_pid" || fail "the demo exited with an error on Ctrl-C: $(tail -5 "$scratch/demo.err")"
demo_pid=
[[ ! -e "$token_file" ]] || fail "the demo left its policy token behind"
[[ ! -e "$(dirname "$token_file")/partner.token" ]] || fail "the demo left its partner token behind"
log "first hour: PASS"
