//! `skills verify-model` as an operator runs it: the real binary against an
//! embedded store holding a random history. A clean model passes; a cell
//! tampered with in the file is named with its field and makes the command
//! exit 1; `--rebuild` repairs it from the facts.

use skills_store::fixtures::random_history;
use skills_store::{Batch, EmbeddedStore, MetricsStore};
use std::process::Command;

fn verify(data_dir: &std::path::Path, extra: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_skills"))
        .args(["verify-model", "--from-year", "2024", "--to-year", "2025", "--sample", "40", "--json"])
        .args(extra)
        .env("SKILLS__DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the skills binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), stdout, stderr)
}

#[tokio::test]
async fn a_tampered_cell_is_named_and_fails_the_check_until_rebuilt() {
    let data_dir = std::env::temp_dir().join(format!("skills-verify-model-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let store = EmbeddedStore::open(&data_dir.join("skills.db")).unwrap();
    store.apply(Batch { events: random_history(5, 80), ..Default::default() }).await.unwrap();
    drop(store);

    let (ok, stdout, stderr) = verify(&data_dir, &[]);
    assert!(ok, "a model built by the store matches its facts\n{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["mismatched_cells"], 0);
    assert!(report["cells_checked"].as_u64().unwrap() > 50, "{report}");

    let connection = rusqlite::Connection::open(data_dir.join("skills.db")).unwrap();
    let changed = connection
        .execute(
            "UPDATE cell_tallies SET enrolled = enrolled + 1 WHERE period = '2025' AND region = '84' AND skill = '3.4'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1, "the cell exists");
    drop(connection);

    let (ok, stdout, stderr) = verify(&data_dir, &[]);
    assert!(!ok, "exit 1 on a mismatch");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["mismatched_cells"], 1, "{report}");
    let mismatch = &report["mismatches"][0];
    assert_eq!((mismatch["period"].as_str(), mismatch["region"].as_str()), (Some("2025"), Some("84")));
    assert_eq!((mismatch["skill"].as_str(), mismatch["field"].as_str()), (Some("3.4"), Some("enrolled")));
    assert_eq!(mismatch["model"].as_i64().unwrap(), mismatch["facts"].as_i64().unwrap() + 1);
    assert!(stderr.contains("read model differs from the facts") && stderr.contains("region=84"), "{stderr}");

    let (ok, _, _) = verify(&data_dir, &["--rebuild"]);
    assert!(!ok, "the run that finds the mismatch still fails");
    let (ok, stdout, _) = verify(&data_dir, &[]);
    assert!(ok, "rebuilt from the facts\n{stdout}");
    std::fs::remove_dir_all(&data_dir).unwrap();
}
