//! skills-query: the gRPC TalentGapService over any metrics store.
//!
//! `engine` turns store counters into indicators (cached per period until
//! the store's data version changes), `service` validates requests,
//! applies the caller's audience (small-cell suppression) and converts to
//! the wire types, `error` maps every failure to a gRPC status in one place.
//! `admission` decides which calls run now (rates and concurrency per
//! caller and audience), `connections` which connections are accepted,
//! `server` sets the transport's limits, `http` answers browsers and BI
//! tools (the dashboard, JSON and CSV) on the same port.

pub mod admission;
pub mod app;
pub mod auth;
pub mod config;
pub mod connections;
pub mod convert;
pub mod engine;
pub mod error;
pub mod http;
pub mod paging;
pub mod request;
pub mod rewrite;
pub mod server;
pub mod service;

pub use app::QueryService;
pub use config::QueryConfig;
pub use engine::IndicatorEngine;
pub use server::{ServeOptions, serve};
