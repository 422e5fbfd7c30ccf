//! Baselines for `deploy/bench.sh`: the bare programs the services are
//! measured against, built with the same client settings so that a ratio
//! shows what the services' own work costs.
