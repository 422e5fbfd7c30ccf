//! `[store.clickhouse]` configuration.

use crate::StoreError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClickHouseConfig {
    /// HTTP endpoint.
    pub url: String,
    pub database: String,
    pub user: String,
    /// Environment variable holding the password (none: no password).
    pub password_env: String,
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        ClickHouseConfig {
            url: "http://127.0.0.1:8123".into(),
            database: "skills".into(),
            user: "default".into(),
            password_env: "SKILLS_CLICKHOUSE_PASSWORD".into(),
        }
    }
}

impl ClickHouseConfig {
    pub(crate) fn password(&self) -> Result<Option<String>, StoreError> {
        match std::env::var(&self.password_env) {
            Ok(password) => Ok(Some(password)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(StoreError::schema(format!("{} is not valid UTF-8", self.password_env)))
            }
        }
    }
}
