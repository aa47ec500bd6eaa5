//! Snapshot files in insta's format (`snapshots/faq__<id>.snap`), read and written without insta so the
//! CLI can compare a replay against the accepted transcript and show what changed.

use std::path::{Path, PathBuf};

/// Where the snapshot of scenario `id` lives under `dir` (insta's naming for the `faq` test).
pub fn snapshot_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("faq__{id}.snap"))
}

/// Where the accepted transcripts of backend profile `profile` live when no directory is given, for a
/// backend other than the built-in minilvb (whose baseline is `snapshots/`): `snapshots-<profile>`
/// beside the catalogue's directory (that of the first scenario path, or the one above a `tickets/`
/// directory), so each backend is held against its own baseline. `None` for the catalogue built into the
/// binary: then the current directory.
pub fn profile_dir(profile: &str, first_path: Option<&Path>) -> PathBuf {
    let name: String = profile
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let leaf = format!("snapshots-{name}");
    let Some(path) = first_path.filter(|p| p.exists()) else {
        return PathBuf::from(leaf);
    };
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut catalogue = if path.is_dir() {
        path.as_path()
    } else {
        path.parent().unwrap_or(Path::new("."))
    };
    if catalogue.file_name().is_some_and(|n| n == "tickets")
        && let Some(parent) = catalogue.parent()
    {
        catalogue = parent;
    }
    catalogue.parent().unwrap_or(Path::new(".")).join(leaf)
}

/// The accepted content of a snapshot file, without insta's header.
pub fn read_snapshot(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(strip_header(&text).to_string())
}

/// The content of a snapshot file's text, without insta's header.
pub fn strip_header(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("---\n") else {
        return text;
    };
    match rest.find("\n---\n") {
        Some(end) => &rest[end + 5..],
        None => text,
    }
}

/// Writes `content` as an insta snapshot (what `cargo insta accept` would have written). The header of an
/// existing file is kept as it is, so accepting from the CLI and from `cargo insta` do not rewrite each other's
/// headers; a new file gets the header the catalogue test writes (`source`, the scenario's title as
/// `description`).
pub fn write_snapshot(path: &Path, description: &str, content: &str) -> std::io::Result<()> {
    write_with_header_of(path, path, description, content)
}

/// Where a snapshot that differs waits for review: insta's pending file beside it (`….snap.new`).
pub fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".new");
    PathBuf::from(name)
}

/// Writes `content` as the pending snapshot of `path`, with the accepted file's header when there is one.
pub fn write_pending(path: &Path, description: &str, content: &str) -> std::io::Result<()> {
    write_with_header_of(&pending_path(path), path, description, content)
}

/// Writes `content` to `target` under the header of the snapshot file `header_from`, or under the
/// catalogue test's header when that file has none.
fn write_with_header_of(
    target: &Path,
    header_from: &Path,
    description: &str,
    content: &str,
) -> std::io::Result<()> {
    let existing = std::fs::read_to_string(header_from).ok();
    let header = match existing.as_deref().and_then(header_of) {
        Some(h) => h.to_string(),
        None => format!(
            "---\nsource: harness/tests/faq.rs\ndescription: {}\n---\n",
            serde_json::Value::String(description.to_string())
        ),
    };
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(target, format!("{header}{}\n", content.trim_end()))
}

/// The header block of a snapshot file, both `---` lines included.
fn header_of(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    Some(&text[..4 + end + 5])
}

/// Whether two snapshot contents are the same, ignoring trailing whitespace.
pub fn same(a: &str, b: &str) -> bool {
    a.trim_end() == b.trim_end()
}

/// A line diff of `accepted` → `actual`, lines prefixed with `-`/`+` and a little context.
pub fn diff(accepted: &str, actual: &str) -> String {
    let a: Vec<&str> = accepted.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // Longest common subsequence table; transcripts are a few hundred lines, so O(n·m) is fine.
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', b[j]));
            j += 1;
        } else {
            ops.push(('-', a[i]));
            i += 1;
        }
    }
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut out = String::new();
    let mut last_shown: Option<usize> = None;
    for (k, (tag, line)) in ops.iter().enumerate() {
        let near = changed.iter().any(|&c| c.abs_diff(k) <= 2);
        if !near {
            continue;
        }
        if last_shown.is_some_and(|l| k > l + 1) {
            out.push_str("  ...\n");
        }
        out.push_str(&format!("{tag} {line}\n"));
        last_shown = Some(k);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_stripped() {
        let text = "---\nsource: x\nexpression: y\n---\na: 1\n";
        assert_eq!(strip_header(text), "a: 1\n");
    }

    #[test]
    fn a_written_snapshot_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = snapshot_path(dir.path(), "healthy");
        write_snapshot(&path, "Title: with a colon", "a: 1\nb: 2\n").unwrap();
        assert!(same(&read_snapshot(&path).unwrap(), "a: 1\nb: 2"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(
                "---\nsource: harness/tests/faq.rs\ndescription: \"Title: with a colon\"\n---\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn accepting_again_keeps_the_existing_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = snapshot_path(dir.path(), "healthy");
        std::fs::write(
            &path,
            "---\nsource: harness/tests/faq.rs\ndescription: kept\n---\nold: 1\n",
        )
        .unwrap();
        write_snapshot(&path, "other", "new: 2\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "---\nsource: harness/tests/faq.rs\ndescription: kept\n---\nnew: 2\n"
        );
    }

    #[test]
    fn other_backends_have_a_baseline_of_their_own_beside_the_catalogue() {
        let dir = tempfile::tempdir().unwrap();
        let scenarios = dir.path().join("harness/scenarios");
        std::fs::create_dir_all(scenarios.join("tickets")).unwrap();
        std::fs::write(scenarios.join("tickets/t.toml"), "").unwrap();
        let want = dir.path().join("harness/snapshots-php");
        assert_eq!(profile_dir("php", Some(&scenarios)), want);
        assert_eq!(profile_dir("php", Some(&scenarios.join("tickets"))), want);
        assert_eq!(
            profile_dir("php", Some(&scenarios.join("tickets/t.toml"))),
            want
        );
        assert_eq!(
            profile_dir("acme backend/2", None),
            PathBuf::from("snapshots-acme_backend_2")
        );
    }

    #[test]
    fn the_diff_shows_the_changed_line() {
        let d = diff("a\nb\nc\n", "a\nB\nc\n");
        assert!(d.contains("- b\n") && d.contains("+ B\n"), "{d}");
    }
}
