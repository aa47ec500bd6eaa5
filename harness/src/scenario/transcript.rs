//! The transcript of one replay: what the app did and showed, what the cloud saw and answered, every
//! callback attempt, the backend's error log and the database facts; as one ordered YAML document with
//! times, ports, random ids and signatures redacted so the snapshot is stable.

use std::collections::BTreeMap;

use regex::Regex;
use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Transcript {
    pub scenario: String,
    pub faq: String,
    pub title: String,
    /// The one thing changed from the healthy tenant.
    pub mutation: String,
    /// What the harness did differently from a full deployment, when that explains the story (a
    /// backend profile without a schema, so its tables were never created).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub steps: Vec<StepRecord>,
    /// Every error-log line the backend wrote (files `*_error<date>.log`), by file.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub backend_errors: BTreeMap<String, Vec<String>>,
    /// Database facts after the flow.
    pub db: BTreeMap<String, serde_json::Value>,
}

/// One step of the flow with everything it caused.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StepRecord {
    pub step: String,
    /// What the app did and saw (requests, answers, messages shown to the user).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub app: Vec<serde_json::Value>,
    /// Cloud journal lines written during the step: `service: request -> outcome`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cloud: Vec<String>,
    /// Set when the step could not be carried out at all (not an app-visible failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Transcript {
    /// The YAML document, unredacted.
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(self)
            .unwrap_or_else(|e| format!("# transcript not serialisable: {e}\n"))
    }

    /// Every text of the transcript, unescaped, one per line: what expectations are matched against
    /// (YAML quoting would otherwise hide `'live_user'` as `''live_user''`).
    pub fn plain_text(&self) -> String {
        fn walk(v: &serde_json::Value, out: &mut String) {
            match v {
                serde_json::Value::String(s) => {
                    out.push_str(s);
                    out.push('\n');
                }
                serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
                serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
                    out.push_str(k);
                    out.push('\n');
                    walk(v, out);
                }),
                other => {
                    out.push_str(&other.to_string());
                    out.push('\n');
                }
            }
        }
        let mut out = String::new();
        walk(&serde_json::to_value(self).unwrap_or_default(), &mut out);
        out
    }

    /// The YAML document with the default redactions applied: what snapshots hold.
    pub fn to_redacted_yaml(&self) -> String {
        Redactor::default().apply(&self.to_yaml())
    }
}

/// Ordered text redactions; each replaces what varies from run to run with a stable marker.
pub struct Redactor {
    rules: Vec<(Regex, &'static str)>,
}

impl Default for Redactor {
    fn default() -> Self {
        // Order matters: specific shapes before general ones.
        let rules: &[(&str, &str)] = &[
            (r"(txSecret=)[0-9a-fA-F]{32}", "${1}[txSecret]"),
            (r"(txTime=)[0-9a-fA-F]{6,10}", "${1}[txTime]"),
            (r"(127\.0\.0\.\d{1,3}):\d{2,5}", "${1}:[port]"),
            (r"(?i)(user_?sig\W+)[A-Za-z0-9*_\-]{20,}", "${1}[usersig]"),
            // Base64 signatures may hold `/`, so a long recording path (`…vodgzp{appid}/{file_id}/f0`)
            // has the same shape: those are kept, see `SIGNATURE_LOOKALIKES`.
            (r"[A-Za-z0-9+/]{60,}={0,2}", "[signature]"),
            (r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}\b", "[time]"),
            (r"(20\d{2})(0[1-9]|1[0-2])([0-3]\d)\.log\b", "[date].log"),
            (r"\[\d+:\d+:\d+\]", "[pid:event:ts]"),
            (r"\b1[5-9]\d{8}\b", "[unix]"),
            (r"\b[0-9a-f]{32}\b", "[md5]"),
            (r"\b[0-9a-f]{40,64}\b", "[id]"),
        ];
        Self {
            rules: rules
                .iter()
                .map(|(re, to)| (Regex::new(re).expect("redaction patterns are valid"), *to))
                .collect(),
        }
    }
}

/// Runs that match the signature rule but are stable paths of the cloud (VOD recording paths), kept as
/// they are because they tell where a recording was stored.
const SIGNATURE_LOOKALIKES: &[&str] = &["vodgzp"];

impl Redactor {
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (re, to) in &self.rules {
            out = re
                .replace_all(&out, |caps: &regex::Captures<'_>| {
                    let whole = caps.get(0).map_or("", |m| m.as_str());
                    if *to == "[signature]"
                        && SIGNATURE_LOOKALIKES.iter().any(|k| whole.contains(k))
                    {
                        whole.to_string()
                    } else {
                        let mut replaced = String::new();
                        caps.expand(to, &mut replaced);
                        replaced
                    }
                })
                .into_owned();
        }
        out
    }
}

