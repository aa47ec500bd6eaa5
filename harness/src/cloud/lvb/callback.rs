//! Event callbacks (事件消息通知): the cloud POSTs signed JSON events to the tenant's callback URL.
//!
//! A stream's events go out in order, each retried before the next; streams are independent. On the
//! cloud clock (replays) one attempt is on the wire at a time and attempts go out in the order they fall
//! due, so the journal (and so every transcript) is deterministic; in real time (`serve`) streams are
//! delivered side by side. A reply other than HTTP 200 with `{"code":0}`, a timeout
//! or a refused connection is retried `ctx.options.callback_retries` times, `callback_retry_interval`
//! apart (2017 CN doc: 3 retries, 3 s apart). Every attempt is journaled with the URL, the HTTP status and
//! the reply body; after the last one the journal says it gave up.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use super::hotlink::md5_hex;
use crate::cloud::{CloudContext, Service};

/// Validity of a notification: `t = now + 600` (docs: 10 minutes).
pub const NOTIFY_VALIDITY_SECS: i64 = 600;
/// Reply bodies are cut to this many characters in the journal.
const BODY_IN_JOURNAL: usize = 200;
/// Longest callback reply read. The backend answers `{"code":0}`; a longer reply is not that answer,
/// and reading it whole would let a backend fill the cloud's memory and journal within the timeout.
pub const MAX_CALLBACK_REPLY: usize = 64 * 1024;

/// `sign` of a callback or of a `common_access` call: `md5(key + t)`.
pub fn api_sign(api_key: &str, t: i64) -> String {
    md5_hex(&[api_key, &t.to_string()])
}

/// Queues events and delivers them in the background, one attempt at a time.
///
/// Every event has its own retry timeline: a failed attempt is scheduled again one retry interval
/// later, and attempts that fall due together go out in the order their events were queued. With
/// [`CallbackTime::Real`] an interval is a real pause; with [`CallbackTime::Cloud`] a retry is due at a
/// time of the cloud clock and waits, costing no wall time, until whoever owns the clock moves it there
/// ([`CallbackDispatcher::clock_moved`]).
pub struct CallbackDispatcher {
    ctx: CloudContext,
    shared: Arc<Shared>,
    /// The worker is spawned on the first event, so the dispatcher can be built outside a runtime.
    worker_started: AtomicBool,
}

/// What decides when a retry is due.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CallbackTime {
    /// Real time: `serve`, where a real backend waits on the platform.
    #[default]
    Real,
    /// The cloud clock's offset: a replay moves it and the retries due by then go out in order.
    Cloud,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the worker: an event was queued or the clock moved.
    wake: Notify,
    /// Wakes waiters: an attempt finished or the worker went to wait.
    changed: Notify,
    /// Where real-time due times count from.
    epoch: std::time::Instant,
    /// The dispatcher is gone: the worker ends.
    closed: AtomicBool,
}

/// Events by stream: a stream's events go out in order, one at a time, each retried before the next
/// goes; streams are independent, so one failing backend route never holds another stream's events.
#[derive(Default)]
struct Queue {
    /// Undelivered events of each stream, in the order they were queued.
    streams: HashMap<String, VecDeque<Delivery>>,
    /// The first event of each stream, by (due time in ms, sequence): the first one goes next.
    ready: BTreeMap<(i64, u64), String>,
    sequence: u64,
    /// Attempts on the wire.
    in_flight: usize,
    /// Streams with an attempt on the wire: their next event waits for it.
    busy_streams: std::collections::HashSet<String>,
}

struct Delivery {
    sequence: u64,
    fields: Map<String, Value>,
    /// Fixed at the first attempt: the URL and the signed body of that moment.
    target: Option<Target>,
    /// Attempts made so far.
    attempts: u32,
}

impl Queue {
    fn push(&mut self, stream: String, fields: Map<String, Value>, now: i64) {
        self.sequence += 1;
        let sequence = self.sequence;
        let queue = self.streams.entry(stream.clone()).or_default();
        queue.push_back(Delivery {
            sequence,
            fields,
            target: None,
            attempts: 0,
        });
        if queue.len() == 1 && !self.busy_streams.contains(&stream) {
            self.ready.insert((now, sequence), stream);
        }
    }

    fn pending(&self) -> usize {
        self.streams.values().map(VecDeque::len).sum::<usize>() + self.in_flight
    }

    fn first_due(&self) -> Option<i64> {
        self.ready.first_key_value().map(|((due, _), _)| *due)
    }

    /// The first event due by `now`, taken out for one attempt, unless `limit` attempts are on the wire.
    fn take_due(&mut self, now: i64, limit: usize) -> Option<(String, Delivery)> {
        if self.in_flight >= limit || self.first_due()? > now {
            return None;
        }
        let (_, stream) = self.ready.pop_first()?;
        let delivery = self.streams.get_mut(&stream)?.pop_front()?;
        self.in_flight += 1;
        self.busy_streams.insert(stream.clone());
        Some((stream, delivery))
    }

