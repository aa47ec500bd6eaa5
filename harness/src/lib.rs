//! # tcharness: Tencent Cloud stand-in around a Mini LVB deployment
//!
//! Replays every misconfiguration of the Mini LVB FAQ end to end: the real backend and MariaDB run for
//! real, Tencent Cloud is emulated, the mobile app is simulated, and the resulting error chain is written
//! as a transcript held against an insta snapshot.
//!
//! ## Quickstart
//! - The whole catalogue against your backend: [`runner::CatalogueRunner`] in a `harness = false` test.
//! - A custom flow: [`stack::Stack::builder`], then [`stack::Stack::run`] app steps and assert on
//!   [`stack::Stack::app`], [`stack::Stack::cloud`] (its typed journal) and [`stack::Stack::db`].
//!
//! ## Layout (follows the data flow)
//! - [`stack`]: a whole deployment for one test, built from the healthy tenant and a few changes.
//! - [`runner`]: the catalogue as a test suite (one test per scenario, insta snapshots).
//! - [`catalogue`]: the FAQ scenarios, tickets and reference snapshots built into the crate.
//! - [`scenario`]: scenario files (`scenarios/*.toml`), the replay engine, transcripts and redactions.
//! - [`runtime`]: MariaDB + the backend under test, as containers or local processes.
//! - [`terminal`]: the simulated app, configured by its real constants, talking only over the wire.
//! - [`cloud`]: the emulated Tencent Cloud: tenant (console), clock, journal, LVB, COS v4, IM.

pub mod catalogue;
pub mod cloud;
pub mod formats;
pub mod runner;
pub mod runtime;
pub mod scenario;
pub mod stack;
pub mod terminal;
