//! `[aggregator]`: defined with every other section in skills-config, so
//! that every binary reads the same file the same way.

pub use skills_config::aggregator::AggregatorConfig;
