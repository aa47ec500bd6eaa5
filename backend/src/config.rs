//! Configuration of a `live_demo_service/` directory: `conf/OutDefine.php` (PHP `define()` constants),
//! `conf/cdn.inc.ini` (selects the route file) and the route file itself (`[DB]`, `[LIVE_WEBSERVICE]`).
//!
//! The original silently turns a missing file or constant into an empty value; here every missing or
//! malformed setting stops startup with an error naming the file, the line and the constant, because a
//! silently empty key is exactly the kind of misconfiguration that is hard to find later.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration problem: which file, which line (1-based; the line after the last one when a setting
/// is missing altogether), which constant or key, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub constant: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.constant,
            self.message
        )
    }
}

impl std::error::Error for ConfigError {}

/// The V1 constants of `conf/OutDefine.php`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutDefine {
    /// LVB APPID, sent as `cmd=` to common_access.
    pub app_id: i64,
    /// LVB bizid, used in domains and stream ids.
    pub app_bizid: i64,
    /// Push hotlink protection key (txSecret).
    pub push_url_key: String,
    /// LVB API authentication key: checks callbacks and signs common_access calls.
    pub call_back_key: String,
    pub coskey_bucket: String,
    pub coskey_secrectkey: String,
    pub coskey_appid: i64,
    pub coskey_secrectid: String,
    /// Lifetime of the COS multi-use signature, seconds.
    pub coskey_expired_time: i64,
}

/// `[DB]` of the route file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub passwd: String,
    pub dbname: String,
}

/// `[LIVE_WEBSERVICE]` of the route file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebServiceConfig {
    /// One or more URLs joined by `#`; one is picked at random per call, as the original does.
    pub urls: Vec<String>,
    /// curl timeout in milliseconds.
    pub timeout_ms: u64,
}

/// Everything the backend reads from its root directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub root: PathBuf,
    pub out: OutDefine,
    pub db: DbConfig,
    pub webservice: WebServiceConfig,
}

impl Config {
    /// Reads `conf/OutDefine.php`, `conf/cdn.inc.ini` and the route file it selects.
    pub fn load(root: &Path) -> Result<Config, ConfigError> {
        let out_path = root.join("conf/OutDefine.php");
        let out_text = read(&out_path, "OutDefine.php")?;
        let out = parse_outdefine(&out_path, &out_text)?;

        let inc_path = root.join("conf/cdn.inc.ini");
        let inc_text = read(&inc_path, "cdn.inc.ini")?;
        let inc = parse_ini(&inc_path, &inc_text)?;
        let active = inc.require("COMMON", "INC")?;
        let route_rel = inc.require(&active.value, "ROUTE")?;
        let route_path = root.join(&route_rel.value);
        let route_text = read(&route_path, "ROUTE")?;
        let route = parse_ini(&route_path, &route_text)?;

        let db = DbConfig {
            host: route.require_nonempty("DB", "HOST")?.value,
            port: route.require_number("DB", "PORT")?,
            user: route.require_nonempty("DB", "USER")?.value,
            // An empty password is a legitimate MySQL setting, so it is not rejected.
            passwd: route.require("DB", "PASSWD")?.value,
            dbname: route.require_nonempty("DB", "DBNAME")?.value,
        };
        let url = route.require_nonempty("LIVE_WEBSERVICE", "URL")?;
        let urls: Vec<String> = url
            .value
            .split('#')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string)
            .collect();
        for u in &urls {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(route.error_at(
                    "LIVE_WEBSERVICE",
                    "URL",
                    url.line,
                    format!("`{u}` is not an http(s) URL"),
                ));
            }
        }
        let timeout_ms = route.require_number("LIVE_WEBSERVICE", "TIMEOUT")?;
        Ok(Config {
            root: root.to_path_buf(),
            out,
            db,
            webservice: WebServiceConfig { urls, timeout_ms },
        })
    }
}

fn read(path: &Path, what: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: 0,
        constant: what.to_string(),
        message: format!("cannot read file: {e}"),
    })
}

/// A value of a PHP `define()`.
#[derive(Debug, Clone, PartialEq)]
enum PhpValue {
    Int(i64),
    Str(String),
}

