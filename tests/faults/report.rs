//! The results table, as RELIABILITY.md shows it.

use crate::scenarios::{Outcome, Settings};
use std::fmt::Write;
use std::time::Duration;

fn seconds(duration: Option<Duration>) -> String {
    duration.map_or("—".into(), |d| format!("{:.1} s", d.as_secs_f64()))
}

pub fn table(outcomes: &[Outcome], settings: &Settings, command: &str, log_scan: &str) -> String {
    let mut out = String::new();
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    writeln!(out, "Command: `{command}`, {date}. Steady load: {} synthetic learners per scenario", settings.learners)
        .ok();
    writeln!(
        out,
        "sent by `skills send` at {} events/s; private Kafka and ClickHouse on this machine.\n",
        settings.rate
    )
    .ok();
    out.push_str(
        "| Scenario | Events in | Counted | Repeats | Dead-lettered | Lost | Double-counted | Cells ≠ clean run | Recovery | Drain | Result |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for o in outcomes {
        let r = &o.reconciled;
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            o.title,
            r.raw,
            r.counted,
            r.duplicates,
            r.dead_lettered,
            o.lost,
            o.counters.over,
            o.counters.cells_differing,
            seconds(o.recovery),
            seconds(o.drained_in),
            if o.passed() { "pass" } else { "FAIL" },
        )
        .ok();
    }
    out.push('\n');
    for o in outcomes.iter().filter(|o| !o.passed()) {
        writeln!(out, "- {}: {}", o.fault.name(), o.problems.join("; ")).ok();
    }
    writeln!(out, "{log_scan}").ok();
    out
}
