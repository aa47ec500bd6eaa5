//! Anti-abuse (安全打击): hosted-account registrations are limited per source network.
//!
//! The source network is the TCP peer's IP address (an app simulating another network binds another
//! 127.0.0.x). GAP: Tencent publishes no threshold; the tenant's `im.registration_limit` sets `count`
//! successful registrations per sliding `window_secs` (cloud clock), and optionally a minimum pause
//! `min_interval_secs` between two registrations from one network.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use super::console::RegistrationLimit;

/// Why a registration from a network is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `count` registrations already in the window (`ACCOUNT_REGISTER_TOOMANY`, the FAQ item 7 case).
    TooMany { count: u32, window_secs: i64 },
    /// The previous registration was less than `min_interval_secs` ago (`ACCOUNT_FREQ_LIMIT`).
    TooFrequent { min_interval_secs: i64 },
}

/// Registration times per source network.
#[derive(Debug, Default)]
pub struct RegistrationGuard {
    history: Mutex<HashMap<IpAddr, VecDeque<i64>>>,
}

impl RegistrationGuard {
    pub fn new() -> Self {
        Self::default()
    }

    /// May `network` register now? Does not count anything; call [`RegistrationGuard::count`] on success.
    pub fn check(
        &self,
        network: IpAddr,
        now: i64,
        limit: &RegistrationLimit,
    ) -> Result<(), Refusal> {
        let mut history = self.lock();
        let Some(times) = history.get_mut(&network) else {
            return if limit.count == 0 {
                Err(Refusal::TooMany {
                    count: 0,
                    window_secs: limit.window_secs,
                })
            } else {
                Ok(())
            };
        };
        let window_start = now.saturating_sub(limit.window_secs);
        while times.front().is_some_and(|&t| t <= window_start) {
            times.pop_front();
        }
        if times.len() >= limit.count as usize {
            return Err(Refusal::TooMany {
                count: limit.count,
                window_secs: limit.window_secs,
            });
        }
        if limit.min_interval_secs > 0
            && times
                .back()
                .is_some_and(|&last| now.saturating_sub(last) < limit.min_interval_secs)
        {
            return Err(Refusal::TooFrequent {
                min_interval_secs: limit.min_interval_secs,
            });
        }
        Ok(())
    }

    /// Counts one successful registration from `network`.
    pub fn count(&self, network: IpAddr, now: i64) {
        self.lock().entry(network).or_default().push_back(now);
    }

    /// Registrations from `network` still inside the window ending at `now`.
    pub fn recent(&self, network: IpAddr, now: i64, window_secs: i64) -> usize {
        let window_start = now.saturating_sub(window_secs);
        self.lock()
            .get(&network)
            .map(|times| times.iter().filter(|&&t| t > window_start).count())
            .unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, VecDeque<i64>>> {
        // Every change is a single push or pop, so a poisoned lock holds consistent data.
        self.history.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(count: u32, window_secs: i64, min_interval_secs: i64) -> RegistrationLimit {
        RegistrationLimit {
            count,
            window_secs,
            min_interval_secs,
        }
    }

    #[test]
    fn the_window_slides_and_networks_are_separate() {
        let guard = RegistrationGuard::new();
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let l = limit(2, 100, 0);
        for t in [1000, 1010] {
            assert_eq!(guard.check(a, t, &l), Ok(()));
            guard.count(a, t);
        }
        assert!(matches!(
            guard.check(a, 1020, &l),
            Err(Refusal::TooMany { .. })
        ));
        assert_eq!(guard.check(b, 1020, &l), Ok(()));
        // The first registration leaves the window at 1100.
        assert_eq!(guard.check(a, 1100, &l), Ok(()));
        assert_eq!(guard.recent(a, 1100, 100), 1);
    }

    #[test]
    fn a_minimum_interval_refuses_bursts() {
        let guard = RegistrationGuard::new();
        let a: IpAddr = [127, 0, 0, 1].into();
        let l = limit(10, 100, 5);
        guard.count(a, 1000);
        assert_eq!(
            guard.check(a, 1003, &l),
            Err(Refusal::TooFrequent {
                min_interval_secs: 5
            })
        );
        assert_eq!(guard.check(a, 1005, &l), Ok(()));
    }
}
