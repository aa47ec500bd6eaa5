//! Integration tests of `minilvb` against a real private MariaDB (see `common`).

mod actions;
mod callback;
mod check_online;
mod common;
mod hostile;
mod http_limits;
mod process;
