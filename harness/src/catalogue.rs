//! The catalogue built into the crate: every FAQ scenario and ticket, the healthy tenant and the
//! reference snapshots of the minilvb backend. `tcharness` run outside a checkout, and a backend team's
//! own test crate, use it as it shipped; a directory given on the command line takes its place.

#![warn(missing_docs)]

use std::path::{Path, PathBuf};

use crate::scenario::model::{Scenario, ScenarioError};

mod files {
    include!(concat!(env!("OUT_DIR"), "/catalogue_files.rs"));
}

/// Where the built-in catalogue's files are said to come from in messages (`builtin:scenarios/x.toml`).
pub const BUILTIN_PREFIX: &str = "builtin:";

/// Every built-in scenario (FAQ items first, then tickets), sorted by file name within each group.
/// `tenant.toml` is the healthy tenant, not a scenario.
pub fn scenarios() -> Result<Vec<Scenario>, ScenarioError> {
    scenario_sources()
        .map(|(path, text)| Scenario::from_toml(text, &builtin_path(path)))
        .collect()
}

/// `(path, text)` of every built-in scenario file.
pub fn scenario_sources() -> impl Iterator<Item = (&'static str, &'static str)> {
    files::SCENARIO_FILES
        .iter()
        .chain(files::TICKET_FILES)
        .filter(|(path, _)| !path.ends_with("/tenant.toml"))
        .copied()
}

/// The accepted snapshot of scenario `id` for the minilvb backend, as shipped.
pub fn snapshot(id: &str) -> Option<&'static str> {
    let name = format!("snapshots/faq__{id}.snap");
    files::SNAPSHOT_FILES
        .iter()
        .find(|(path, _)| *path == name)
        .map(|(_, text)| *text)
}

/// Whether `path` names a built-in file (see [`BUILTIN_PREFIX`]).
pub fn is_builtin(path: &Path) -> bool {
    path.to_string_lossy().starts_with(BUILTIN_PREFIX)
}

fn builtin_path(path: &str) -> PathBuf {
    PathBuf::from(format!("{BUILTIN_PREFIX}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_checkout_is_built_in() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let on_disk = crate::scenario::model::scenario_files(&root.join("scenarios"));
        let built_in = scenarios().expect("built-in scenarios parse");
        assert_eq!(on_disk.len(), built_in.len());
        for s in &built_in {
            assert!(
                snapshot(&s.id).is_some(),
                "{} has no built-in snapshot",
                s.id
            );
        }
        assert!(built_in.iter().any(|s| s.id == "ticket-second-pusher"));
    }
}