/// Parses `define('NAME', value);` statements. Values are int literals or single/double quoted strings;
/// `//`, `#` and `/* */` comments, `<?php` and `?>` are skipped.
pub fn parse_outdefine(path: &Path, text: &str) -> Result<OutDefine, ConfigError> {
    let mut defs: HashMap<String, (usize, PhpValue)> = HashMap::new();
    let mut in_block_comment = false;
    let mut last_line = 0;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        last_line = line_no;
        let mut line = raw.trim().to_string();
        if in_block_comment {
            match line.find("*/") {
                Some(end) => {
                    in_block_comment = false;
                    line = line[end + 2..].trim().to_string();
                }
                None => continue,
            }
        }
        if line.starts_with("/*") {
            match line.find("*/") {
                Some(end) => line = line[end + 2..].trim().to_string(),
                None => {
                    in_block_comment = true;
                    continue;
                }
            }
        }
        let line = line.trim_start_matches("<?php").trim();
        if line.is_empty()
            || line.starts_with("//")
            || line.starts_with('#')
            || line.starts_with('*')
            || line == "?>"
        {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        if !lower.starts_with("define") {
            return Err(ConfigError {
                file: path.to_path_buf(),
                line: line_no,
                constant: String::new(),
                message: format!("expected `define('NAME', value);`, found `{line}`"),
            });
        }
        let (name, value) = parse_define(line).map_err(|(constant, message)| ConfigError {
            file: path.to_path_buf(),
            line: line_no,
            constant,
            message,
        })?;
        defs.insert(name, (line_no, value));
    }
    let end_line = last_line + 1;
    let get = |name: &str| -> Result<(usize, PhpValue), ConfigError> {
        defs.get(name).cloned().ok_or_else(|| ConfigError {
            file: path.to_path_buf(),
            line: end_line,
            constant: name.to_string(),
            message: "is not defined".to_string(),
        })
    };
    let int = |name: &str| -> Result<i64, ConfigError> {
        let (line, value) = get(name)?;
        match value {
            PhpValue::Int(v) => Ok(v),
            // PHP would coerce a quoted number; a quoted non-number would silently become 0.
            PhpValue::Str(s) => s.trim().parse::<i64>().map_err(|_| ConfigError {
                file: path.to_path_buf(),
                line,
                constant: name.to_string(),
                message: format!("expected an integer, found '{s}'"),
            }),
        }
    };
    let string = |name: &str| -> Result<String, ConfigError> {
        let (line, value) = get(name)?;
        let s = match value {
            PhpValue::Int(v) => v.to_string(),
            PhpValue::Str(s) => s,
        };
        if s.is_empty() {
            return Err(ConfigError {
                file: path.to_path_buf(),
                line,
                constant: name.to_string(),
                message: "is empty".to_string(),
            });
        }
        Ok(s)
    };
    Ok(OutDefine {
        app_id: int("APP_ID")?,
        app_bizid: int("APP_BIZID")?,
        push_url_key: string("PUSH_URL_KEY")?,
        call_back_key: string("CALL_BACK_KEY")?,
        coskey_bucket: string("COSKEY_BUCKET")?,
        coskey_secrectkey: string("COSKEY_SECRECTKEY")?,
        coskey_appid: int("COSKEY_APPID")?,
        coskey_secrectid: string("COSKEY_SECRECTID")?,
        coskey_expired_time: int("COSKEY_EXPIRED_TIME")?,
    })
}

