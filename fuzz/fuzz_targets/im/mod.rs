//! The harness's IM UserSig modules, compiled from their sources with the same `super::` layout.
#![allow(dead_code)]

#[path = "../../../harness/src/cloud/im/console.rs"]
pub mod console;
#[path = "../../../harness/src/cloud/im/login.rs"]
pub mod login;
#[path = "../../../harness/src/cloud/im/usersig.rs"]
pub mod usersig;
