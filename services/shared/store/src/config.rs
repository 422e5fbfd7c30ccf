//! `[store]` configuration and the factory that opens the configured store.

use crate::{ClickHouseConfig, ClickHouseStore, EmbeddedStore, MetricsStore, StoreError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// SQLite in one file: one machine.
    Embedded,
    ClickHouse,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub kind: StoreKind,
    /// Embedded: the store file (default: `<data_dir>/skills.db`).
    pub path: Option<PathBuf>,
    pub clickhouse: ClickHouseConfig,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { kind: StoreKind::Embedded, path: None, clickhouse: ClickHouseConfig::default() }
    }
}

/// Opens the configured store; `data_dir` places the embedded file when no
/// path is given.
pub async fn open(config: &StoreConfig, data_dir: &Path) -> Result<Arc<dyn MetricsStore>, StoreError> {
    Ok(match config.kind {
        StoreKind::Embedded => {
            let path = config.path.clone().unwrap_or_else(|| data_dir.join("skills.db"));
            Arc::new(EmbeddedStore::open(&path)?)
        }
        StoreKind::ClickHouse => Arc::new(ClickHouseStore::connect(&config.clickhouse).await?),
    })
}

/// Opens the configured store, waiting while it is unreachable: a service
/// may start before its database. Gives up on errors that waiting cannot
/// fix (schema mismatch, bad settings), or with the last error once `stop`
/// resolves.
pub async fn open_when_ready(
    config: &StoreConfig,
    data_dir: &Path,
    stop: impl std::future::Future<Output = ()>,
) -> Result<Arc<dyn MetricsStore>, StoreError> {
    tokio::pin!(stop);
    let mut delay = Duration::from_millis(250);
    loop {
        match open(config, data_dir).await {
            Err(error) if error.is_retryable() => {
                tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "store unreachable; waiting for it");
                tokio::select! {
                    _ = &mut stop => return Err(error),
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
}
