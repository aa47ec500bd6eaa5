//! `minilvb`: a reference re-implementation of the Mini LVB (小直播) V1 business backend
//! (`live_demo_service`, the `Action` protocol) on MySQL/MariaDB. The test harness treats it as a black
//! box, exactly like a customer's own backend.
//!
//! # Layout
//! Modules follow the data flow of a request:
//! - [`config`]: `conf/OutDefine.php`, `conf/cdn.inc.ini`, the route file; errors name file, line, constant.
//! - [`server`]: axum router on an already bound listener with a shutdown future; body size limit.
//! - [`listener`]: the accept loop: header read timeout, idle deadline, connection cap.
//! - [`actions`]: `POST /interface.php`, every V1 `Action`, with [`params`] (the original's checker) and
//!   [`envelope`] (`returnValue`/`returnMsg`/`returnData`, PHP `json_encode` escaping).
//! - [`callback`]: `POST /callback/Live_callback.php`, LVB event notifications, replay storage rules.
//! - [`check_online`]: the per-minute cron against `Live_Channel_GetStatus`; [`webservice`] calls
//!   `common_access`.
//! - [`sign`]: txTime/txSecret, COS v4 multi-use signature, `md5(key + t)`.
//! - [`db`]: pool in China time (`+08:00`), the schema ([`db::SCHEMA`]); [`rows`]: cells to JSON.
//! - [`log`]: the original's log files under `<root>/log/` (only when that directory exists).
//! - [`app`]: the shared state of a running backend.
//!
//! # Process contract
//! `minilvb serve --root DIR --listen ADDR` prints `minilvb listening on http://<addr>` once listening;
//! configuration errors exit with code 2; SIGTERM/SIGINT exit 0. `minilvb schema` prints the DDL.
//! `minilvb check-online --root DIR` runs the cron once.

pub mod actions;
pub mod app;
pub mod callback;
pub mod check_online;
pub mod config;
pub mod db;
pub mod envelope;
pub mod listener;
pub mod log;
pub mod params;
pub mod rows;
pub mod server;
pub mod sign;
pub mod webservice;

pub use app::App;
pub use config::{Config, ConfigError};
