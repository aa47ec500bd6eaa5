//! The cloud's clock: real time plus a settable offset.
//!
//! The real backend builds push URLs valid for `now + 3h` and COS signatures valid for `now + 30s` from
//! its own (real) clock, so the cloud must agree with real time by default. A scenario jumps ahead by
//! moving the offset (an expired txTime, a 90 s recording without waiting 90 s).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Shared, cheap to clone; every clone sees the same offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Seconds since the UNIX epoch as the cloud sees them.
    pub fn now(&self) -> i64 {
        real_now() + self.offset_secs.load(Ordering::SeqCst)
    }

    /// Milliseconds since the UNIX epoch as the cloud sees them.
    pub fn now_millis(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        real + self.offset_secs.load(Ordering::SeqCst) * 1000
    }

    /// Moves the cloud's time forward (or back, with a negative value).
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::SeqCst);
    }

    pub fn set_offset(&self, secs: i64) {
        self.offset_secs.store(secs, Ordering::SeqCst);
    }

    pub fn offset(&self) -> i64 {
        self.offset_secs.load(Ordering::SeqCst)
    }
}

fn real_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_offset() {
        let clock = Clock::new();
        let other = clock.clone();
        let before = other.now();
        clock.advance(3600);
        assert!(other.now() >= before + 3600);
        assert_eq!(other.offset(), 3600);
    }
}
