//! `diagnose` on two corpora of customer reports (logcat, NSLog, COS replies, PHP logs, English and Chinese
//! paraphrases, noisy logs, UTF-16 and GBK files): `diagnose/`, and `diagnose_blind/`, written later by someone
//! who had not read the first one, as a stand-in for material nobody on the team wrote. Fails when top-1/top-3
//! drop below the targets on either, or when a report that matches no FAQ item gets a confident answer.

use std::path::Path;

use tcharness::formats::text;
use tcharness::scenario::diagnose;

/// Targets of the support tools' brief.
const TOP1: f64 = 0.80;
const TOP3: f64 = 0.90;

struct Stats {
    reports: usize,
    top1: usize,
    top3: usize,
    nomatch: usize,
    abstained: usize,
}

/// Scores every report listed in `DIR/index.tsv` (`file<TAB>expected`, expected = keys joined by `|`, or `none`).
fn measure(corpus: &str) -> Stats {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support_corpus")
        .join(corpus);
    let index = std::fs::read_to_string(dir.join("index.tsv")).expect("index.tsv");
    let mut st = Stats {
        reports: 0,
        top1: 0,
        top3: 0,
        nomatch: 0,
        abstained: 0,
    };
    let mut misses = Vec::new();
    for line in index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (file, expected) = line.split_once('\t').expect("file<TAB>expected");
        let log = text::read(&dir.join(file)).expect("corpus file");
        let d = diagnose::diagnose(&log);
        if expected == "none" {
            st.nomatch += 1;
            if !d.confident {
                st.abstained += 1;
            } else {
                misses.push(format!("{file}: expected no answer, got {:?}", d.best));
            }
            continue;
        }
        st.reports += 1;
        let want: Vec<&str> = expected.split('|').collect();
        let ranked: Vec<&str> = if d.confident {
            d.ranked().iter().map(|m| m.key.as_str()).collect()
        } else {
            Vec::new()
        };
        if ranked.first().is_some_and(|k| want.contains(k)) {
            st.top1 += 1;
        } else {
            misses.push(format!("{file}: expected {expected}, got {ranked:?}"));
        }
        if ranked.iter().take(3).any(|k| want.contains(k)) {
            st.top3 += 1;
        }
    }
    println!(
        "diagnose corpus {corpus}: {} reports, top-1 {} ({:.1} %), top-3 {} ({:.1} %); \
         {} unrelated reports, {} abstained",
        st.reports,
        st.top1,
        rate(st.top1, st.reports) * 100.0,
        st.top3,
        rate(st.top3, st.reports) * 100.0,
        st.nomatch,
        st.abstained
    );
    for m in &misses {
        println!("  miss: {m}");
    }
    st
}

fn rate(n: usize, of: usize) -> f64 {
    n as f64 / of as f64
}

fn assert_targets(corpus: &str, min_reports: usize, min_nomatch: usize) {
    let st = measure(corpus);
    assert!(
        st.reports >= min_reports && st.nomatch >= min_nomatch,
        "{corpus}: corpus too small"
    );
    let (r1, r3) = (rate(st.top1, st.reports), rate(st.top3, st.reports));
    assert!(r1 >= TOP1, "{corpus}: top-1 {r1:.3} < {TOP1}");
    assert!(r3 >= TOP3, "{corpus}: top-3 {r3:.3} < {TOP3}");
    assert_eq!(
        st.abstained, st.nomatch,
        "{corpus}: confident answers on unrelated reports"
    );
}

#[test]
fn corpus_top1_top3_and_abstention_meet_the_targets() {
    assert_targets("diagnose", 60, 10);
}

#[test]
fn blind_corpus_top1_top3_and_abstention_meet_the_targets() {
    assert_targets("diagnose_blind", 38, 8);
}
