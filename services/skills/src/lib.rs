//! The all-in-one `skills` process and the command-line client.
//!
//! `stack` runs ingest, aggregator and query in one process over the
//! embedded bus and store; `seed` makes the synthetic demo data set;
//! `client` and `render` are the command-line client; `reconcile` audits
//! the pipeline; `audit` attacks what an audience can obtain; `demo` ties them
//! together for `cargo run --release`.

pub mod audit;
pub mod cli;
pub mod client;
pub mod config;
pub mod csv;
pub mod demo;
pub mod forget;
pub mod progress;
pub mod reconcile;
pub mod rekey;
pub mod render;
pub mod send;
pub mod stack;
pub mod validate;
pub mod verify_model;

pub use config::SkillsConfig;
pub use stack::EmbeddedStack;
