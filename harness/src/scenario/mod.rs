//! Scenario files, the replay engine, transcripts and their redactions.

pub mod deployment;
pub mod model;
pub mod snapshot;
pub mod transcript;
