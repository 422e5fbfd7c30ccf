"""Turns the measurements of deploy/bench.sh (JSON lines) into the table of
medians, spreads and ratios it prints and writes into BENCHMARKS.md."""

import json
import os
import platform
import re
import statistics
import subprocess
import sys
from collections import defaultdict

# scenario -> (ours, baseline, unit, target ratio, what the ratio means,
#              highest p99 ratio ours / baseline or None)
SCENARIOS = {
    "1. ingest": ("skills-ingest", "bare rdkafka loop", "events/s", 0.8, "throughput, ours / baseline", None),
    "2. aggregation": (
        "skills-aggregator", "ClickHouse Kafka engine + MV", "events/s", 1.5, "throughput, ours / baseline", None,
    ),
    "3. ClickHouse write path": (
        "aggregator sink", "bare clickhouse inserter", "rows/s", 0.9, "rows/s, ours / baseline", None,
    ),
    "4. query": ("skills-query (cached)", "tonic hello-world", "requests/s", 0.7, "requests/s, ours / baseline", 1.5),
    # No baseline: the figures themselves (and each service's CPU, memory).
    "5. end to end": (None, None, "events/s", None, "", None),
    "6. scale curve": (None, None, "events/s", None, "", None),
    # Each row names its unit (ms p99 for reads, events/s for the writes).
    "7. read cost (embedded)": (None, None, "ms", None, "", None),
    "7. read cost (ClickHouse)": (None, None, "ms", None, "", None),
    "8. gateway, gRPC": (
        "skills-gateway, gRPC stream", "skills send → Kafka", "events/s", 0.7, "events/s acked, ours / baseline", None,
    ),
    "8. gateway, xAPI": (
        "skills-gateway, xAPI batches of 500", "skills send → Kafka", "events/s", 0.7, "events/s acked, ours / baseline",
        None,
    ),
}
# Scenario 7's stores: the rows of each, and the prefix of their read rows.
READ_STORES = {"7. read cost (embedded)": "", "7. read cost (ClickHouse)": "ClickHouse model: "}
# Scenario 7's targets: p99 of an uncached call at every size, in ms.
READ_TARGETS = {"GetRegionIndicators": 50, "RankShortages year": 200, "GetTrend 24 months": 200}
# Largest history / smallest, p99 of the same uncached call.
READ_GROWTH_TARGET = 1.5
# Cached p99 while events are applied / idle.
LIVE_TARGET = 2.0
# A ratio's spread across runs, (max - min) / median.
RATIO_SPREAD_TARGET = 0.2
NOT_YET = []


# Scenario 5's targets: events/s end to end; freshness p99 at half of it.
E2E_TARGET = 50_000
FRESH_TARGET_MS = 1_000
# The processes of scenario 5, whose CPU adds up to what the pipeline costs.
E2E_PROCESSES = {"skills-ingest", "skills-aggregator", "skills-model", "skills-query", "Kafka broker",
                 "ClickHouse server"}


