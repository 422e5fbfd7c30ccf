//! Pure domain logic of the skills monitor: reference data, partner events
//! and their validation, pseudonymisation, periods, facts and indicator math.
//! No I/O here: stores and services call these functions at their edges.

pub mod disclosure;
pub mod events;
pub mod facts;
pub mod indicators;
pub mod period;
pub mod pseudonym;
pub mod read_model;
pub mod reference;
pub mod text;
pub mod xapi;

pub use period::{Granularity, Period, PeriodError};
