//! Event callbacks (事件消息通知): the cloud POSTs signed JSON events to the tenant's callback URL.
//!
//! Delivery is in order, one event at a time, so the journal (and so every transcript) is deterministic.
//! A reply other than HTTP 200 with `{"code":0}`, a timeout or a refused connection is retried
//! `ctx.options.callback_retries` times, `callback_retry_interval` apart. Every attempt is journaled
//! with the URL, the HTTP status and the reply body; after the last one the journal says it gave up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::{Notify, mpsc};

use super::hotlink::md5_hex;
use crate::cloud::{CloudContext, Service};

/// Validity of a notification: `t = now + 600` (docs: 10 minutes).
pub const NOTIFY_VALIDITY_SECS: i64 = 600;
/// Reply bodies are cut to this many characters in the journal.
const BODY_IN_JOURNAL: usize = 200;

/// `sign` of a callback or of a `common_access` call: `md5(key + t)`.
pub fn api_sign(api_key: &str, t: i64) -> String {
    md5_hex(&[api_key, &t.to_string()])
}

/// Queues events and delivers them in the background.
pub struct CallbackDispatcher {
    ctx: CloudContext,
    tx: mpsc::UnboundedSender<Map<String, Value>>,
    /// The worker is spawned on the first event, so the dispatcher can be built outside a runtime.
    rx: Mutex<Option<mpsc::UnboundedReceiver<Map<String, Value>>>>,
    pending: Arc<Pending>,
}

#[derive(Default)]
struct Pending {
    count: AtomicUsize,
    /// 1 while the (single) worker sleeps before a retry: nothing moves until the interval is over.
    retrying: AtomicUsize,
    settled: Notify,
}

impl CallbackDispatcher {
    pub fn new(ctx: CloudContext) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            ctx,
            tx,
            rx: Mutex::new(Some(rx)),
            pending: Arc::new(Pending::default()),
        }
    }

    /// Queues one event. `fields` holds everything but `t` and `sign`, which are set at delivery from
    /// the clock and the API key of that moment.
    pub fn send(&self, fields: Map<String, Value>) {
        self.pending.count.fetch_add(1, Ordering::SeqCst);
        let rx = self.rx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(rx) = rx {
            let ctx = self.ctx.clone();
            let pending = self.pending.clone();
            tokio::spawn(deliver_all(ctx, rx, pending));
        }
        if self.tx.send(fields).is_err() {
            // The worker is gone only when the runtime shuts down; nothing will deliver this event.
            self.done();
        }
    }

    /// Events queued or being delivered (retries included).
    pub fn pending(&self) -> usize {
        self.pending.count.load(Ordering::SeqCst)
    }

    /// Waits until every queued event was delivered or given up; `false` on timeout.
    pub async fn idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let settled = self.pending.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            if self.pending() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, settled).await.is_err() {
                return self.pending() == 0;
            }
        }
    }

    /// Waits until nothing can happen before the next retry interval ends: every queued event was
    /// delivered or given up, or the worker sleeps before a retry. `false` on timeout. Transcripts use
    /// it to attribute callback attempts to the step that caused them, deterministically.
    pub async fn quiescent(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let settled = self.pending.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            if self.is_quiescent() {
                return true;
            }
            if tokio::time::timeout_at(deadline, settled).await.is_err() {
                return self.is_quiescent();
            }
        }
    }

    fn is_quiescent(&self) -> bool {
        self.pending() == 0 || self.pending.retrying.load(Ordering::SeqCst) > 0
    }

    fn done(&self) {
        self.pending.count.fetch_sub(1, Ordering::SeqCst);
        self.pending.settled.notify_waiters();
    }
}

async fn deliver_all(
    ctx: CloudContext,
    mut rx: mpsc::UnboundedReceiver<Map<String, Value>>,
    pending: Arc<Pending>,
) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(ctx.options.callback_timeout)
        .build();
    while let Some(fields) = rx.recv().await {
        match &client {
            Ok(client) => deliver(&ctx, client, fields, &pending).await,
            Err(e) => {
                ctx.record(
                    Service::LvbCallback,
                    describe(&fields, ""),
                    "not delivered: no HTTP client",
                    json!({ "error": e.to_string() }),
                );
            }
        }
        pending.count.fetch_sub(1, Ordering::SeqCst);
        pending.settled.notify_waiters();
    }
}