/// A backend log line without what a backend measures on the wall clock, which varies from run to run
/// with any backend: a duration or timing given with a unit (`12ms`, `0.4 s`, `1s`) or after a word that
/// names one (`duration:1`, `cost=12`, `elapsed 3`). The words and units stay, so the line still says what
/// was timed; only log lines are touched, never the DB facts or the cloud's journal.
pub fn redact_log_timings(line: &str) -> String {
    static RULES: std::sync::LazyLock<[Regex; 2]> = std::sync::LazyLock::new(|| {
        [
            Regex::new(
                r"(?i)\b(duration|cost|elapsed|took|spent|time_?used|latency)(\s*[=:]?\s*)\d+(?:\.\d+)?",
            )
            .expect("the timing pattern is valid"),
            Regex::new(r"\b\d+(?:\.\d+)?(\s?)(ms|us|µs|ns|s|sec|secs|seconds)\b")
                .expect("the unit pattern is valid"),
        ]
    });
    let words = RULES[0].replace_all(line, "${1}${2}[duration]");
    RULES[1]
        .replace_all(&words, "[duration]${1}${2}")
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_paths_are_not_taken_for_signatures() {
        let r = Redactor::default();
        let url = "hls_play_url: http://1252033264.vod2.myqcloud.com/48278248vodgzp1252033264/6390a5f19031868222958900001/playlist.m3u8";
        assert_eq!(r.apply(url), url);
        let sig = "Authorization: ".to_string() + &"a/B+".repeat(20);
        assert_eq!(r.apply(&sig), "Authorization: [signature]");
    }

    #[test]
    fn push_urls_lose_their_secret_time_and_port() {
        let r = Redactor::default();
        let url = "rtmp://8888.livepush2.myqcloud.com/live/8888_a?bizid=8888&record=flv|hls&txSecret=947e47a184f5951d47c976d31a191f60&txTime=579acb15 via 127.0.0.1:40123";
        assert_eq!(
            r.apply(url),
            "rtmp://8888.livepush2.myqcloud.com/live/8888_a?bizid=8888&record=flv|hls&txSecret=[txSecret]&txTime=[txTime] via 127.0.0.1:[port]"
        );
    }

    #[test]
    fn log_lines_lose_time_and_pid_but_keep_the_message() {
        let r = Redactor::default();
        let line = "[2026-11-24 18:20:00][4242:777:1764000000][][appid:][[simple_mysql_session.class.php][__construct][27][ERROR][0] mysqli_connect failed, error:Access denied for user 'live_user'@'127.0.0.1' (using password: YES)]";
        let out = r.apply(line);
        assert!(out.starts_with("[[time]][pid:event:ts]"), "{out}");
        assert!(
            out.contains("Access denied for user 'live_user'@'127.0.0.1' (using password: YES)"),
            "{out}"
        );
    }

    #[test]
    fn timings_in_log_lines_are_redacted_with_their_words_kept() {
        let line =
            "tape duration too short: 1s, stream:8888_a; mysql cost=12 took 0.4 ms, duration:0";
        assert_eq!(
            redact_log_timings(line),
            "tape duration too short: [duration]s, stream:8888_a; mysql cost=[duration] took [duration] ms, duration:[duration]"
        );
        // Codes, ids and sizes are not timings.
        let kept = "[ERROR][0] query failed, errno 1054, 534 bytes, HTTP 500, stream 8888_anchor01";
        assert_eq!(redact_log_timings(kept), kept);
    }

    #[test]
    fn error_names_and_codes_survive() {
        let r = Redactor::default();
        let s = "-97 ERROR_PROXY_AUTH_FAILED, event 3004, code 70014, HTTP 500";
        assert_eq!(r.apply(s), s);
    }
}
