//! Migrations (SQL files under `sql/clickhouse/`, applied in order, each
//! once, recorded in `schema_migrations`) and the start-up schema check
//! that stands in for the client's row validation.

use super::store_error;
use crate::StoreError;
use clickhouse::Client;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) const MIGRATIONS: [(u32, &str); 3] = [
    (1, include_str!("../../sql/clickhouse/0001_facts.sql")),
    (2, include_str!("../../sql/clickhouse/0002_erasure.sql")),
    (3, include_str!("../../sql/clickhouse/0003_read_model.sql")),
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

pub(super) async fn migrate(client: &Client, db: &str) -> Result<(), StoreError> {
    client.query(&format!("CREATE DATABASE IF NOT EXISTS {db}")).execute().await.map_err(store_error)?;
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
    for (version, sql) in MIGRATIONS {
        if applied.contains(&version) {
            continue;
        }
        for statement in statements(sql, db) {
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

    #[test]
    fn expected_columns_come_from_the_migrations() {
        let tables = expected_columns();
        assert_eq!(tables.len(), 10, "seven tables of version 1, erased_learners of version 2, the model's two");
        assert_eq!(tables["model_cells"].len(), 4 + 22 + 2);
        assert!(tables["model_cells"].contains(&("finishing_months".to_string(), "Array(Int32)".to_string())));
        assert_eq!(tables["erased_learners"].len(), 2);
        let enrolments = &tables["enrolment_facts"];
        assert!(enrolments.contains(&("occurred_at".to_string(), "DateTime('UTC')".to_string())));
        assert!(enrolments.contains(&("status".to_string(), "UInt8".to_string())));
        assert_eq!(enrolments.len(), 15);
    }
}
