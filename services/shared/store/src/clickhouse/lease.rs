//! One process at a time migrates a database. Every service connects at
//! start-up, and several starting together used to apply the same
//! migrations side by side. The lease is a table, `{db}.migration_lease`:
//! ClickHouse creates a table name once and refuses the second `CREATE
//! TABLE` with TABLE_ALREADY_EXISTS, so whoever creates it holds the lease;
//! the others wait until the schema is current. The holder adds a heartbeat
//! row every `heartbeat`; a lease whose row count has not moved for
//! `stale_after` (by the waiter's own clock, so no clocks are compared) is
//! a crashed holder's, and is removed. Two waiters that find the same stale
//! lease at the same moment may both remove it and both migrate: the
//! statements are idempotent (`IF NOT EXISTS`) and versions are read with
//! DISTINCT, so that rare case costs time, not correctness.

use super::store_error;
use crate::StoreError;
use clickhouse::Client;
use std::future::Future;
use std::time::{Duration, Instant};

/// TABLE_ALREADY_EXISTS: someone else holds the lease.
const ALREADY_EXISTS: u32 = 57;
/// UNKNOWN_TABLE: the lease was released between two looks.
const UNKNOWN_TABLE: u32 = 60;

#[derive(Debug, Clone, Copy)]
pub struct LeaseTiming {
    pub heartbeat: Duration,
    pub stale_after: Duration,
    /// A waiter gives up after this long (a holder migrating a large
    /// table heartbeats all along, so this is only a backstop).
    pub give_up_after: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        LeaseTiming {
            heartbeat: Duration::from_secs(2),
            stale_after: Duration::from_secs(30),
            give_up_after: Duration::from_secs(3600),
        }
    }
}

/// What a look at the lease found.
pub enum Lease {
    Taken,
    HeldByOther,
}

/// Tries to create the lease table; on success writes the first heartbeat.
pub async fn take(client: &Client, db: &str, holder: &str) -> Result<Lease, StoreError> {
    let created = client
        .query(&format!("CREATE TABLE {db}.migration_lease (holder String, heartbeat DateTime) ENGINE = Log"))
        .execute()
        .await
        .map_err(store_error);
    match created {
        Ok(()) => {
            beat(client, db, holder).await?;
            Ok(Lease::Taken)
        }
        Err(error) if error.code() == Some(ALREADY_EXISTS) => Ok(Lease::HeldByOther),
        Err(error) => Err(error),
    }
}

pub async fn release(client: &Client, db: &str) -> Result<(), StoreError> {
    client.query(&format!("DROP TABLE IF EXISTS {db}.migration_lease")).execute().await.map_err(store_error)
}

async fn beat(client: &Client, db: &str, holder: &str) -> Result<(), StoreError> {
    client
        .query(&format!("INSERT INTO {db}.migration_lease (holder, heartbeat) VALUES (?, now())"))
        .bind(holder)
        .execute()
        .await
        .map_err(store_error)
}

/// Runs `work` while beating the lease's heartbeat.
pub async fn with_heartbeat<T>(
    client: &Client,
    db: &str,
    holder: &str,
    every: Duration,
    work: impl Future<Output = T>,
) -> T {
    tokio::pin!(work);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = tick.tick() => {
                if let Err(error) = beat(client, db, holder).await {
                    tracing::warn!(database = db, %error, "migration lease heartbeat failed");
                }
            }
        }
    }
}

/// A waiter's view of someone else's lease: stale once its heartbeat
/// count has not moved for `stale_after`.
pub struct Watch {
    seen: Option<(u64, String)>,
    since: Instant,
}

impl Watch {
    pub fn new() -> Watch {
        Watch { seen: None, since: Instant::now() }
    }

    /// Whether the lease is stale now (false once it is gone).
    pub async fn is_stale(&mut self, client: &Client, db: &str, stale_after: Duration) -> Result<bool, StoreError> {
        let look = client
            .query(&format!("SELECT count(), any(holder) FROM {db}.migration_lease"))
            .fetch_one::<(u64, String)>()
            .await
            .map_err(store_error);
        let now = match look {
            Ok(now) => now,
            Err(error) if error.code() == Some(UNKNOWN_TABLE) => return Ok(false),
            Err(error) => return Err(error),
        };
        if self.seen.as_ref() != Some(&now) {
            tracing::info!(database = db, holder = %now.1, "waiting for another process's migrations");
            self.seen = Some(now);
            self.since = Instant::now();
            return Ok(false);
        }
        Ok(self.since.elapsed() >= stale_after)
    }

    pub fn holder(&self) -> &str {
        self.seen.as_ref().map_or("", |(_, holder)| holder.as_str())
    }
}
