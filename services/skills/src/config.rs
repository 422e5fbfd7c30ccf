//! The configuration file every binary reads: defined in skills-config.

pub use skills_config::SkillsConfig;