/// Parses one `define('NAME', value);` statement; the error carries the constant name (if known).
fn parse_define(line: &str) -> Result<(String, PhpValue), (String, String)> {
    let rest = line[6..].trim_start();
    let rest = rest
        .strip_prefix('(')
        .ok_or_else(|| (String::new(), "expected `(` after define".to_string()))?;
    let (name, rest) = parse_quoted(rest.trim_start()).ok_or_else(|| {
        (
            String::new(),
            "constant name must be a quoted string".to_string(),
        )
    })?;
    let rest = rest
        .trim_start()
        .strip_prefix(',')
        .ok_or_else(|| {
            (
                name.clone(),
                "expected `,` after the constant name".to_string(),
            )
        })?
        .trim_start();
    let (value, rest) = if rest.starts_with('\'') || rest.starts_with('"') {
        let (s, rest) =
            parse_quoted(rest).ok_or_else(|| (name.clone(), "unterminated string".to_string()))?;
        (PhpValue::Str(s), rest)
    } else {
        let end = rest
            .find(|c: char| c == ')' || c.is_whitespace())
            .unwrap_or(rest.len());
        let literal = &rest[..end];
        let v = literal.parse::<i64>().map_err(|_| {
            (
                name.clone(),
                format!("value `{literal}` is neither an integer nor a quoted string"),
            )
        })?;
        (PhpValue::Int(v), &rest[end..])
    };
    let rest = rest
        .trim_start()
        .strip_prefix(')')
        .ok_or_else(|| (name.clone(), "expected `)` after the value".to_string()))?
        .trim_start();
    let rest = rest
        .strip_prefix(';')
        .ok_or_else(|| (name.clone(), "expected `;` after `)`".to_string()))?
        .trim();
    if !(rest.is_empty() || rest.starts_with("//") || rest.starts_with('#')) {
        return Err((name, format!("unexpected text after `;`: `{rest}`")));
    }
    Ok((name, value))
}

/// Reads a PHP single- or double-quoted string at the start of `s`; returns it and the rest.
fn parse_quoted(s: &str) -> Option<(String, &str)> {
    let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let mut out = String::new();
    let mut chars = s[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            let (_, next) = chars.next()?;
            if next == quote || next == '\\' {
                out.push(next);
            } else {
                out.push('\\');
                out.push(next);
            }
        } else if c == quote {
            return Some((out, &s[1 + i + 1..]));
        } else {
            out.push(c);
        }
    }
    None
}

/// One `KEY=value` of an ini file with its line.
#[derive(Debug, Clone)]
pub struct IniValue {
    pub value: String,
    pub line: usize,
}

/// A parsed ini file (PHP `parse_ini_file` with sections).
#[derive(Debug, Clone)]
pub struct Ini {
    path: PathBuf,
    lines: usize,
    sections: HashMap<String, HashMap<String, IniValue>>,
}

impl Ini {
    fn error_at(&self, section: &str, key: &str, line: usize, message: String) -> ConfigError {
        ConfigError {
            file: self.path.clone(),
            line,
            constant: format!("[{section}] {key}"),
            message,
        }
    }

    fn require(&self, section: &str, key: &str) -> Result<IniValue, ConfigError> {
        self.sections
            .get(section)
            .and_then(|s| s.get(key))
            .cloned()
            .ok_or_else(|| self.error_at(section, key, self.lines + 1, "is not set".to_string()))
    }

    fn require_nonempty(&self, section: &str, key: &str) -> Result<IniValue, ConfigError> {
        let v = self.require(section, key)?;
        if v.value.is_empty() {
            return Err(self.error_at(section, key, v.line, "is empty".to_string()));
        }
        Ok(v)
    }

    fn require_number<T: std::str::FromStr>(
        &self,
        section: &str,
        key: &str,
    ) -> Result<T, ConfigError> {
        let v = self.require_nonempty(section, key)?;
        v.value.parse::<T>().map_err(|_| {
            self.error_at(
                section,
                key,
                v.line,
                format!("expected a number, found `{}`", v.value),
            )
        })
    }
}

