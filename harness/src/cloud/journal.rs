//! The journal: every request the emulated cloud receives and every callback it sends, with its outcome.
//!
//! Transcripts are built from it, and tests wait on it (`wait_for`) instead of sleeping.

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

/// Shared, cheap to clone; every clone appends to the same journal.
#[derive(Clone, Debug, Default)]
pub struct Journal {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Mutex<Vec<JournalEntry>>,
    appended: Notify,
}

impl Journal {
    pub fn new() -> Self {
        Self::default()
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
        let seq = {
            let mut entries = self.lock();
            let seq = entries.len() as u64;
            entries.push(JournalEntry {
                seq,
                at,
                service,
                request: request.into(),
                outcome: outcome.into(),
                detail,
            });
            seq
        };
        self.inner.appended.notify_waiters();
        seq
    }

    /// A copy of every entry so far, in order.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().clone()
    }

    /// The entries from position `from` on (none if `from` is past the end), in order.
    pub fn since(&self, from: usize) -> Vec<JournalEntry> {
        self.lock()
            .get(from..)
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }

    /// Entries of one service, in order.
    pub fn of(&self, service: Service) -> Vec<JournalEntry> {
        self.lock()
            .iter()
            .filter(|e| e.service == service)
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
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
            if let Some(found) = self.lock().iter().find(|e| pred(e)).cloned() {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<JournalEntry>> {
        // A panic while holding the lock cannot leave a half-written Vec behind, so poisoning is harmless.
        self.inner
            .entries
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

    #[tokio::test]
    async fn wait_for_gives_up_after_the_timeout() {
        let journal = Journal::new();
        let found = journal
            .wait_for(Duration::from_millis(30), |e| e.service == Service::Im)
            .await;
        assert!(found.is_none());
    }
}
