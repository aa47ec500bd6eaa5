//! The app's HTTP exchanges: the backend's `Action` protocol, COS v4, TLS and IM, each turned into
//! the app's own view of success or failure (with what the user is shown).

use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::{App, AppError, Peer, shown};

/// How an exchange ended below the level of the reply's content.
pub(super) enum NetFailure {
    /// No answer within the app's timeout (including hosts that never accepted the connection).
    Timeout,
    Other(String),
}

/// Pause between attempts to reach a host that refused the connection (the phone's HTTP stack retries
/// until its timeout, so an unreachable backend shows as a timeout, as in FAQ 2.4).
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

impl App {
    /// Sends a request (rebuilt for each attempt), retrying refused connections until the timeout. On
    /// the scenario's time, a refused connection or a request the never-answering host took is a
    /// timeout at once (see [`WaitTime`](super::WaitTime)).
    pub(super) async fn exchange(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(u16, Bytes), NetFailure> {
        let deadline = Instant::now() + self.options.http_timeout;
        let scenario_time = match &self.options.wait {
            super::WaitTime::Scenario(unanswered) => Some(unanswered),
            super::WaitTime::Real => None,
        };
        loop {
            let (client, request) = build().build_split();
            let request = request.map_err(|e| NetFailure::Other(error_chain(&e)))?;
            let swallowed = scenario_time
                .filter(|u| u.is_target(request.url()))
                .map(|u| (u, u.taken()));
            let send = async {
                let response = client.execute(request).await?;
                let status = response.status().as_u16();
                let body = response.bytes().await?;
                Ok::<_, reqwest::Error>((status, body))
            };
            let attempt = match swallowed {
                Some((unanswered, before)) => {
                    tokio::select! {
                        reply = tokio::time::timeout_at(deadline, send) => reply,
                        _ = unanswered.taken_after(before) => return Err(NetFailure::Timeout),
                    }
                }
                None => tokio::time::timeout_at(deadline, send).await,
            };
            match attempt {
                Err(_) => return Err(NetFailure::Timeout),
                Ok(Ok(reply)) => return Ok(reply),
                Ok(Err(e)) if e.is_timeout() => return Err(NetFailure::Timeout),
                Ok(Err(e)) if e.is_connect() => {
                    if scenario_time.is_some() {
                        return Err(NetFailure::Timeout);
                    }
                    if Instant::now() + RECONNECT_PAUSE >= deadline {
                        tokio::time::sleep_until(deadline).await;
                        return Err(NetFailure::Timeout);
                    }
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
                Ok(Err(e)) => return Err(NetFailure::Other(error_chain(&e))),
            }
        }
    }

    fn timeout_ms(&self) -> u128 {
        self.options.http_timeout.as_millis()
    }

    /// One call of the V1 backend: `POST kHttpServerAddr` with `{"Action": ..., params...}`.
    /// Returns `returnData` on `returnValue` 0.
    pub(super) async fn backend(
        &mut self,
        action: &str,
        summary: &str,
        params: Value,
    ) -> Result<Value, AppError> {
        let mut body = Map::new();
        body.insert("Action".to_string(), json!(action));
        if let Value::Object(params) = params {
            body.extend(params);
        }
        let body = Value::Object(body).to_string();
        let request = if summary.is_empty() {
            action.to_string()
        } else {
            format!("{action} {summary}")
        };
        let url = self.constants.http_server_addr.trim().to_string();
        if reqwest::Url::parse(&url).is_err() {
            self.record(Peer::Backend, &request, "unsupported URL");
            self.show(shown::Shown::same("unsupported URL"));
            return Err(AppError::Network {
                action: action.to_string(),
                detail: format!("kHttpServerAddr '{url}' is not a URL"),
            });
        }
        let client = self.client.clone();
        let reply = self
            .exchange(|| {
                client
                    .post(&url)
                    .header("Content-Type", "application/json; charset=UTF-8")
                    .body(body.clone())
            })
            .await;
        let (status, bytes) = match reply {
            Ok(reply) => reply,
            Err(NetFailure::Timeout) => {
                self.record(Peer::Backend, &request, "timeout");
                self.show(shown::request_timeout());
                return Err(AppError::Timeout {
                    action: action.to_string(),
                    timeout_ms: self.timeout_ms(),
                });
            }
            Err(NetFailure::Other(detail)) => {
                self.record(Peer::Backend, &request, "network error");
                self.show(shown::Shown::same("network error"));
                return Err(AppError::Network {
                    action: action.to_string(),
                    detail,
                });
            }
        };
        if status != 200 {
            self.record(Peer::Backend, &request, format!("HTTP {status}"));
            self.show(shown::http_status(status));
            return Err(AppError::HttpStatus {
                action: action.to_string(),
                status,
            });
        }
        let envelope: Option<(i64, String, Value)> =
            serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
                let code = json_int(v.get("returnValue")?)?;
                let msg = match v.get("returnMsg") {
                    Some(Value::String(s)) => s.clone(),
                    _ => String::new(),
                };
                let data = v.get("returnData").cloned().unwrap_or(Value::Null);
                Some((code, msg, data))
            });
        let Some((code, message, data)) = envelope else {
            self.record(Peer::Backend, &request, "HTTP 200, not the JSON envelope");
            self.show(shown::invalid_reply());
            return Err(AppError::InvalidReply {
                action: action.to_string(),
                detail: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            });
        };
        if code != 0 {
            self.record(
                Peer::Backend,
                &request,
                format!("returnValue {code}: {message}"),
            );
            self.show(shown::backend_error(code, &message));
            return Err(AppError::Backend {
                action: action.to_string(),
                code,
                message,
            });
        }
        Ok(data)
    }

    /// A JSON POST to TLS or IM; returns the reply object. Failures are logged and shown as a login failure.
    pub(super) async fn post_json(
        &mut self,
        peer: Peer,
        url: &str,
        request: &str,
        body: Value,
    ) -> Result<Value, AppError> {
        let client = self.client.clone();
        let body = body.to_string();
        let reply = self
            .exchange(|| {
                client
                    .post(url)
                    .header("Content-Type", "application/json")
                    .body(body.clone())
            })
            .await;
        let failure = match reply {
            Ok((status, bytes)) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(v @ Value::Object(_)) => return Ok(v),
                _ => format!("HTTP {status}, not JSON"),
            },
            Err(NetFailure::Timeout) => "timeout".to_string(),
            Err(NetFailure::Other(detail)) => detail,
        };
        self.record(peer, request, &failure);
        // The IM SDK's own code for a request that got no usable answer (ERR_REQUEST_TIMEOUT).
        self.show(shown::login_failed(6012, ""));
        Err(AppError::Login {
            code: 6012,
            message: failure,
        })
    }
}

/// An integer that PHP may have written as a number or a digit string.
pub(super) fn json_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

pub(super) fn json_str(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
