//! The journal: every request the emulated cloud receives and every callback it sends, with its outcome.
//!
//! Transcripts are built from it, and tests wait on it (`wait_for`) instead of sleeping. Replays keep
//! every entry; `serve` bounds it ([`JournalLimits`]) so a flood of requests cannot grow it forever:
//! the oldest entries go first. Each entry is also one `tracing` event (target `tcharness::journal`),
//! which gives `serve` a log line per request and per callback attempt.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Notify;

/// Which part of the cloud wrote an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// COS v4 JSON API and the source/CDN download domains.
    Cos,
    /// RTMP ingest (push) with hotlink protection.
    LvbIngest,
    /// HTTP-FLV relay and recording downloads.
    LvbPlay,
    /// Event callbacks sent by the cloud to the customer's backend.
    LvbCallback,
    /// `common_access` server API.
    LvbApi,
    /// IM login, UserSig checks and hosted-account registration.
    Im,
    /// The host dispatcher itself (unknown hosts).
    Gateway,
}

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JournalEntry {
    /// Position in the journal, from 0.
    pub seq: u64,
    /// Cloud clock (UNIX seconds) when the entry was written.
    pub at: i64,
    pub service: Service,
    /// What was asked, in one line: `POST sh.file.myqcloud.com/files/v2/1252000001/minilvb/cover.jpg op=upload`.
    pub request: String,
    /// What came of it, in Tencent's words: `-97 ERROR_PROXY_AUTH_FAILED`, `accepted`, `refused: bad txSecret`.
    pub outcome: String,
    /// Structured details (fields, HTTP status, reply body); free-form per service.
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
}

/// How much of the journal is kept; the oldest entries are dropped past either bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalLimits {
    pub max_entries: usize,
    /// Approximate: the texts and the serialized detail of each entry, plus a fixed overhead.
    pub max_bytes: usize,
}

impl Default for JournalLimits {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What one entry costs beyond its texts (the struct, the allocation headers).
const ENTRY_OVERHEAD: usize = 128;

fn entry_bytes(e: &JournalEntry) -> usize {
    let detail = if e.detail.is_null() {
        0
    } else {
        e.detail.to_string().len()
    };
    ENTRY_OVERHEAD + e.request.len() + e.outcome.len() + detail
}

/// Shared, cheap to clone; every clone appends to the same journal.
#[derive(Clone, Debug, Default)]
pub struct Journal {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    appended: Notify,
    limits: Option<JournalLimits>,
}

#[derive(Debug, Default)]
struct State {
    /// Kept entries, oldest first; their `seq` are consecutive.
    entries: VecDeque<JournalEntry>,
    /// What each kept entry counts for against `max_bytes`, in the same order (bounded journals only).
    sizes: VecDeque<usize>,
    /// `seq` of the next entry (= entries ever appended).
    next_seq: u64,
    bytes: usize,
}

impl Journal {
    /// A journal that keeps every entry (replays, tests).
    pub fn new() -> Self {
        Self::default()
    }

    /// A journal that keeps at most `limits` worth of the latest entries.
    pub fn bounded(limits: JournalLimits) -> Self {
        Self {
            inner: Arc::new(Inner {
                limits: Some(limits),
                ..Inner::default()
            }),
        }
    }

    /// Appends an entry and wakes everyone waiting in [`Journal::wait_for`]; returns its `seq`.
    pub fn record(
        &self,
        at: i64,
        service: Service,
        request: impl Into<String>,
        outcome: impl Into<String>,
        detail: serde_json::Value,
    ) -> u64 {
        let entry = JournalEntry {
            seq: 0,
            at,
            service,
            request: request.into(),
            outcome: outcome.into(),
            detail,
        };
        tracing::info!(
            target: "tcharness::journal",
            service = ?entry.service,
            outcome = %entry.outcome,
            "{}",
            entry.request
        );
        let seq = {
            let mut state = self.lock();
            let seq = state.next_seq;
            state.next_seq += 1;
            let entry = JournalEntry { seq, ..entry };
            if let Some(limits) = self.inner.limits {
                let size = entry_bytes(&entry);
                state.bytes += size;
                state.sizes.push_back(size);
                state.entries.push_back(entry);
                while state.entries.len() > limits.max_entries.max(1)
                    || (state.bytes > limits.max_bytes && state.entries.len() > 1)
                {
                    state.entries.pop_front();
                    match state.sizes.pop_front() {
                        Some(old) => state.bytes -= old,
                        None => break,
                    }
                }
            } else {
                state.entries.push_back(entry);
            }
            seq
        };
        self.inner.appended.notify_waiters();
        seq
    }

