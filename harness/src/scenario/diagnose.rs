//! `tcharness diagnose`: which FAQ scenarios does a customer's log look like?
//!
//! Each scenario contributes its expected symptom and extra phrases. A phrase found in the log scores by how
//! specific it is: one that only one scenario has weighs more than one that many share (an inverse document
//! frequency), so `ERROR_PROXY_AUTH_FAILED` points at one item while `RTMP server actively disconnects` spreads
//! over the push failures.

use std::collections::BTreeMap;

use super::model::Scenario;

#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    pub id: String,
    pub faq: String,
    pub title: String,
    pub score: f64,
    /// The phrases of the scenario found in the log.
    pub found: Vec<String>,
}

/// Scenarios whose phrases appear in `log`, best first; scenarios with no phrase found are left out.
pub fn rank(scenarios: &[Scenario], log: &str) -> Vec<Match> {
    let log = log.to_lowercase();
    let phrases: Vec<(usize, Vec<String>)> = scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut p = vec![s.expect.symptom.clone()];
            p.extend(s.expect.also.iter().cloned());
            p.retain(|x| !x.trim().is_empty());
            (i, p)
        })
        .collect();
    let mut holders: BTreeMap<String, usize> = BTreeMap::new();
    for (_, ps) in &phrases {
        for p in ps {
            *holders.entry(p.to_lowercase()).or_default() += 1;
        }
    }
    let total = scenarios.len().max(1) as f64;
    let mut out: Vec<Match> = phrases
        .into_iter()
        .filter_map(|(i, ps)| {
            let s = &scenarios[i];
            let found: Vec<String> = ps
                .into_iter()
                .filter(|p| log.contains(&p.to_lowercase()))
                .collect();
            if found.is_empty() {
                return None;
            }
            let score = found
                .iter()
                .map(|p| {
                    let n = holders.get(&p.to_lowercase()).copied().unwrap_or(1) as f64;
                    (1.0 + total / n).ln()
                })
                .sum();
            Some(Match {
                id: s.id.clone(),
                faq: s.faq.clone(),
                title: s.title.clone(),
                score,
                found,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(id: &str, symptom: &str, also: &[&str]) -> Scenario {
        let also = also
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!(
            "id = {id:?}\nfaq = \"x\"\ntitle = \"t\"\n[expect]\nsymptom = {symptom:?}\nalso = [{also}]\n"
        );
        Scenario::from_toml(&text, Path::new("s.toml")).unwrap()
    }

    #[test]
    fn a_specific_phrase_outranks_a_shared_one() {
        let scenarios = vec![
            scenario(
                "push-key",
                "RTMP server actively disconnects",
                &["bad txSecret"],
            ),
            scenario(
                "bizid",
                "RTMP server actively disconnects",
                &["unknown bizid"],
            ),
            scenario("cos-key", "ERROR_PROXY_AUTH_FAILED", &[]),
        ];
        let log =
            "12:00 push: RTMP server actively disconnects (3004)\ncloud: refused: bad txSecret";
        let ranked = rank(&scenarios, log);
        assert_eq!(ranked[0].id, "push-key");
        assert_eq!(ranked.len(), 2);
        assert!(ranked[0].score > ranked[1].score);
    }

    #[test]
    fn nothing_matches_an_unrelated_log() {
        let scenarios = vec![scenario("cos-key", "ERROR_PROXY_AUTH_FAILED", &[])];
        assert!(rank(&scenarios, "all good").is_empty());
    }
}
