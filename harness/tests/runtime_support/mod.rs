//! Helpers shared by the runtime suites: a runtime of either provider (docker skipped only where it is
//! not required), the tenant's database account, and a guard that resumes a stopped server.
#![allow(dead_code)]

use tcharness::runtime::{BackendProfile, DbSpec, Runtime, RuntimeError, RuntimeKind};

/// Starts a runtime, or None when docker is asked for but unavailable here and not required
/// (`TCHARNESS_REQUIRE_DOCKER=1`, set by the test command when it runs an engine, makes that a failure).
pub async fn runtime(kind: RuntimeKind, profile: BackendProfile) -> Option<Runtime> {
    match Runtime::start(kind, profile).await {
        Ok(rt) => Some(rt),
        Err(RuntimeError::DockerUnavailable(why))
            if std::env::var("TCHARNESS_REQUIRE_DOCKER").as_deref() != Ok("1") =>
        {
            eprintln!("skipping the docker case: {why}");
            None
        }
        Err(e) => panic!("runtime did not start: {e}"),
    }
}

/// The healthy tenant's database and account.
pub fn tenant_db() -> DbSpec {
    DbSpec {
        name: "live_demo".to_string(),
        user: "live_user".to_string(),
        password: "live_pwd".to_string(),
    }
}

/// Resumes a SIGSTOPped server however the test ends, so a failed assertion leaves no frozen mariadbd.
pub struct Resume(pub i32);

impl Drop for Resume {
    fn drop(&mut self) {
        // SAFETY: kill(2) on a pid this test's runtime started; no memory is shared.
        unsafe {
            libc::kill(self.0, libc::SIGCONT);
        }
    }
}
