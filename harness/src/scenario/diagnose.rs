//! `tcharness diagnose`: which FAQ items (and which known tickets) does a customer's log or description point at?
//!
//! Every entry of the [`knowledge`] table sums the weights of its distinct signals found in the text. FAQ items
//! and tickets are ranked apart; entries with the same score are reported as a tie, not ordered by name. When the
//! best score is weak the diagnosis abstains instead of naming an item.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

use super::knowledge::{self, Entry, Kind, Signal};
use super::model::Scenario;

/// Below this score nothing is named with confidence: one medium signal, or only hints.
pub const CONFIDENT: f64 = 2.5;
/// From this score on two independent signals agree.
const HIGH: f64 = 4.5;
/// Scores this close are the same evidence.
const TIE: f64 = 0.01;
/// Log lines quoted per entry.
const QUOTED: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    High,
    Medium,
    Low,
}

/// A line of the customer's text that matched.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Evidence {
    /// 1-based line number.
    pub line: usize,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Match {
    /// The FAQ item ("1.7") or the ticket's id.
    pub key: String,
    pub kind: Kind,
    pub title: String,
    pub answer: String,
    pub scenarios: Vec<String>,
    pub score: f64,
    pub confidence: Confidence,
    /// Whether another entry of the same kind has the same score.
    pub tie: bool,
    pub found: Vec<Evidence>,
}

impl Match {
    /// The command that replays this entry's first scenario, from the repository root.
    pub fn replay_command(&self) -> String {
        match self.scenarios.first() {
            Some(s) => format!("tcharness replay harness/scenarios/{s}.toml"),
            None => String::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Diagnosis {
    /// Whether the best entry has enough evidence to be named.
    pub confident: bool,
    /// The keys of the best entries over FAQ items and tickets (several on a tie).
    pub best: Vec<String>,
    pub faq: Vec<Match>,
    pub tickets: Vec<Match>,
}

impl Diagnosis {
    /// All matches, best first, FAQ items before tickets on equal scores.
    pub fn ranked(&self) -> Vec<&Match> {
        let mut all: Vec<&Match> = self.faq.iter().chain(self.tickets.iter()).collect();
        all.sort_by(|a, b| b.score.total_cmp(&a.score));
        all
    }
}

/// Diagnoses `text` against the built-in table.
pub fn diagnose(text: &str) -> Diagnosis {
    diagnose_with(knowledge::builtin(), &[], text)
}

/// Diagnoses `text` against `table`, plus the scenarios of `extra` that the table does not cover (their expected
/// symptoms become medium signals), so a `--dir` with new scenarios still contributes.
pub fn diagnose_with(table: &[Entry], extra: &[Scenario], text: &str) -> Diagnosis {
    let extra_entries = uncovered(table, extra);
    let lines: Vec<&str> = text.lines().collect();
    let messages: Vec<Cow<str>> = lines.iter().map(|l| message_of(l)).collect();
    let mut faq = Vec::new();
    let mut tickets = Vec::new();
    for e in table.iter().chain(extra_entries.iter()) {
        if let Some(m) = score(e, &lines, &messages) {
            match e.kind {
                Kind::Faq => faq.push(m),
                Kind::Ticket => tickets.push(m),
            }
        }
    }
    for list in [&mut faq, &mut tickets] {
        // A stable sort keeps the table's order among equals, which the tie flag then makes visible.
        list.sort_by(|a, b| b.score.total_cmp(&a.score));
        let scores: Vec<f64> = list.iter().map(|m| m.score).collect();
        for m in list.iter_mut() {
            m.tie = scores
                .iter()
                .filter(|s| (**s - m.score).abs() < TIE)
                .count()
                > 1;
        }
    }
    // FAQ items come first: a ticket is the answer only when it has more evidence than every FAQ item.
    let top_of = |l: &[Match]| l.first().map_or(0.0, |m| m.score);
    let (top_faq, top_ticket) = (top_of(&faq), top_of(&tickets));
    let (top, leaders) = if top_ticket > top_faq + TIE {
        (top_ticket, &tickets)
    } else {
        (top_faq, &faq)
    };
    let confident = top >= CONFIDENT;
    let best = if confident {
        leaders
            .iter()
            .filter(|m| (m.score - top).abs() < TIE)
            .map(|m| m.key.clone())
            .collect()
    } else {
        Vec::new()
    };
    Diagnosis {
        confident,
        best,
        faq,
        tickets,
    }
}

/// The message of a log line without the metadata its logger puts in front: logcat's date, time, pid and tid
/// (`12-04 10:00:01.222  3004  3050 I Tag: msg`, `I/Tag( 3004): msg`), NSLog's `2017-12-04 10:00:01.222
/// App[3004:1200]`, PHP's `[04-Dec-2017 10:00:01 UTC]`. A pid or a millisecond field that happens to read 3004 or
/// 404 is no evidence.
fn message_of(line: &str) -> Cow<'_, str> {
    static PREFIX: OnceLock<Regex> = OnceLock::new();
    static BRIEF: OnceLock<Regex> = OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        Regex::new(concat!(
            r"^\s*(?:",
            // a date and time (logcat's has no year), then logcat's pid, tid and level or NSLog's process[pid:tid]
            r"\[?(?:\d{4}[-/])?\d\d[-/]\d\d[ T]\s*\d\d:\d\d:\d\d(?:[.,:]\d+)?(?:\s*[+-]\d{4}|Z)?\]?",
            r"(?:\s+\d+\s+\d+\s+[VDIWEFA]\s|\s+[\w.\- ]{1,64}\[\d+:[0-9a-fA-Fx]+\])?",
            // PHP's error_log
            r"|\[\d\d-[A-Za-z]{3}-\d{4} \d\d:\d\d:\d\d[^\]]{0,40}\]",
            r")",
        ))
        .unwrap_or_else(|e| panic!("log prefix pattern: {e}"))
    });
    // logcat's brief format keeps the tag and drops the pid: `E/Tag( 3004): msg` -> `E/Tag: msg`.
    let brief = BRIEF.get_or_init(|| {
        Regex::new(r"^\s*([VDIWEFA]/[^(:]{1,64}?)\s*\(\s*\d+\)")
            .unwrap_or_else(|e| panic!("logcat brief pattern: {e}"))
    });
    if let Some(c) = brief.captures(line) {
        let end = c.get(0).map_or(0, |m| m.end());
        let tag = c.get(1).map_or("", |m| m.as_str());
        return Cow::Owned(format!("{tag}{}", &line[end..]));
    }
    match prefix.find(line) {
        Some(m) => Cow::Borrowed(&line[m.end()..]),
        None => Cow::Borrowed(line),
    }
}

