//! `diagnose` on a corpus of customer reports (logcat, NSLog, COS replies, PHP logs, English and Chinese
//! paraphrases, noisy logs, UTF-16 and GBK files). Fails when top-1/top-3 drop below the targets or when a report
//! that matches no FAQ item gets a confident answer.

use std::path::Path;

use tcharness::formats::text;
use tcharness::scenario::diagnose;

/// Targets of the support tools' brief.
const TOP1: f64 = 0.80;
const TOP3: f64 = 0.90;

#[test]
fn corpus_top1_top3_and_abstention_meet_the_targets() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support_corpus/diagnose");
    let index = std::fs::read_to_string(dir.join("index.tsv")).expect("index.tsv");
    let (mut reports, mut top1, mut top3) = (0usize, 0usize, 0usize);
    let (mut nomatch, mut abstained) = (0usize, 0usize);
    let mut misses = Vec::new();
    for line in index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (file, expected) = line.split_once('\t').expect("file<TAB>expected");
        let log = text::read(&dir.join(file)).expect("corpus file");
        let d = diagnose::diagnose(&log);
        if expected == "none" {
            nomatch += 1;
            if !d.confident {
                abstained += 1;
            } else {
                misses.push(format!("{file}: expected no answer, got {:?}", d.best));
            }
            continue;
        }
        reports += 1;
        let want: Vec<&str> = expected.split('|').collect();
        let ranked: Vec<&str> = if d.confident {
            d.ranked().iter().map(|m| m.key.as_str()).collect()
        } else {
            Vec::new()
        };
        if ranked.first().is_some_and(|k| want.contains(k)) {
            top1 += 1;
        } else {
            misses.push(format!("{file}: expected {expected}, got {ranked:?}"));
        }
        if ranked.iter().take(3).any(|k| want.contains(k)) {
            top3 += 1;
        }
    }
    let r1 = top1 as f64 / reports as f64;
    let r3 = top3 as f64 / reports as f64;
    println!(
        "diagnose corpus: {reports} reports, top-1 {top1} ({:.1} %), top-3 {top3} ({:.1} %); \
         {nomatch} unrelated reports, {abstained} abstained",
        r1 * 100.0,
        r3 * 100.0
    );
    for m in &misses {
        println!("  miss: {m}");
    }
    assert!(reports >= 60 && nomatch >= 10, "corpus too small");
    assert!(r1 >= TOP1, "top-1 {r1:.3} < {TOP1}");
    assert!(r3 >= TOP3, "top-3 {r3:.3} < {TOP3}");
    assert_eq!(abstained, nomatch, "confident answers on unrelated reports");
}
