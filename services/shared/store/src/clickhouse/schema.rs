//! Migrations (SQL files under `sql/clickhouse/`, applied in order, each
//! once, recorded in `schema_migrations`) and the start-up schema check
//! that stands in for the client's row validation.

use super::lease::{self, LeaseTiming};
use super::store_error;
use crate::StoreError;
use clickhouse::Client;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

pub(crate) const MIGRATIONS: [(u32, &str); 6] = [
    (1, include_str!("../../sql/clickhouse/0001_facts.sql")),
    (2, include_str!("../../sql/clickhouse/0002_erasure.sql")),
    (3, include_str!("../../sql/clickhouse/0003_read_model.sql")),
    (4, include_str!("../../sql/clickhouse/0004_profiled.sql")),
    (5, include_str!("../../sql/clickhouse/0005_model_partners.sql")),
    (6, include_str!("../../sql/clickhouse/0006_partner_status.sql")),
];

/// The statements of a migration for database `db`, comments removed.
pub(crate) fn statements(sql: &str, db: &str) -> Vec<String> {
    let without_comments: String =
        sql.lines().map(|line| line.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    without_comments
        .split(';')
        .map(|statement| statement.trim().replace("{db}", db))
        .filter(|statement| !statement.is_empty())
        .collect()
}

/// Columns each table must have, read from the migrations themselves:
/// table → {(column, type)}.
pub(crate) fn expected_columns() -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut tables = BTreeMap::new();
    for (_, sql) in MIGRATIONS {
        for statement in statements(sql, "db") {
            if let Some((table, name, kind)) = added_column(&statement, "db") {
                let columns: &mut BTreeSet<(String, String)> = tables.entry(table).or_default();
                columns.insert((name, kind));
                continue;
            }
            let Some(rest) = statement.strip_prefix("CREATE TABLE IF NOT EXISTS db.") else { continue };
            let Some((table, body)) = rest.split_once('(') else { continue };
            let columns_text = body.split(") ENGINE").next().unwrap_or("");
            let columns: BTreeSet<(String, String)> = columns_text
                .lines()
                .filter_map(|line| {
                    let line = line.trim().trim_end_matches(',');
                    let (name, kind) = line.split_once(char::is_whitespace)?;
                    Some((name.to_string(), kind.trim().to_string()))
                })
                .collect();
            tables.insert(table.trim().to_string(), columns);
        }
    }
    tables
}

/// `(table, column, type)` of an `ALTER TABLE {db}.t ADD COLUMN name type
/// [DEFAULT ...]` statement (this server's version has no `IF NOT EXISTS`
/// there, so the migration skips a column that is already in place).
fn added_column(statement: &str, db: &str) -> Option<(String, String, String)> {
    let rest = statement.strip_prefix(&format!("ALTER TABLE {db}."))?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    match words.as_slice() {
        [table, "ADD", "COLUMN", name, kind, ..] => Some((table.to_string(), name.to_string(), kind.to_string())),
        _ => None,
    }
}

/// Applies the pending migrations, one process at a time (`lease`): the
/// first to take the lease migrates, the others wait until the schema is
/// current, then check it like everyone.
pub(super) async fn migrate(client: &Client, db: &str) -> Result<(), StoreError> {
    migrate_with(client, db, LeaseTiming::default()).await
}

