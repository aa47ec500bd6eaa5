//! INI files read as PHP's `parse_ini_file` reads the backend's conf/cdn.route.ini: section names trimmed
//! (`[ DB ]` is section `DB`), `;` and `#` comment lines, a `;` ending an unquoted value, double- or
//! single-quoted values keeping `;` and `#`, a UTF-8 BOM, CRLF line ends.

/// One `key = value` line.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The section it is under, trimmed; empty before the first section.
    pub section: String,
    pub key: String,
    pub value: String,
    /// 1-based line.
    pub line: usize,
}

/// Every entry of `src`, in order; lines PHP would reject are skipped.
pub fn parse(src: &str) -> Vec<Entry> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut section = String::new();
    let mut out = Vec::new();
    for (n, raw) in src.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            if let Some(end) = rest.find(']') {
                section = rest[..end].trim().to_string();
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() {
            continue;
        }
        out.push(Entry {
            section: section.clone(),
            key: key.to_string(),
            value: value_of(value.trim()),
            line: n + 1,
        });
    }
    out
}

/// The value of `key` in `section` (sections compared trimmed, as PHP does); the last one wins, as in PHP.
pub fn get<'a>(entries: &'a [Entry], section: &str, key: &str) -> Option<&'a Entry> {
    entries
        .iter()
        .rev()
        .find(|e| e.section == section.trim() && e.key == key)
}

/// Whether `section` exists in the entries.
pub fn has_section(entries: &[Entry], section: &str) -> bool {
    entries.iter().any(|e| e.section == section.trim())
}

/// A `key = "value"` line that [`parse`] reads back exactly (values holding `"` are single-quoted).
pub fn write(key: &str, value: &str) -> String {
    if value.contains('"') {
        format!("{key} = '{value}'")
    } else {
        format!("{key} = \"{value}\"")
    }
}

fn value_of(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(rest) = v.strip_prefix(q)
            && let Some(end) = rest.find(q)
        {
            return rest[..end].to_string();
        }
    }
    let cut = v.find(';').map_or(v, |i| &v[..i]).trim();
    // parse_ini_file's normal mode turns these bare words into "1" and "".
    match cut.to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" => "1".into(),
        "false" | "off" | "no" | "none" | "null" => String::new(),
        _ => cut.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_quotes_and_comments_as_php_does() {
        let src = "\u{feff}; route config\r\n[ DB ]\r\nhost = 127.0.0.1 ; local\r\n# note\r\n\
                   passwd = \"p;a#ss\"\r\nuser='live_user'\r\n[INC]\r\ndb = DB\r\n";
        let e = parse(src);
        assert_eq!(
            get(&e, "DB", "host").map(|x| x.value.as_str()),
            Some("127.0.0.1")
        );
        assert_eq!(
            get(&e, "DB", "passwd").map(|x| x.value.as_str()),
            Some("p;a#ss")
        );
        assert_eq!(get(&e, "DB", "user").map(|x| x.line), Some(6));
        assert!(has_section(&e, " DB ") && has_section(&e, "INC"));
        assert!(!has_section(&e, "CACHE"));
    }

    #[test]
    fn bare_boolean_words_read_as_php_reads_them() {
        let e = parse("[DB]\na = yes\nb = None ; really\nc = \"no\"\nd = On\n");
        let v = |k: &str| get(&e, "DB", k).map(|x| x.value.clone());
        assert_eq!(v("a").as_deref(), Some("1"));
        assert_eq!(v("b").as_deref(), Some(""));
        assert_eq!(v("c").as_deref(), Some("no"), "a quoted word is kept");
        assert_eq!(v("d").as_deref(), Some("1"));
    }

    #[test]
    fn what_it_writes_it_reads_back() {
        for v in ["plain", "a;b#c", "say \"hi\"", "中文", ""] {
            let e = parse(&format!("[S]\n{}\n", write("k", v)));
            assert_eq!(get(&e, "S", "k").map(|x| x.value.as_str()), Some(v), "{v}");
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        let deep = "[".repeat(10_000);
        for src in [
            "",
            "=",
            "[",
            "[]",
            "k=\"",
            "k='",
            "=v",
            deep.as_str(),
            "\u{feff}",
        ] {
            let _ = parse(src);
        }
    }
}
