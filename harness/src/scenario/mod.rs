//! Scenario files, the replay engine, transcripts and their redactions.

pub mod check;
pub mod deployment;
pub mod diagnose;
pub mod knowledge;
pub mod model;
pub mod replay;
pub mod reproduce;
pub mod snapshot;
pub mod transcript;
pub mod validate;