pub(super) async fn migrate_with(client: &Client, db: &str, timing: LeaseTiming) -> Result<(), StoreError> {
    client.query(&format!("CREATE DATABASE IF NOT EXISTS {db}")).execute().await.map_err(store_error)?;
    let holder = format!("pid {} on {}", std::process::id(), host_name());
    let started = Instant::now();
    let mut watch = lease::Watch::new();
    loop {
        if pending(client, db).await?.is_empty() {
            return Ok(());
        }
        match lease::take(client, db, &holder).await? {
            lease::Lease::Taken => {
                let applied =
                    lease::with_heartbeat(client, db, &holder, timing.heartbeat, apply_pending(client, db)).await;
                let released = lease::release(client, db).await;
                return applied.and(released);
            }
            lease::Lease::HeldByOther => {
                if watch.is_stale(client, db, timing.stale_after).await? {
                    tracing::warn!(
                        database = db,
                        holder = watch.holder(),
                        "migration lease without a heartbeat; taking it over"
                    );
                    lease::release(client, db).await?;
                    watch = lease::Watch::new();
                    continue;
                }
                if started.elapsed() > timing.give_up_after {
                    return Err(StoreError::unavailable(format!(
                        "waited {} s for {} to migrate database {db}; if no process is migrating, drop {db}.migration_lease",
                        started.elapsed().as_secs(),
                        watch.holder()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// The migrations not yet recorded in `schema_migrations`; an error if
/// the database is newer than this build.
async fn pending(client: &Client, db: &str) -> Result<Vec<(u32, &'static str)>, StoreError> {
    let has_ledger: u8 =
        client.query(&format!("EXISTS TABLE {db}.schema_migrations")).fetch_one().await.map_err(store_error)?;
    let applied: BTreeSet<u32> = if has_ledger == 1 {
        let versions: Vec<u32> = client
            .query(&format!("SELECT DISTINCT version FROM {db}.schema_migrations"))
            .fetch_all()
            .await
            .map_err(store_error)?;
        versions.into_iter().collect()
    } else {
        BTreeSet::new()
    };
    if let Some(newest) = applied.iter().max()
        && *newest > MIGRATIONS.len() as u32
    {
        return Err(StoreError::schema(format!(
            "database {db} has schema version {newest}, newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    Ok(MIGRATIONS.into_iter().filter(|(version, _)| !applied.contains(version)).collect())
}

/// Applies what is pending, read again under the lease: another process
/// may have finished just before it was taken.
async fn apply_pending(client: &Client, db: &str) -> Result<(), StoreError> {
    for (version, sql) in pending(client, db).await? {
        for statement in statements(sql, db) {
            if let Some((table, name, _)) = added_column(&statement, db) {
                let present: u64 = client
                    .query("SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?")
                    .bind(db)
                    .bind(&table)
                    .bind(&name)
                    .fetch_one()
                    .await
                    .map_err(store_error)?;
                if present > 0 {
                    continue; // added by a run that stopped before recording the version
                }
            }
            client.query(&statement).execute().await.map_err(|e| {
                StoreError::schema(format!("migration {version} failed on `{}`: {e}", first_line(&statement)))
            })?;
        }
        client
            .query(&format!("INSERT INTO {db}.schema_migrations (version, applied_at) VALUES (?, now())"))
            .bind(version)
            .execute()
            .await
            .map_err(store_error)?;
        tracing::info!(database = db, version, "applied ClickHouse migration");
    }
    Ok(())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|name| name.trim().to_string()).unwrap_or_default()
}

fn first_line(statement: &str) -> &str {
    statement.lines().next().unwrap_or(statement)
}

pub(super) async fn check(client: &Client, db: &str) -> Result<(), StoreError> {
    let rows: Vec<(String, String, String)> = client
        .query("SELECT table, name, type FROM system.columns WHERE database = ?")
        .bind(db)
        .fetch_all()
        .await
        .map_err(store_error)?;
    let mut actual: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for (table, name, kind) in rows {
        actual.entry(table).or_default().insert((name, kind));
    }
    for (table, expected) in expected_columns() {
        let found = actual.get(&table).cloned().unwrap_or_default();
        let missing: Vec<String> = expected.difference(&found).map(|(n, t)| format!("{n} {t}")).collect();
        if !missing.is_empty() {
            return Err(StoreError::schema(format!(
                "table {db}.{table} does not match this build: missing or different columns: {}",
                missing.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_split_into_statements_for_the_database() {
        let statements = statements(MIGRATIONS[0].1, "skills_test");
        assert!(statements[0].starts_with("CREATE DATABASE IF NOT EXISTS skills_test"));
        assert!(statements.iter().all(|s| !s.contains("{db}") && !s.contains("--")));
        assert_eq!(statements.len(), 8, "the database and seven tables");
    }

    /// A client of the server `deploy/infra.sh up` starts, and a fresh
    /// database name.
    fn server(name: &str) -> (Client, String) {
        let url = std::env::var("SKILLS_CLICKHOUSE_URL").expect("SKILLS_CLICKHOUSE_URL: ./deploy/infra.sh up");
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        (Client::default().with_url(url).with_validation(false), format!("test_lease_{name}_{nanos}"))
    }

    async fn times_applied(client: &Client, db: &str) -> Vec<(u32, u64)> {
        client
            .query(&format!("SELECT version, count() FROM {db}.schema_migrations GROUP BY version ORDER BY version"))
            .fetch_all()
            .await
            .unwrap()
    }

    async fn lease_exists(client: &Client, db: &str) -> bool {
        client.query(&format!("EXISTS TABLE {db}.migration_lease")).fetch_one::<u8>().await.unwrap() == 1
    }

    fn once_each() -> Vec<(u32, u64)> {
        MIGRATIONS.iter().map(|(version, _)| (*version, 1)).collect()
    }

    #[tokio::test]
    #[ignore = "needs ClickHouse: ./deploy/test.sh"]
    async fn a_lease_left_by_a_crashed_migration_is_taken_over() {
        let (client, db) = server("stale");
        client.query(&format!("CREATE DATABASE {db}")).execute().await.unwrap();
        assert!(matches!(lease::take(&client, &db, "pid 1 on crashed").await.unwrap(), lease::Lease::Taken));
        let timing = LeaseTiming {
            heartbeat: Duration::from_millis(100),
            stale_after: Duration::from_millis(600),
            give_up_after: Duration::from_secs(30),
        };
        let started = Instant::now();
        migrate_with(&client, &db, timing).await.unwrap();
        assert!(started.elapsed() >= timing.stale_after, "waited for the lease to go stale first");
        assert_eq!(times_applied(&client, &db).await, once_each());
        assert!(!lease_exists(&client, &db).await);
        client.query(&format!("DROP DATABASE {db}")).execute().await.unwrap();
    }

    #[tokio::test]
    #[ignore = "needs ClickHouse: ./deploy/test.sh"]
    async fn a_live_lease_is_waited_for_not_taken() {
        let (client, db) = server("live");
        client.query(&format!("CREATE DATABASE {db}")).execute().await.unwrap();
        assert!(matches!(lease::take(&client, &db, "pid 2 on busy").await.unwrap(), lease::Lease::Taken));
        let timing = LeaseTiming {
            heartbeat: Duration::from_millis(100),
            stale_after: Duration::from_millis(600),
            give_up_after: Duration::from_secs(2),
        };
        // The holder beats all along but never finishes.
        let holder =
            lease::with_heartbeat(&client, &db, "pid 2 on busy", timing.heartbeat, std::future::pending::<()>());
        let error = tokio::select! {
            result = migrate_with(&client, &db, timing) => result.unwrap_err(),
            _ = holder => unreachable!(),
        };
        assert!(error.is_retryable(), "{error}");
        assert!(
            error.to_string().contains("pid 2 on busy") && error.to_string().contains("migration_lease"),
            "{error}"
        );
        assert_eq!(times_applied_or_none(&client, &db).await, 0, "the waiter applied nothing");
        client.query(&format!("DROP DATABASE {db}")).execute().await.unwrap();
    }

    async fn times_applied_or_none(client: &Client, db: &str) -> usize {
        let has: u8 = client.query(&format!("EXISTS TABLE {db}.schema_migrations")).fetch_one().await.unwrap();
        if has == 0 { 0 } else { times_applied(client, db).await.len() }
    }

    #[test]
    fn expected_columns_come_from_the_migrations() {
        let tables = expected_columns();
        assert_eq!(
            tables.len(),
            12,
            "seven of version 1, erased_learners of 2, the model's three, duplicate_events of 6"
        );
        assert_eq!(tables["applied_events"].len(), 6 + 3, "raw records added by version 6");
        assert!(tables["dead_letters"].contains(&("partner_id".to_string(), "String".to_string())));
        assert_eq!(tables["model_partner_cells"].len(), 5 + 3, "added by version 5");
        assert_eq!(tables["model_cells"].len(), 4 + 22 + 2);
        assert!(tables["model_cells"].contains(&("finishing_months".to_string(), "Array(Int32)".to_string())));
        assert_eq!(tables["erased_learners"].len(), 2);
        let enrolments = &tables["enrolment_facts"];
        assert!(enrolments.contains(&("occurred_at".to_string(), "DateTime('UTC')".to_string())));
        assert!(enrolments.contains(&("status".to_string(), "UInt8".to_string())));
        assert!(enrolments.contains(&("profiled".to_string(), "UInt8".to_string())), "added by version 4");
        assert_eq!(enrolments.len(), 16);
    }
}
