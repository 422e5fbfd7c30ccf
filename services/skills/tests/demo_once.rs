//! `skills demo --once` as a newcomer runs it: a fresh data dir, the real
//! binary, the report on stdout, exit 0; a second run reuses the store.

use std::process::Command;

fn run_demo(data_dir: &std::path::Path) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_skills"))
        .args(["demo", "--once", "--learners", "3000", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the skills binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status);
    (stdout, stderr)
}

#[test]
fn demo_once_prints_indicators_for_all_18_regions_and_keeps_its_store() {
    let data_dir = std::env::temp_dir().join(format!("skills-demo-once-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);

    let (stdout, stderr) = run_demo(&data_dir);
    assert!(stderr.contains("seeding 3000 synthetic learners"), "{stderr}");
    assert!(stdout.contains("Top 10 shortages"));
    let regions_table = stdout.split("\nRegions —").nth(1).expect("a regions table");
    for region in skills_domain::reference::REGIONS {
        let row = regions_table
            .lines()
            .find(|line| line.starts_with(&format!("{} {}", region.code, region.name)))
            .unwrap_or_else(|| panic!("no row for region {} in:\n{stdout}", region.code));
        let enrolled: u64 = row[format!("{} {}", region.code, region.name).len()..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no enrolled count in {row:?}"));
        assert!(enrolled > 0, "{row}");
    }
    assert!(data_dir.join("skills.db").exists());
    assert!(data_dir.join("pseudonym.key").exists());
    assert!(!stdout.contains("learner-0"), "no raw learner id is printed");

    let (second, stderr) = run_demo(&data_dir);
    assert!(stderr.contains("not seeding again"), "{stderr}");
    let counted = |text: &str| text.lines().find(|l| l.starts_with("events counted")).map(str::to_string);
    assert_eq!(counted(&second), counted(&stdout), "the same store, the same counts");
    let regions = |text: &str| text.split("\nRegions —").nth(1).map(str::to_string);
    assert_eq!(regions(&second), regions(&stdout), "the same store, the same indicators");
    std::fs::remove_dir_all(&data_dir).unwrap();
}
