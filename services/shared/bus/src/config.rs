//! `[bus]` configuration and the factory that turns it into a bus.

use crate::embedded::EmbeddedBus;
use crate::kafka::{KafkaBus, KafkaConfig};
use crate::{Bus, BusError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BusKind {
    /// In-process; only within one process (the all-in-one `skills`).
    Embedded,
    Kafka,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusConfig {
    pub kind: BusKind,
    /// Embedded: uncommitted records a topic holds before producers wait.
    pub capacity: usize,
    pub kafka: KafkaConfig,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig { kind: BusKind::Embedded, capacity: 50_000, kafka: KafkaConfig::default() }
    }
}

/// The bus the configuration names.
pub fn connect(config: &BusConfig) -> Result<Arc<dyn Bus>, BusError> {
    Ok(match config.kind {
        BusKind::Embedded => Arc::new(EmbeddedBus::new(config.capacity)),
        BusKind::Kafka => Arc::new(KafkaBus::new(config.kafka.clone())?),
    })
}

/// The bus of a service running as its own process: the embedded bus only
/// exists inside one process, so it is refused here with the fix named.
pub fn connect_shared(config: &BusConfig) -> Result<Arc<dyn Bus>, BusError> {
    if config.kind == BusKind::Embedded {
        return Err(BusError::Config(
            "bus.kind = \"embedded\" works only inside the all-in-one `skills` process; \
             set bus.kind = \"kafka\" (SKILLS__BUS__KIND=kafka)"
                .into(),
        ));
    }
    connect(config)
}