/// `POST {url} event_type=1 stream_id=8888_x` (plus the format of a recording).
fn describe(fields: &Map<String, Value>, url: &str) -> String {
    let mut line = format!(
        "POST {url} event_type={} stream_id={}",
        fields.get("event_type").unwrap_or(&Value::Null),
        fields
            .get("stream_id")
            .and_then(Value::as_str)
            .unwrap_or("")
    );
    if let Some(format) = fields.get("file_format").and_then(Value::as_str) {
        line.push_str(&format!(" file_format={format}"));
    }
    if let Some(code) = fields.get("errcode").and_then(Value::as_i64)
        && code != 0
    {
        line.push_str(&format!(" errcode={code}"));
    }
    line
}

async fn deliver(
    ctx: &CloudContext,
    client: &reqwest::Client,
    mut fields: Map<String, Value>,
    pending: &Pending,
) {
    let (url, api_key) = ctx.with_tenant(|t| (t.lvb.callback_url.clone(), t.lvb.api_key.clone()));
    let t = ctx.clock.now() + NOTIFY_VALIDITY_SECS;
    fields.insert("t".into(), json!(t));
    fields.insert("sign".into(), json!(api_sign(&api_key, t)));
    let line = describe(&fields, &url);
    if url.trim().is_empty() {
        // No callback URL in the console: the platform has nowhere to send events.
        ctx.record(
            Service::LvbCallback,
            line,
            "not sent: no callback URL configured",
            Value::Object(fields),
        );
        return;
    }
    let body = Value::Object(fields);
    let attempts = ctx.options.callback_retries + 1;
    for attempt in 1..=attempts {
        let (outcome, status, reply) = attempt_once(client, &url, &body).await;
        let ok = outcome.is_ok();
        let outcome_text = match &outcome {
            Ok(text) | Err(text) => text.clone(),
        };
        ctx.record(
            Service::LvbCallback,
            format!("{line} attempt {attempt}/{attempts}"),
            outcome_text,
            json!({ "url": url, "attempt": attempt, "status": status, "reply": reply, "body": body }),
        );
        if ok {
            return;
        }
        if attempt < attempts {
            pending.retrying.store(1, Ordering::SeqCst);
            pending.settled.notify_waiters();
            tokio::time::sleep(ctx.options.callback_retry_interval).await;
            pending.retrying.store(0, Ordering::SeqCst);
        }
    }
    ctx.record(
        Service::LvbCallback,
        line,
        format!("gave up after {attempts} attempts"),
        json!({ "url": url }),
    );
}

/// One POST. `Ok` when the reply is HTTP 200 with `{"code":0}`; the text is the journal outcome.
async fn attempt_once(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
) -> (Result<String, String>, Option<u16>, Option<String>) {
    let response = match client.post(url).json(body).send().await {
        Ok(r) => r,
        Err(e) => return (Err(transport_error(&e)), None, None),
    };
    let status = response.status().as_u16();
    let text = match response.text().await {
        Ok(text) => text,
        Err(e) => return (Err(transport_error(&e)), Some(status), None),
    };
    let shown: String = text.trim().chars().take(BODY_IN_JOURNAL).collect();
    let outcome = format!("HTTP {status} {shown}");
    let code_zero = serde_json::from_str::<Value>(text.trim())
        .ok()
        .and_then(|v| v.get("code").cloned())
        .is_some_and(|code| code == json!(0) || code == json!("0"));
    // The 2017 doc asks for `{"code":0}`; anything else is re-delivered.
    if status == 200 && code_zero {
        (Ok(outcome), Some(status), Some(text))
    } else {
        (Err(outcome), Some(status), Some(text))
    }
}

fn transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".to_string()
    } else if e.is_connect() {
        "connection refused".to_string()
    } else if e.is_builder() {
        "invalid callback URL".to_string()
    } else {
        "connection failed".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_sign_vector() {
        assert_eq!(
            api_sign("5d41402abc4b2a76b9719d911017c592", 1471850187),
            "b17971b51ba0fe5916ddcd96692e9fb3"
        );
    }
}