/// Parses an ini file: `[SECTION]` headers, `KEY=value`, `;` comments (also after a value unless the
/// value is quoted) and whole-line `#` comments. `//` is not a comment marker here because URLs contain it.
pub fn parse_ini(path: &Path, text: &str) -> Result<Ini, ConfigError> {
    let mut sections: HashMap<String, HashMap<String, IniValue>> = HashMap::new();
    let mut current = String::new();
    let mut count = 0;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        count = line_no;
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[') {
            let name = inner.split(']').next().unwrap_or("").trim();
            current = name.to_string();
            sections.entry(current.clone()).or_default();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(ConfigError {
                file: path.to_path_buf(),
                line: line_no,
                constant: format!("[{current}] {line}"),
                message: "expected `KEY=value`".to_string(),
            });
        };
        let key = key.trim().to_string();
        let value = value.trim();
        let value = if let Some((s, _)) = value
            .starts_with('"')
            .then(|| parse_quoted(value))
            .flatten()
        {
            s
        } else {
            value.split(';').next().unwrap_or("").trim().to_string()
        };
        sections.entry(current.clone()).or_default().insert(
            key,
            IniValue {
                value,
                line: line_no,
            },
        );
    }
    Ok(Ini {
        path: path.to_path_buf(),
        lines: count,
        sections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = "<?php\n// keys\ndefine('APP_ID', 1252033264);\ndefine('APP_BIZID', 8888);\n\
        define('PUSH_URL_KEY', '5d41402abc4b2a76b9719d911017c592');\ndefine(\"CALL_BACK_KEY\", \"k'1\");\n\
        /* cos\n keys */\ndefine('COSKEY_BUCKET', 'minilvb'); // bucket\ndefine('COSKEY_SECRECTKEY', 'sk');\n\
        define('COSKEY_APPID', '1252000001');\ndefine('COSKEY_SECRECTID', 'AKID');\ndefine('COSKEY_EXPIRED_TIME', 30);\n?>\n";

    #[test]
    fn outdefine_reads_ints_strings_and_comments() {
        let out = parse_outdefine(Path::new("OutDefine.php"), OUT).unwrap();
        assert_eq!(out.app_id, 1252033264);
        assert_eq!(out.app_bizid, 8888);
        assert_eq!(out.call_back_key, "k'1");
        assert_eq!(out.coskey_bucket, "minilvb");
        assert_eq!(out.coskey_appid, 1252000001);
        assert_eq!(out.coskey_expired_time, 30);
    }

    #[test]
    fn outdefine_bad_int_names_line_and_constant() {
        let text = OUT.replace("define('APP_BIZID', 8888);", "define('APP_BIZID', 88x8);");
        let err = parse_outdefine(Path::new("OutDefine.php"), &text).unwrap_err();
        assert_eq!(err.line, 4);
        assert_eq!(err.constant, "APP_BIZID");
        assert!(err.to_string().starts_with("OutDefine.php:4: APP_BIZID: "));
    }

    #[test]
    fn outdefine_missing_constant_and_missing_semicolon() {
        let text = OUT.replace("define('COSKEY_SECRECTID', 'AKID');\n", "");
        let err = parse_outdefine(Path::new("o"), &text).unwrap_err();
        assert_eq!(err.constant, "COSKEY_SECRECTID");
        assert_eq!(err.message, "is not defined");
        let text = OUT.replace(
            "define('APP_ID', 1252033264);",
            "define('APP_ID', 1252033264)",
        );
        let err = parse_outdefine(Path::new("o"), &text).unwrap_err();
        assert_eq!((err.line, err.constant.as_str()), (3, "APP_ID"));
        let text = OUT.replace(
            "define('COSKEY_APPID', '1252000001');",
            "define('COSKEY_APPID', 'abc');",
        );
        let err = parse_outdefine(Path::new("o"), &text).unwrap_err();
        assert_eq!((err.line, err.constant.as_str()), (11, "COSKEY_APPID"));
    }

    #[test]
    fn ini_sections_comments_and_urls() {
        let ini = parse_ini(
            Path::new("r.ini"),
            "[DB]\nHOST=127.0.0.1 ; local\nPASSWD=\"a;b\"\n[LIVE_WEBSERVICE]\nURL=http://x/common_access\n",
        )
        .unwrap();
        assert_eq!(ini.require("DB", "HOST").unwrap().value, "127.0.0.1");
        assert_eq!(ini.require("DB", "PASSWD").unwrap().value, "a;b");
        assert_eq!(
            ini.require("LIVE_WEBSERVICE", "URL").unwrap().value,
            "http://x/common_access"
        );
        let err = ini.require_number::<u16>("DB", "PORT").unwrap_err();
        assert_eq!(err.constant, "[DB] PORT");
        assert_eq!(err.line, 6);
    }
}