    /// After an attempt: the event is due again at `retry_at`, or done and its stream's next event is
    /// due now.
    fn finish(&mut self, stream: String, delivery: Delivery, retry_at: Option<i64>, now: i64) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.busy_streams.remove(&stream);
        let queue = self.streams.entry(stream.clone()).or_default();
        match retry_at {
            Some(due) => {
                self.ready.insert((due, delivery.sequence), stream);
                queue.push_front(delivery);
            }
            None => match queue.front() {
                Some(next) => {
                    self.ready.insert((now, next.sequence), stream);
                }
                None => {
                    self.streams.remove(&stream);
                }
            },
        }
    }

    fn is_idle(&self) -> bool {
        self.pending() == 0
    }

    /// Nothing on the wire and nothing due by `now`.
    fn is_quiescent(&self, now: i64) -> bool {
        self.in_flight == 0 && self.first_due().is_none_or(|due| due > now)
    }
}

struct Target {
    url: String,
    line: String,
    body: Value,
}

impl CallbackDispatcher {
    pub fn new(ctx: CloudContext) -> Self {
        Self {
            ctx,
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::default()),
                wake: Notify::new(),
                changed: Notify::new(),
                epoch: std::time::Instant::now(),
                closed: AtomicBool::new(false),
            }),
            worker_started: AtomicBool::new(false),
        }
    }

    /// Queues one event. `fields` holds everything but `t` and `sign`, which are set at the first
    /// attempt from the clock and the API key of that moment.
    pub fn send(&self, fields: Map<String, Value>) {
        let now = now_ms(&self.ctx, &self.shared);
        let stream = fields
            .get("stream_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        lock(&self.shared.queue).push(stream, fields, now);
        if !self.worker_started.swap(true, Ordering::SeqCst) {
            tokio::spawn(deliver_all(self.ctx.clone(), self.shared.clone()));
        }
        self.shared.wake.notify_one();
    }

    /// Events queued or being delivered (retries included).
    pub fn pending(&self) -> usize {
        lock(&self.shared.queue).pending()
    }

    /// With [`CallbackTime::Cloud`]: the cloud offset (seconds) at which the next retry is due, if any
    /// delivery waits for a time not reached yet.
    pub fn next_due(&self) -> Option<i64> {
        lock(&self.shared.queue)
            .first_due()
            .map(|due| due.div_euclid(1000))
    }

    /// Tells the worker that the cloud clock moved: retries due by now go out.
    pub fn clock_moved(&self) {
        self.shared.wake.notify_one();
    }

    /// Waits until every queued event was delivered or given up; `false` on timeout.
    pub async fn idle(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |q, _| q.is_idle()).await
    }

    /// Waits until nothing goes out before the clock moves on: no attempt on the wire and no delivery
    /// due now. `false` on timeout. This is the completion signal a replay waits for after each step.
    pub async fn quiescent(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, Queue::is_quiescent).await
    }

    async fn wait_until(&self, timeout: Duration, done: impl Fn(&Queue, i64) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let now = now_ms(&self.ctx, &self.shared);
            if done(&lock(&self.shared.queue), now) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                let now = now_ms(&self.ctx, &self.shared);
                return done(&lock(&self.shared.queue), now);
            }
        }
    }
}

impl Drop for CallbackDispatcher {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }
}

fn lock(queue: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(|p| p.into_inner())
}

/// The time due times are compared with, in ms: real time since the dispatcher was built, or the cloud
/// clock's offset.
fn now_ms(ctx: &CloudContext, shared: &Shared) -> i64 {
    match ctx.options.callback_time {
        CallbackTime::Real => shared.epoch.elapsed().as_millis() as i64,
        CallbackTime::Cloud => ctx.clock.offset().saturating_mul(1000),
    }
}

fn retry_interval_ms(ctx: &CloudContext) -> i64 {
    let ms = ctx.options.callback_retry_interval.as_millis() as i64;
    match ctx.options.callback_time {
        CallbackTime::Real => ms,
        // The cloud clock counts whole seconds.
        CallbackTime::Cloud => ms.div_euclid(1000).max(1) * 1000,
    }
}

