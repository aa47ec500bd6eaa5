//! PHP `define('NAME', value);` files such as the backend's OutDefine.php, read as PHP reads them: single or
//! double quotes with their own escapes, `//`, `#` and `/* */` comments, a UTF-8 BOM, CRLF line ends. A define
//! inside a comment does not count.

/// A value a define gives its constant.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    /// A number, `true`/`false`/`null` or another constant's name, as written.
    Bare(String),
}

impl Value {
    /// The value as PHP would print it (`true` prints as 1, `false` and `null` as nothing).
    pub fn as_text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Bare(b) => match b.to_ascii_lowercase().as_str() {
                "true" => "1".into(),
                "false" | "null" => String::new(),
                _ => b.clone(),
            },
        }
    }
}

/// One `define` of the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Define {
    pub name: String,
    pub value: Value,
    /// 1-based line of the `define` keyword.
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
}

/// Every `define` of `src`, in order; text PHP would not run as a define (comments, broken calls) is skipped.
pub fn parse(src: &str) -> Vec<Define> {
    let toks = lex(src.strip_prefix('\u{feff}').unwrap_or(src));
    let global = top_level(&toks);
    let mut out = Vec::new();
    for (i, (tok, line)) in toks.iter().enumerate() {
        let Tok::Ident(kw) = tok else { continue };
        let found = if kw.eq_ignore_ascii_case("define") {
            define_at(&toks[i + 1..], *line)
        } else if kw.eq_ignore_ascii_case("const") && global[i] {
            const_at(&toks[i + 1..], *line)
        } else {
            None
        };
        out.extend(found);
    }
    out
}

/// The define of `name` that takes effect: the first one, as PHP ignores a redefinition (with a warning).
pub fn get<'a>(defines: &'a [Define], name: &str) -> Option<&'a Define> {
    defines.iter().find(|d| d.name == name)
}

/// A define line for `name` = `value`, quoted so that [`parse`] reads back exactly `value`.
pub fn write(name: &str, value: &str) -> String {
    let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
    format!("define('{name}', '{quoted}');")
}

/// A define line for `name` = the integer `value`, unquoted as PHP code keeps ids.
pub fn write_integer(name: &str, value: i64) -> String {
    format!("define('{name}', {value});")
}

/// For each token, whether it stands outside every `class`, `interface`, `trait` or `enum` body: a `const`
/// there declares a global constant, one inside a class constant.
fn top_level(toks: &[(Tok, usize)]) -> Vec<bool> {
    let mut depth_at_class: Vec<i64> = Vec::new();
    let mut depth = 0i64;
    let mut pending_class = false;
    let mut out = Vec::with_capacity(toks.len());
    for (t, _) in toks {
        out.push(depth_at_class.is_empty());
        match t {
            Tok::Ident(w)
                if ["class", "interface", "trait", "enum"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                pending_class = true
            }
            Tok::Punct('{') => {
                depth += 1;
                if std::mem::take(&mut pending_class) {
                    depth_at_class.push(depth);
                }
            }
            Tok::Punct('}') => {
                if depth_at_class.last() == Some(&depth) {
                    depth_at_class.pop();
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    out
}

/// `const NAME = value;` (PHP 5.3+), which defines the same global constant as `define`.
fn const_at(t: &[(Tok, usize)], line: usize) -> Option<Define> {
    let name = match (t.first()?, t.get(1)?) {
        ((Tok::Ident(n), _), (Tok::Punct('='), _)) => n.clone(),
        _ => return None,
    };
    let value = value_at(&t[2..])?;
    Some(Define { name, value, line })
}

fn value_at(t: &[(Tok, usize)]) -> Option<Value> {
    Some(match &t.first()?.0 {
        Tok::Str(s) => Value::Str(s.clone()),
        Tok::Ident(b) => Value::Bare(b.clone()),
        Tok::Punct('-') => match &t.get(1)?.0 {
            Tok::Ident(b) => Value::Bare(format!("-{b}")),
            _ => return None,
        },
        _ => return None,
    })
}

fn define_at(t: &[(Tok, usize)], line: usize) -> Option<Define> {
    let name = match (t.first()?, t.get(1)?) {
        ((Tok::Punct('('), _), (Tok::Str(n), _)) => n.clone(),
        _ => return None,
    };
    if t.get(2)?.0 != Tok::Punct(',') {
        return None;
    }
    let value = value_at(t.get(3..)?)?;
    Some(Define { name, value, line })
}

fn lex(src: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '#' || (c == '/' && next == Some('/')) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                if chars[i] == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 2;
        } else if c == '\'' || c == '"' {
            let start = line;
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\n' {
                    line += 1;
                }
                if chars[i] == '\\'
                    && let Some(&e) = chars.get(i + 1)
                {
                    let unescaped = match (c, e) {
                        (_, '\\') => Some('\\'),
                        ('\'', '\'') => Some('\''),
                        ('"', '"') => Some('"'),
                        ('"', 'n') => Some('\n'),
                        ('"', 't') => Some('\t'),
                        ('"', 'r') => Some('\r'),
                        ('"', '$') => Some('$'),
                        _ => None,
                    };
                    if let Some(u) = unescaped {
                        s.push(u);
                        i += 2;
                        continue;
                    }
                }
                s.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push((Tok::Str(s), start));
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            let mut s = String::new();
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                s.push(chars[i]);
                i += 1;
            }
            out.push((Tok::Ident(s), line));
        } else {
            out.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_defines_as_php_does() {
        let src = "\u{feff}<?php\r\n// define('X', 'commented');\r\n# define('Y', 1);\r\n/* define('Z', 2);\r\n*/\r\n\
                   define(\"APP_ID\", \"1252000001\");\r\ndefine ( 'PUSH_URL_KEY' , 'a\\'b' ) ;\r\n\
                   DEFINE('BIZID', 8888); define('FLAG', true);\r\n";
        let d = parse(src);
        let names: Vec<&str> = d.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["APP_ID", "PUSH_URL_KEY", "BIZID", "FLAG"]);
        assert_eq!(d[0].value, Value::Str("1252000001".into()));
        assert_eq!(d[0].line, 6);
        assert_eq!(d[1].value.as_text(), "a'b");
        assert_eq!(d[2].value.as_text(), "8888");
        assert_eq!(d[3].value.as_text(), "1");
    }

    #[test]
    fn a_global_const_defines_like_define_but_a_class_const_does_not() {
        let src = "<?php\nconst APP_ID = 1252033264;\nclass Conf { const APP_BIZID = 1; }\n\
                   const PUSH_URL_KEY = 'k';\n";
        let d = parse(src);
        let names: Vec<&str> = d.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["APP_ID", "PUSH_URL_KEY"]);
        assert_eq!(d[1].line, 4);
    }

    #[test]
    fn what_it_writes_it_reads_back() {
        for v in ["plain", "it's", "back\\slash", "中文", "", "a;b#c//d"] {
            let d = parse(&format!("<?php\n{}\n", write("K", v)));
            assert_eq!(d.len(), 1, "{v}");
            assert_eq!(d[0].value.as_text(), v);
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        let deep = "define(".repeat(10_000);
        for src in [
            "",
            "define",
            "define(",
            "define('A'",
            "define('A',",
            "'unterminated",
            "/* unterminated",
            "define('A', -",
            deep.as_str(),
        ] {
            let _ = parse(src);
        }
    }
}