def machine():
    cpu = "unknown CPU"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    memory = next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    system = next((l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release") if l.startswith("PRETTY_NAME")), "")
    return f"{cores} cores ({cpu}), {int(memory) // 1024 // 1024} GiB, {system}, Linux {platform.release()}"


def natural(text):
    """Sort key that orders "10000 learners" before "100000 learners"."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def summary(values):
    median = statistics.median(values)
    return median, min(values), max(values)


def figure(value):
    """Large figures as integers, small ones (ms) with one decimal."""
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def ratio_spread(ours, baseline):
    """The ratio within each run (ours / the baseline measured beside it in
    the same run) and its spread: (highest - lowest) / median."""
    by_run = {r["run"]: r["value"] for r in baseline}
    ratios = sorted(r["value"] / by_run[r["run"]] for r in ours if by_run.get(r["run"], 0) > 0)
    if len(ratios) < 2:
        return None
    median = statistics.median(ratios)
    spread = (ratios[-1] - ratios[0]) / median
    return (f"  per run {', '.join(f'{x:.2f}' for x in ratios)}: spread {spread:.0%} of the median "
            f"(target ≤ {RATIO_SPREAD_TARGET:.0%}): {'met' if spread <= RATIO_SPREAD_TARGET else 'NOT met'}")


def write_path_verdicts(grouped):
    """Scenario 2's server CPU against the engine's; scenario 5's capacity,
    the CPU every process spent on it, and freshness at half of it."""
    verdicts = []

    def cpu(scenario, system):
        runs = grouped.get((scenario, system), [])
        return statistics.median(r["cpu_s_per_million"] for r in runs) if runs else None

    ours, engine = (cpu("2. aggregation", s) for s in ("ClickHouse server, for skills-aggregator",
                                                         "ClickHouse Kafka engine + MV"))
    if ours is not None and engine is not None:
        verdicts.append(
            f"- 2. aggregation: ClickHouse server CPU per million events, skills-aggregator's path / the engine's "
            f"= {ours:.1f} / {engine:.1f} (target ≤ 1): {'met' if ours <= engine else 'NOT met'}"
        )
    e2e = {system: runs for (s, system), runs in grouped.items() if s == "5. end to end"}
    if "skills-aggregator" in e2e:
        capacity = statistics.median(r["value"] for r in e2e["skills-aggregator"])
        verdicts.append(
            f"- 5. end to end: capacity {capacity:,.0f} events/s (target ≥ {E2E_TARGET:,}): "
            f"{'met' if capacity >= E2E_TARGET else 'NOT met'}"
        )
        total = sum(statistics.median(r["cpu_s_per_million"] for r in runs)
                    for system, runs in e2e.items() if system in E2E_PROCESSES)
        if "Kafka broker" in e2e:
            verdicts.append(
                f"  every process together (services, broker, ClickHouse): {total:.1f} CPU-s per million raw "
                f"events, so at most {os.cpu_count() * 1e6 / total:,.0f} events/s on {os.cpu_count()} cores"
            )
        polled = {label: [r["p99_ms"] for system, runs in e2e.items() if system.startswith("dashboard")
                          and system.endswith(label) for r in runs] for label in ("idle", "under the steady load")}
        if all(polled.values()):
            idle, live = (statistics.median(polled[label]) for label in ("idle", "under the steady load"))
            verdicts.append(
                f"- 5. end to end: a dashboard's cached call (10/s), p99 under the steady load / idle = "
                f"{live:.1f} / {idle:.1f} ms = {live / idle:.2f} (target ≤ {LIVE_TARGET}): "
                f"{'met' if live / idle <= LIVE_TARGET else 'NOT met'}"
            )
        fresh = [r for r in e2e["skills-aggregator"] if "p99_ms" in r]
        if fresh:
            p99 = statistics.median(r["p99_ms"] for r in fresh)
            rates = [r["p99_at_events_per_second"] for r in fresh if "p99_at_events_per_second" in r]
            at = f" at {statistics.median(rates):,.0f} events/s" if rates else ""
            verdicts.append(
                f"- 5. end to end: freshness p99 {p99:,.0f} ms{at} (target ≤ {FRESH_TARGET_MS:,} ms at half of "
                f"capacity): {'met' if p99 <= FRESH_TARGET_MS and rates else 'NOT met'}"
            )
    return verdicts


def memory_lines(grouped):
    """What each service holds (peak RSS, scenario 5) and what the store
    holds per learner (scenario 7's store file after applying)."""
    lines = []
    e2e = {system: runs for (s, system), runs in grouped.items() if s == "5. end to end" and system.startswith("skills-")}
    if e2e:
        lines.append("- Memory, peak RSS per service end to end (scenario 5): " + ", ".join(
            f"{system} {statistics.median(r['rss_mib'] for r in runs):.0f} MiB" for system, runs in sorted(e2e.items())))
    sizes = sorted(
        (int(re.search(r"(\d+) learners", system).group(1)), runs[0]["store_bytes_per_learner"])
        for (s, system), runs in grouped.items()
        if s == "7. read cost (embedded)" and system.startswith("apply with the model") and "store_bytes_per_learner" in runs[0]
    )
    if sizes:
        lines.append("- Memory, the embedded store file (facts, indexes and read model) per learner: " + ", ".join(
            f"{bytes_:,} bytes at {n:,} learners" for n, bytes_ in sizes))
    return lines


def read_verdicts(grouped):
    """Scenario 7 against its targets, for each store: every size under
    the p99 target, growth from the smallest history to the largest,
    cached reads under ingest against idle."""
    verdicts = []
    for scenario, prefix in READ_STORES.items():
        store = scenario.split("(")[1].rstrip(")")
        for call, target in READ_TARGETS.items():
            sizes = sorted(
                ((int(re.search(r"(\d+) learners", system).group(1)), statistics.median(r["p99_ms"] for r in runs))
                 for (s, system), runs in grouped.items()
                 if s == scenario and system.startswith(f"{prefix}{call} uncached,")),
            )
            if len(sizes) < 2:
                continue
            worst = max(p99 for _, p99 in sizes)
            growth = sizes[-1][1] / sizes[0][1]
            # How much each call served at each size (older results lack it).
            served = {int(re.search(r"(\d+) learners", system).group(1)): runs[0]["served"]
                      for (s, system), runs in grouped.items()
                      if s == scenario and system.startswith(f"{prefix}{call} uncached,") and "served" in runs[0]}
            per_cell = ""
            if len(served) == len(sizes):
                per_cell = ("; served " + ", ".join(f"{served[n]:,}" for n, _ in sizes)
                            + " cells or points, p99 per served item "
                            + ", ".join(f"{p99 * 1e3 / served[n]:.0f} µs" for n, p99 in sizes))
            verdicts.append(
                f"- 7. {store}, {call}, uncached: p99 {', '.join(f'{p99:.1f} ms at {n:,}' for n, p99 in sizes)} "
                f"learners; worst {worst:.1f} (target ≤ {target}): {'met' if worst <= target else 'NOT met'}; "
                f"{sizes[-1][0]:,} / {sizes[0][0]:,} = {growth:.2f} (target ≤ {READ_GROWTH_TARGET}): "
                f"{'met' if growth <= READ_GROWTH_TARGET else 'NOT met'}{per_cell}"
            )
        idle = [r["p99_ms"] for (s, system), runs in grouped.items() if s == scenario and system.endswith("cached, idle")
                for r in runs]
        live = [r["p99_ms"] for (s, system), runs in grouped.items() if s == scenario and "cached, while" in system
                for r in runs]
        if idle and live:
            ratio = statistics.median(live) / statistics.median(idle)
            verdicts.append(
                f"- 7. {store}, cached GetRegionIndicators p99 while events are applied / idle = "
                f"{statistics.median(live):.1f} / {statistics.median(idle):.1f} ms = {ratio:.2f} "
                f"(target ≤ {LIVE_TARGET}): {'met' if ratio <= LIVE_TARGET else 'NOT met'}"
            )
    return verdicts


def number(scenario):
    """A scenario's number, as --only names it: "8" for "8. gateway, gRPC"."""
    return scenario.split(".")[0]


def merge(previous_path, new_path, only):
    """The rows of an --only run in place of the same scenarios' rows of
    the run BENCHMARKS.md names, printed as JSON lines."""
    only = set(only.split(","))
    for line in open(previous_path):
        if line.strip() and number(json.loads(line)["scenario"]) not in only:
            print(line.rstrip())
    for line in open(new_path):
        if line.strip():
            print(line.rstrip())


def check(rows, only=""):
    """The quick run's assertions: every scenario measured both systems,
    with positive figures (every scenario --only named, when it did)."""
    wanted = set(only.split(",")) if only else {number(scenario) for scenario in SCENARIOS}
    seen = {(r["scenario"], r["system"]) for r in rows if r["value"] > 0 and r["cpu_s_per_million"] > 0}
    expected = {scenario: [s for s in (ours, baseline) if s] for scenario, (ours, baseline, *_rest) in SCENARIOS.items()}
    expected["5. end to end"] = ["skills-ingest", "skills-aggregator", "skills-model", "skills-query", "Kafka broker",
                                 "ClickHouse server"]
    missing = [f"{scenario} / {system}" for scenario, systems in expected.items() for system in systems
               if (scenario, system) not in seen and number(scenario) in wanted]
    scale = [system for (scenario, system) in seen if scenario == "6. scale curve"]
    if len(scale) < 3 and "6" in wanted:
        missing.append(f"6. scale curve (3 sizes, {len(scale)} measured)")
    # Scenario 7's cached reads share the process with the writer: no CPU of their own.
    for scenario, prefix in READ_STORES.items():
        if "7" not in wanted:
            break
        reads = {r["system"] for r in rows if r["scenario"] == scenario and r["value"] > 0}
        for call in READ_TARGETS:
            sizes = [system for system in reads if system.startswith(f"{prefix}{call} uncached,")]
            if len(sizes) < 3:
                missing.append(f"{scenario}: {call} at 3 sizes ({len(sizes)} measured)")
        if not any(system.startswith(f"{prefix}GetRegionIndicators cached, while") for system in reads):
            missing.append(f"{scenario}: cached reads under ingest")
    if missing:
        sys.exit(f"bench check failed: no positive measurement for {', '.join(missing)}")
    print("bench check: every scenario measured both systems")


def main(results_path, markdown_path, command, raw_path, *flags):
    rows = [json.loads(line) for line in open(results_path) if line.strip()]
    grouped = defaultdict(list)
    for row in rows:
        grouped[(row["scenario"], row["system"])].append(row)
    lines = [
        "| scenario | system | median | spread (min–max) | runs | CPU-s per million | peak RSS MiB | p99 ms | ratio | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for scenario, (ours, baseline, unit, target, meaning, p99_target) in SCENARIOS.items():
        medians = {}
        stats = {}
        # Systems measured beside the pair (no ratio), e.g. the uncached query.
        beside = sorted({system for (s, system) in grouped if s == scenario} - {ours, baseline}, key=natural)
        for system in [s for s in (ours, baseline) if s] + beside:
            runs = grouped.get((scenario, system), [])
            if runs:
                medians[system] = statistics.median(r["value"] for r in runs)
                stats[system] = runs
        for system, runs in stats.items():
            median, low, high = summary([r["value"] for r in runs])
            row_unit = runs[0].get("unit", unit)
            cpu = statistics.median(r["cpu_s_per_million"] for r in runs)
            rss = statistics.median(r["rss_mib"] for r in runs)
            rss = f"{rss:.0f}" if rss > 0 else "(server)"
            p99s = [r["p99_ms"] for r in runs if "p99_ms" in r]
            p99 = f"{statistics.median(p99s):,.0f} ({min(p99s):,.0f}–{max(p99s):,.0f})" if p99s else ""
            both = ours in medians and medians.get(baseline, 0) > 0
            ratio = f"{medians[ours] / medians[baseline]:.2f}" if both and system == ours else ""
            lines.append(
                f"| {scenario} | {system} | {figure(median)} {row_unit} | {figure(low)}–{figure(high)} | {len(runs)} "
                f"| {cpu:.1f} | {rss} | {p99} | {ratio} | {'≥ ' + str(target) if system == ours else ''} |"
            )
        if ours in medians and medians.get(baseline, 0) > 0:
            ratio = medians[ours] / medians[baseline]
            verdicts.append(f"- {scenario}: {meaning} = {ratio:.2f} (target ≥ {target}): {'met' if ratio >= target else 'NOT met'}")
            spread = ratio_spread(stats[ours], stats[baseline])
            if spread:
                verdicts.append(spread)
            load = {s: [r["load_tool_cpu_s_per_million"] for r in stats[s] if "load_tool_cpu_s_per_million" in r]
                    for s in (ours, baseline)}
            if load[ours] and load[baseline]:
                cpu = {s: statistics.median(r["cpu_s_per_million"] for r in stats[s]) for s in (ours, baseline)}
                verdicts.append(
                    f"  CPU per call (µs): server {cpu[ours]:.0f} ours vs {cpu[baseline]:.0f} baseline "
                    f"(ratio {cpu[baseline] / cpu[ours]:.2f}); the load tool on the same cores "
                    f"{statistics.median(load[ours]):.0f} vs {statistics.median(load[baseline]):.0f}"
                )
            p99 = {s: [r["p99_ms"] for r in stats[s] if "p99_ms" in r] for s in (ours, baseline)}
            if p99[ours] and p99[baseline]:
                p99_ratio = statistics.median(p99[ours]) / statistics.median(p99[baseline])
                line = f"  p99 latency ours / baseline = {p99_ratio:.2f}"
                if p99_target is not None:
                    line += f" (target ≤ {p99_target}): {'met' if p99_ratio <= p99_target else 'NOT met'}"
                verdicts.append(line)
    verdicts.extend(write_path_verdicts(grouped))
    verdicts.extend(read_verdicts(grouped))
    verdicts.extend(memory_lines(grouped))
    table = "\n".join(lines)
    print(table)
    print("\n".join(verdicts))
    if "--check" in flags:
        only = next((flag.split("=", 1)[1] for flag in flags if flag.startswith("--only=")), "")
        check(rows, only)
        return
    with open(markdown_path, "w") as out:
        out.write("# Benchmarks\n\n")
        if "--only" in command:
            out.write("Written by `deploy/bench.sh` from its last full run, with the scenarios of the later "
                      "`--only` runs the command names replaced by theirs; do not edit by hand.\n\n")
        else:
            out.write("Written by `deploy/bench.sh` from its last full run; do not edit by hand.\n\n")
        out.write(f"- Machine: {machine()}; Kafka 4.1.1 (KRaft, one broker) and ClickHouse 18.16 on the same machine.\n")
        out.write(f"- Command: `{command}`\n")
        out.write(f"- Raw measurements: `{raw_path}` (one JSON line per run).\n\n")
        out.write(table + "\n\n")
        out.write("\n".join(verdicts) + "\n\n")
        out.write("How each scenario is measured:\n\n")
        out.write(
            "Every run of a scenario that writes to ClickHouse (2, 3, 5, 6), for each system, starts on a fresh "
            "private ClickHouse server with empty data (`fresh_clickhouse` in deploy/lib/bench.sh), so that no run "
            "pays for the parts and merges an earlier one left; in scenario 2 the Kafka engine, which shares its "
            "run's server with the aggregator's rows for the row comparison, starts once the server's background "
            "merges are drained.\n\n"
        )
        out.write(
            "- 1. ingest: the synthetic data set (JSON and protobuf, 2% duplicates, planted mistakes) is sent once to "
            "fresh raw topics (6 partitions each); each run reads all of it with a new consumer group. `skills-ingest` "
            "(release) decodes, validates, pseudonymises and produces normalized events; its rate is read from its "
            "/metrics counters, first non-zero sample to the sample that reaches the total. The baseline, "
            "`bench/src/bin/bare-passthrough.rs`, copies every raw message unchanged to one topic with the same "
            "client settings and batch shape; its rate is from its first record to its last commit. CPU and peak "
            "RSS are read from /proc for both.\n"
            "- 2. aggregation: both read one backlog of normalized events (the synthetic set at five times scenario 1's "
            "learners, normalized by the domain code as ingest does, `bench/src/bin/normalized-feed.rs`), into a fresh database "
            "each (the store's schema). `skills-aggregator` (release) reads the protobuf topic (and the dead-letter "
            "topic) and writes facts, dead letters, applied events and checkpoints; ClickHouse's Kafka table engine "
            "(one consumer, JSONEachRow, server defaults) feeds, through one view into a `Null` table attached last, "
            "four materialized views that derive the same fact "
            "and applied-event rows in SQL, from a JSON copy of the same topic made beforehand "
            "(`bench/src/bin/kafka-engine.rs`; ClickHouse 18.16 reads no protobuf). Rate: the applied-events count "
            "polled every 50 ms, from the start of the consumer (process start; Kafka table created) to the full count, so "
            "start-up and group join count for both. CPU: the aggregator's plus the ClickHouse "
            "server's over that window (the server's part on its own row; the engine: the server's alone). p99: after the backlog, demand events "
            "sent at a fixed rate to each system's topic, time from send until the event is in ClickHouse (polled "
            "every 20 ms). Each run checks that both databases hold the same rows (count and checksum per table) "
            "before the figures count.\n"
            "- 3. ClickHouse write path: `bench/src/bin/clickhouse-sink.rs` turns the same synthetic data set into "
            "facts once, then per run writes them in batches of 20,000 events into a fresh database per system: "
            "through the aggregator's sink (`ClickHouseStore::apply`: the idempotency lookup of known event ids, "
            "fact tables side by side, then applied events) and through a bare `clickhouse` crate inserter writing "
            "exactly the same rows (the store's own row types), one insert per table, no lookup. Rows per second "
            "over fact and applied-event rows; CPU is this process's during the writes (ClickHouse's own is not "
            "counted).\n"
            "- 4. query: ghz (one connection, the same concurrency and duration for both) against `skills-query` "
            "(release) on scenario 2's database with skills-model's copy of it (built first, as a ClickHouse "
            "deployment reads), GetRegionIndicators {region 84, period 2025} with a policy token, "
            "served from its per-period cache; the baseline is tonic's hello-world Greeter "
            "(`bench/src/bin/hello-server.rs`, SayHello, same metadata sent). CPU is the server's over the ghz run. "
            "The uncached call (query.cache = false: every call reads the copy in ClickHouse and decides the year's "
            "suppression again, each partner's pass included) is measured beside it, 2 at a time, with no baseline.\n"
            "- 5. end to end: `skills-ingest`, `skills-aggregator`, `skills-model` and `skills-query` (release) on "
            "fresh topics and database, with the broker and ClickHouse, all on this machine. The events/s (the same "
            "on each row) is the pipeline's capacity: the synthetic set sent at once, raw events over the time "
            "from ingest's first event to the last record stored by both the aggregator and skills-model. CPU per "
            "million raw events: each service's own from its start to that point, the broker's and ClickHouse's "
            "from the send to that point; their sum bounds what the machine's cores can carry. Then new learners "
            "are sent at a steady half of that capacity while `bench/src/bin/freshness-probe.rs` "
            "runs five probes, each sending one job posting at a time for its own skill and timing it from send "
            "to skills-query serving that cell's openings one higher (through the read model, query cache "
            "refresh included): the p99 column. Peak RSS is each service's own over both phases.\n"
            "- 6. scale curve: `skills-aggregator` alone on a backlog of normalized events (the synthetic set at "
            "each number of distinct learners, normalized by the domain code as ingest does, "
            "`bench/src/bin/normalized-feed.rs`), into a fresh database; events/s from its first stored batch to the full "
            "applied-events count in ClickHouse; its peak RSS.\n"
            "- 7. read cost (embedded): `bench/src/bin/read-model.rs`, in one process: the synthetic set at each "
            "number of learners, normalized as ingest does, applied to a fresh embedded store in batches of 5,000 "
            "(events/s with the read model kept in each batch's transaction); then, over real gRPC on loopback with "
            "the query cache off, sequential uncached calls of GetRegionIndicators {84, 2025}, RankShortages {2025, "
            "top 500} and GetTrend {84, 3.4, 2024-01..2025-12} (p99; the 1M / 10k growth); beside them, one "
            "count of 2025's cells from the facts (what every read cost before the read model; the figure is its "
            "time in ms). At the largest size, cached GetRegionIndicators every 20 ms, idle and while new learners' "
            "events are applied at 5,000 a second (the cache moves to each new version after computing the "
            "periods being read).\n"
            "- 7. read cost (ClickHouse): the same binary with `--clickhouse`, on a fresh private ClickHouse server: "
            "at each size the facts written as skills-aggregator writes them, the embedded store above adopted by "
            "skills-model's materializer as its state and copied whole into `model_cells` (seconds, cells), the "
            "server's background merges drained, the same uncached calls against the ClickHouse store, the recount of 2025 from ClickHouse's facts beside the "
            "model (asserted equal); at the largest size, cached calls while new learners' events go to the facts "
            "and through the materializer at 5,000 a second each, side by side as the two services run (the rates they "
            "achieved are in the raw results). The ClickHouse server's resident and peak memory are in "
            "the raw results (`clickhouse_rss_mib`, `clickhouse_peak_rss_mib`).\n"
            "- 8. gateway: the synthetic set's valid events sent by a partner through `skills-gateway` (release, "
            "one credential, no rate limit) to fresh raw topics, against `skills send` straight to Kafka with the "
            "same learners in the same run; events/s from the first event sent to the last acknowledged (the "
            "gateway acks once Kafka has the event, acks=all; `skills send` returns once Kafka has acknowledged "
            "everything). gRPC: one Publish stream, as fast as HTTP/2 flow control lets it (`bench/src/bin/"
            "gateway-load.rs`); xAPI: the enrolments and assessments as statements (demand has no xAPI form), 500 a "
            "request over two keep-alive connections. p99: from an event's send to its ack (xAPI: its request's). "
            "CPU: the gateway's over each load; the baseline's: `skills send`'s own.\n\n"
        )
        if NOT_YET:
            out.write("Not measured yet:\n\n")
            out.write("\n".join(f"- {item}" for item in NOT_YET) + "\n\n")
        history = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_history.md")
        out.write(open(history).read())


if __name__ == "__main__":
    if sys.argv[1] == "--merge":
        merge(*sys.argv[2:])
    else:
        main(*sys.argv[1:])
