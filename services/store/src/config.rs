//! `[store]` configuration and the factory that opens the configured store.

use crate::{ClickHouseConfig, ClickHouseStore, EmbeddedStore, MetricsStore, StoreError};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// SQLite in one file: one machine.
    Embedded,
    ClickHouse,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
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