    /// A copy of every kept entry, in order.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().entries.iter().cloned().collect()
    }

    /// The kept entries whose `seq` is `from` or later, in order.
    pub fn since(&self, from: usize) -> Vec<JournalEntry> {
        let from = from as u64;
        self.lock()
            .entries
            .iter()
            .filter(|e| e.seq >= from)
            .cloned()
            .collect()
    }

    /// Kept entries of one service, in order.
    pub fn of(&self, service: Service) -> Vec<JournalEntry> {
        self.lock()
            .entries
            .iter()
            .filter(|e| e.service == service)
            .cloned()
            .collect()
    }

    /// Entries ever appended, which is the `seq` the next one gets (a bounded journal keeps fewer).
    pub fn len(&self) -> usize {
        self.lock().next_seq as usize
    }

    /// Entries kept now and their approximate size in bytes (0 for an unbounded journal).
    pub fn kept(&self) -> (usize, usize) {
        let state = self.lock();
        (state.entries.len(), state.bytes)
    }

    /// Forgets every entry (`/_tcharness/reset`); `seq` keeps counting.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.entries.clear();
        state.sizes.clear();
        state.bytes = 0;
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until an entry matching `pred` exists (already, or appended later), or `timeout` passes.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&JournalEntry) -> bool,
    ) -> Option<JournalEntry> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before looking, so an append between the look and the wait is not missed.
            let notified = self.inner.appended.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(found) = self.lock().entries.iter().find(|e| pred(e)).cloned() {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-written entry behind, so poisoning is harmless.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_for_sees_a_later_append() {
        let journal = Journal::new();
        let writer = journal.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            writer.record(
                1,
                Service::Cos,
                "GET x",
                "0 SUCCESS",
                serde_json::Value::Null,
            );
        });
        let found = journal
            .wait_for(Duration::from_secs(2), |e| e.service == Service::Cos)
            .await;
        assert_eq!(found.map(|e| e.outcome), Some("0 SUCCESS".to_string()));
    }

    #[test]
    fn a_bounded_journal_keeps_the_latest_entries_within_both_bounds() {
        let journal = Journal::bounded(JournalLimits {
            max_entries: 100,
            max_bytes: 20 * 1024,
        });
        for i in 0..1000 {
            journal.record(
                1,
                Service::Gateway,
                format!("GET /{i}"),
                "404",
                serde_json::Value::Null,
            );
        }
        let (kept, bytes) = journal.kept();
        assert_eq!(kept, 100);
        assert!(bytes <= 20 * 1024, "{bytes}");
        assert_eq!(journal.len(), 1000);
        assert_eq!(journal.entries()[0].seq, 900);
        assert_eq!(journal.since(995).len(), 5);
        let big = serde_json::json!({ "body": "x".repeat(8 * 1024) });
        for _ in 0..10 {
            journal.record(1, Service::Cos, "POST /", "-97", big.clone());
        }
        let (kept, bytes) = journal.kept();
        assert!(bytes <= 20 * 1024 && kept < 10, "{kept} {bytes}");
    }

    #[test]
    fn an_unbounded_journal_keeps_everything() {
        let journal = Journal::new();
        for i in 0..20_000 {
            journal.record(
                1,
                Service::Gateway,
                format!("GET /{i}"),
                "404",
                serde_json::Value::Null,
            );
        }
        assert_eq!(journal.entries().len(), 20_000);
    }

    #[tokio::test]
    async fn wait_for_gives_up_after_the_timeout() {
        let journal = Journal::new();
        let found = journal
            .wait_for(Duration::from_millis(30), |e| e.service == Service::Im)
            .await;
        assert!(found.is_none());
    }
}