fn score(e: &Entry, lines: &[&str], messages: &[Cow<str>]) -> Option<Match> {
    let mut total = 0.0;
    let mut found: Vec<Evidence> = Vec::new();
    for s in &e.signals {
        let hits: Vec<usize> = messages
            .iter()
            .enumerate()
            .filter(|(_, l)| s.pattern.is_match(l))
            .map(|(i, _)| i)
            .collect();
        if hits.is_empty() {
            continue;
        }
        total += s.weight;
        // Counter-evidence lowers the score but is not quoted as a reason for the entry.
        if s.weight < 0.0 {
            continue;
        }
        for i in hits {
            if found.len() < QUOTED && found.iter().all(|f| f.line != i + 1) {
                found.push(Evidence {
                    line: i + 1,
                    text: clip(lines[i].trim()),
                });
            }
        }
    }
    if total <= 0.0 {
        return None;
    }
    found.sort_by_key(|f| f.line);
    let confidence = if total >= HIGH {
        Confidence::High
    } else if total >= CONFIDENT {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    Some(Match {
        key: e.key.clone(),
        kind: e.kind,
        title: e.title.clone(),
        answer: e.answer.clone(),
        scenarios: e.scenarios.clone(),
        score: total,
        confidence,
        tie: false,
        found,
    })
}

fn clip(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

fn uncovered(table: &[Entry], scenarios: &[Scenario]) -> Vec<Entry> {
    scenarios
        .iter()
        .filter(|s| s.faq != "-" && !table.iter().any(|e| e.scenarios.contains(&s.id)))
        .filter_map(|s| {
            let signals: Vec<Signal> = std::iter::once(&s.expect.symptom)
                .chain(s.expect.also.iter())
                .filter(|p| p.trim().len() > 3)
                .filter_map(|p| knowledge::case_insensitive(&regex::escape(p)).ok())
                .map(|pattern| Signal {
                    pattern,
                    weight: CONFIDENT,
                })
                .collect();
            if signals.is_empty() {
                return None;
            }
            let ticket = s.faq == "ticket";
            Some(Entry {
                key: if ticket { s.id.clone() } else { s.faq.clone() },
                kind: if ticket { Kind::Ticket } else { Kind::Faq },
                title: s.title.clone(),
                answer: s
                    .description
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                scenarios: vec![s.id.clone()],
                signals,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_sdk_chinese_3004_text_is_a_confident_tie_of_the_push_items() {
        let d = diagnose(
            "W/TCLivePublisher: onPushEvent 3004 RTMP服务器主动断开，请检查推流地址的合法性或防盗链有效期",
        );
        assert!(d.confident);
        assert_eq!(d.best, ["1.1", "1.2"]);
        assert!(d.faq[0].tie && d.faq[1].tie);
        assert_eq!(d.faq[0].found[0].line, 1);
    }

    #[test]
    fn a_specific_line_breaks_the_tie() {
        let d = diagnose("evt 3004\ningest: refused: bad txSecret");
        assert_eq!(d.best, ["1.2"]);
        assert!(!d.faq[0].tie);
        assert_eq!(d.faq[0].confidence, Confidence::High);
    }

    #[test]
    fn a_bare_404_or_a_healthy_push_is_no_evidence() {
        let d = diagnose("10:04:04 GET /favicon.ico 404\nPush begins\nonPushEvent 1002");
        assert!(!d.confident && d.best.is_empty(), "{d:?}");
    }

    #[test]
    fn a_pid_or_a_time_is_not_a_code() {
        assert_eq!(
            message_of("12-04 13:00:00.100  3004  3050 I TXLivePusher: go"),
            "TXLivePusher: go"
        );
        assert_eq!(message_of("I/Tag( 3004): go"), "I/Tag: go");
        assert_eq!(
            message_of("2017-12-04 15:10:02.554 XiaoZhiBo[3004:9911] go"),
            " go"
        );
        assert_eq!(message_of("[04-Dec-2017 10:22:31 Asia/Shanghai] go"), " go");
        let d = diagnose("12-04 13:00:00.100  3004  3051 I TCPusherMgr: Push begins");
        assert!(!d.confident, "{d:?}");
        let d = diagnose("order 20171204-0097 at 04:04:04, tracking 70012-404-133");
        assert!(!d.confident, "{d:?}");
    }

    #[test]
    fn a_network_error_about_a_tencent_host_is_not_the_backend_address() {
        let d = diagnose(
            "E/Glide: java.net.UnknownHostException: Unable to resolve host \"b-1252033264.file.myqcloud.com\"",
        );
        assert_eq!(d.best, ["5"]);
        let d = diagnose(
            "E/TCHttpEngine: java.net.UnknownHostException: Unable to resolve host \"live.example.com\"",
        );
        assert_eq!(d.best, ["2.4"]);
    }

    #[test]
    fn a_backend_said_to_be_right_points_at_the_app_copy() {
        let d = diagnose(
            "OutDefine.php is correct, uploads still fail: ERROR_PROXY_SIGN_BUCKET_NOTMATCH",
        );
        assert_eq!(d.best, ["2.2"]);
        let found = &d
            .faq
            .iter()
            .find(|m| m.key == "1.5")
            .expect("1.5 still listed")
            .found;
        assert_eq!(found.len(), 1, "counter-evidence is not quoted as a reason");
    }

    #[test]
    fn tickets_are_ranked_apart_from_faq_items() {
        let d = diagnose("onPushEvent 3004\npublish refused: already publishing");
        assert_eq!(d.best, ["ticket-second-pusher"]);
        assert!(d.faq.iter().all(|m| m.kind == Kind::Faq));
        assert_eq!(d.tickets[0].key, "ticket-second-pusher");
    }

    #[test]
    fn a_scenario_the_table_does_not_know_still_counts() {
        let text = "id = \"faq-9-new\"\nfaq = \"9\"\ntitle = \"t\"\n[expect]\nsymptom = \"FROBNICATOR_JAMMED\"\n";
        let s = Scenario::from_toml(text, Path::new("s.toml")).unwrap();
        let d = diagnose_with(knowledge::builtin(), &[s], "x: FROBNICATOR_JAMMED");
        assert_eq!(d.best, ["9"]);
    }
}