/// The worker: takes the first delivery that is due, makes one attempt, schedules its retry.
async fn deliver_all(ctx: CloudContext, shared: Arc<Shared>) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(ctx.options.callback_timeout)
        // Every notification on its own connection: a backend restarted between two events must show
        // as refused or answered, never as a pooled socket it closed.
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| e.to_string());
    // In real time streams are delivered side by side, so a slow backend answer on one stream does not
    // hold the others; on the cloud clock one attempt at a time keeps the journal's order fixed.
    let in_flight_limit = match ctx.options.callback_time {
        CallbackTime::Real => REAL_TIME_IN_FLIGHT,
        CallbackTime::Cloud => 1,
    };
    loop {
        let wake = shared.wake.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        if shared.closed.load(Ordering::SeqCst) {
            return;
        }
        let now = now_ms(&ctx, &shared);
        let (taken, due) = {
            let mut queue = lock(&shared.queue);
            (queue.take_due(now, in_flight_limit), queue.first_due())
        };
        if let Some((stream, delivery)) = taken {
            let job = deliver_one(
                ctx.clone(),
                shared.clone(),
                client.clone(),
                stream,
                delivery,
            );
            match ctx.options.callback_time {
                CallbackTime::Real => {
                    tokio::spawn(job);
                }
                CallbackTime::Cloud => job.await,
            }
            continue;
        }
        shared.changed.notify_waiters();
        match due {
            Some(due) if ctx.options.callback_time == CallbackTime::Real && due > now => {
                let wait = Duration::from_millis((due - now) as u64);
                let _ = tokio::time::timeout(wait, wake).await;
            }
            // On the cloud clock a retry waits for whoever moves the clock; a finished attempt wakes.
            _ => wake.await,
        }
    }
}

/// Attempts in flight at once in real time.
const REAL_TIME_IN_FLIGHT: usize = 16;

/// One attempt of `delivery`, then its retry or its stream's next event is scheduled.
async fn deliver_one(
    ctx: CloudContext,
    shared: Arc<Shared>,
    client: Result<reqwest::Client, String>,
    stream: String,
    mut delivery: Delivery,
) {
    let retry = match &client {
        Ok(client) => attempt(&ctx, client, &mut delivery).await,
        Err(e) => {
            ctx.record(
                Service::LvbCallback,
                describe(&delivery.fields, ""),
                "not delivered: no HTTP client",
                json!({ "error": e }),
            );
            false
        }
    };
    let now = now_ms(&ctx, &shared);
    let retry_at = retry.then(|| now + retry_interval_ms(&ctx));
    lock(&shared.queue).finish(stream, delivery, retry_at, now);
    shared.wake.notify_one();
    shared.changed.notify_waiters();
}

/// One attempt of `delivery`; `true` when it failed and another attempt is allowed.
async fn attempt(ctx: &CloudContext, client: &reqwest::Client, delivery: &mut Delivery) -> bool {
    let target = delivery.target.get_or_insert_with(|| {
        let (url, api_key) =
            ctx.with_tenant(|t| (t.lvb.callback_url.clone(), t.lvb.api_key.clone()));
        let t = ctx.clock.now() + NOTIFY_VALIDITY_SECS;
        let mut fields = delivery.fields.clone();
        fields.insert("t".into(), json!(t));
        fields.insert("sign".into(), json!(api_sign(&api_key, t)));
        Target {
            line: describe(&fields, &url),
            url,
            body: Value::Object(fields),
        }
    });
    if target.url.trim().is_empty() {
        // No callback URL in the console: the platform has nowhere to send events.
        tracing::warn!(target: "tcharness::callback", "{}: not sent, no callback URL configured", target.line);
        ctx.record(
            Service::LvbCallback,
            target.line.clone(),
            "not sent: no callback URL configured",
            target.body.clone(),
        );
        return false;
    }
    delivery.attempts += 1;
    let n = delivery.attempts;
    let attempts = ctx.options.callback_retries + 1;
    let (outcome, status, reply) = attempt_once(client, &target.url, &target.body).await;
    let ok = outcome.is_ok();
    let outcome_text = match outcome {
        Ok(text) | Err(text) => text,
    };
    // On stderr as well as in the journal: an operator watching `serve` must see a backend outage
    // while it happens, not only when reading the journal afterwards.
    if ok {
        tracing::info!(target: "tcharness::callback", "{} attempt {n}/{attempts}: {outcome_text}", target.line);
    } else {
        tracing::warn!(target: "tcharness::callback", "{} attempt {n}/{attempts}: {outcome_text}", target.line);
    }
    ctx.record(
        Service::LvbCallback,
        format!("{} attempt {n}/{attempts}", target.line),
        outcome_text,
        json!({ "url": target.url, "attempt": n, "status": status, "reply": reply, "body": target.body }),
    );
    if ok {
        return false;
    }
    if n < attempts {
        return true;
    }
    tracing::error!(target: "tcharness::callback", "{}: gave up after {attempts} attempts", target.line);
    ctx.record(
        Service::LvbCallback,
        target.line.clone(),
        format!("gave up after {attempts} attempts"),
        json!({ "url": target.url }),
    );
    false
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
    let mut response = response;
    let mut raw = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if raw.len() + chunk.len() > MAX_CALLBACK_REPLY {
                    let take = MAX_CALLBACK_REPLY - raw.len();
                    raw.extend_from_slice(&chunk[..take]);
                    let text = String::from_utf8_lossy(&raw).into_owned();
                    let outcome =
                        format!("HTTP {status} reply longer than {MAX_CALLBACK_REPLY} bytes");
                    return (Err(outcome), Some(status), Some(text));
                }
                raw.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return (Err(transport_error(&e)), Some(status), None),
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
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
