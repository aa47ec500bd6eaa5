//! Constant definitions in the app's source files, read as the compilers read them: Objective-C headers
//! (`TCConstants.h`: `#define NAME @"v"`, `static NSString * const NAME = @"v";`) and Java classes
//! (`TCConstants.java`: `public static final String NAME = "v";`).
//!
//! Comments of both kinds are skipped outside string literals, a Java declaration may span lines, and a value
//! may be a simple expression as customers write them: adjacent C literals (`kHost @"/interface.php"`), Java
//! `+` concatenation, a reference to a constant defined earlier in the file, `String.valueOf(...)`, parentheses,
//! `@(...)` boxing, an `L` suffix, and the Android COS SDK's region enum (`COSEndPoint.COS_SH` is region `sh`).
//! A value that is not such an expression (a method call, an unknown name) is left out rather than guessed.

/// One constant definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub name: String,
    pub value: String,
    /// 1-based line of the name.
    pub line: usize,
}

/// Upper bound on tokens in one value: a definition longer than this is not a constant a customer edits.
const MAX_EXPR_TOKENS: usize = 64;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A name, possibly dotted (`COSEndPoint.COS_SH`, `String.valueOf`).
    Word(String),
    /// A string literal's contents (`"x"` or `@"x"`).
    Str(String),
    Punct(char),
    /// `#define` (only at the start of a line).
    Define,
    /// The end of a line, which ends a `#define` unless escaped with `\`.
    Newline,
}

/// Every definition of `src`, in order (a later definition of the same name is kept too: callers decide).
pub fn parse(src: &str) -> Vec<Definition> {
    let toks = lex(src.strip_prefix('\u{feff}').unwrap_or(src));
    let mut out: Vec<Definition> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i].0 {
            Tok::Define => {
                let end = toks[i..]
                    .iter()
                    .position(|(t, _)| *t == Tok::Newline)
                    .map_or(toks.len(), |p| i + p);
                if let Some((Tok::Word(name), line)) = toks.get(i + 1)
                    && let Some(value) = evaluate(&toks[i + 2..end], &out)
                {
                    out.push(Definition {
                        name: name.clone(),
                        value,
                        line: *line,
                    });
                }
                i = end;
            }
            Tok::Newline => i += 1,
            _ => {
                // A statement up to `;` (or a brace, which ends a class header or a method body's start).
                let end = toks[i..]
                    .iter()
                    .position(|(t, _)| matches!(t, Tok::Punct(';' | '{' | '}')))
                    .map_or(toks.len(), |p| i + p);
                if let Some(d) = declaration(&toks[i..end], &out) {
                    out.push(d);
                }
                i = end + 1;
            }
        }
    }
    out
}

/// `... NAME = expr` (Java field, Objective-C `static NSString * const NAME = @"v"`).
fn declaration(stmt: &[(Tok, usize)], known: &[Definition]) -> Option<Definition> {
    let eq = stmt.iter().position(|(t, _)| *t == Tok::Punct('='))?;
    let (Tok::Word(name), line) = &stmt[..eq].iter().rev().find(|(t, _)| *t != Tok::Newline)?
    else {
        return None;
    };
    if name.contains('.') || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let value = evaluate(&stmt[eq + 1..], known)?;
    Some(Definition {
        name: name.clone(),
        value,
        line: *line,
    })
}

/// The value of a simple expression: literals and known names joined by `+` or adjacency.
fn evaluate(expr: &[(Tok, usize)], known: &[Definition]) -> Option<String> {
    let mut toks: Vec<&Tok> = expr
        .iter()
        .map(|(t, _)| t)
        .filter(|t| **t != Tok::Newline && **t != Tok::Punct('\\'))
        .collect();
    // `#define NAME @"v";` carries the statement's `;` along; the value is the same.
    while toks.last() == Some(&&Tok::Punct(';')) {
        toks.pop();
    }
    if toks.is_empty() || toks.len() > MAX_EXPR_TOKENS {
        return None;
    }
    let mut out = String::new();
    let mut i = 0;
    while i < toks.len() {
        match toks[i] {
            Tok::Str(s) => out.push_str(s),
            // Grouping, `@(...)` boxing and `String.valueOf(...)` keep their argument's text.
            Tok::Punct('(' | ')' | '+' | '@') => {}
            Tok::Word(w) if w == "String.valueOf" || w == "Integer.toString" => {}
            Tok::Word(w) => out.push_str(&word_value(w, known)?),
            _ => return None,
        }
        i += 1;
    }
    Some(out)
}

fn word_value(w: &str, known: &[Definition]) -> Option<String> {
    if let Some(region) = w.strip_prefix("COSEndPoint.COS_") {
        return Some(region.to_ascii_lowercase());
    }
    if w.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return Some(w.trim_end_matches(['L', 'l']).to_string());
    }
    // The last definition before this one is the one the compiler sees.
    known
        .iter()
        .rev()
        .find(|d| d.name == w)
        .map(|d| d.value.clone())
}

fn lex(src: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut at_line_start = true;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            out.push((Tok::Newline, line));
            line += 1;
            at_line_start = true;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let starts_line = std::mem::replace(&mut at_line_start, false);
        if c == '\\' && next == Some('\n') {
            // A continued `#define`: the newline does not end it.
            i += 2;
            line += 1;
        } else if c == '\\' && next == Some('\r') && chars.get(i + 2) == Some(&'\n') {
            i += 3;
            line += 1;
        } else if c == '/' && next == Some('/') {
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
        } else if c == '#' && starts_line {
            let mut j = i + 1;
            while j < chars.len() && (chars[j] == ' ' || chars[j] == '\t') {
                j += 1;
            }
            let word: String = chars[j..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            if word == "define" {
                out.push((Tok::Define, line));
                i = j + word.len();
            } else {
                // Other directives (`#import`, `#ifndef`) define nothing here.
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
        } else if c == '"' || (c == '@' && next == Some('"')) {
            let start = line;
            i += if c == '@' { 2 } else { 1 };
            let mut s = String::new();
            while i < chars.len() && chars[i] != '"' && chars[i] != '\n' {
                if chars[i] == '\\'
                    && let Some(&e) = chars.get(i + 1)
                {
                    s.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                    i += 2;
                    continue;
                }
                s.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push((Tok::Str(s), start));
        } else if c.is_alphanumeric()
            || c == '_'
            || c == '-' && next.is_some_and(|n| n.is_ascii_digit())
        {
            let mut s = String::from(c);
            i += 1;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                s.push(chars[i]);
                i += 1;
            }
            out.push((Tok::Word(s), line));
        } else {
            out.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    out
}

/// A `#define NAME @"value"` line that [`parse`] reads back exactly.
pub fn write_objc(name: &str, value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("#define {name:<22}@\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(src: &str) -> Vec<(String, String)> {
        parse(src).into_iter().map(|d| (d.name, d.value)).collect()
    }

    #[test]
    fn reads_objective_c_headers() {
        let src = "#ifndef A_h\n#define A_h\n/* #define kOld @\"x\" */\n//#define kB @\"old\"\n\
                   #define kB   @\"new\" // note\nstatic NSString * const kC = @\"c\";\n\
                   static const int kD = 14;\n#define kHost @\"http://h\"\n#define kUrl kHost @\"/i.php\"\n\
                   #define kN (1252)\n#define kBoxed @(7)\n#define kSemi @\"s\";\n";
        assert_eq!(
            values(src),
            [
                ("kB", "new"),
                ("kC", "c"),
                ("kD", "14"),
                ("kHost", "http://h"),
                ("kUrl", "http://h/i.php"),
                ("kN", "1252"),
                ("kBoxed", "7"),
                ("kSemi", "s"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(parse(src)[0].line, 5);
    }

    #[test]
    fn reads_java_classes() {
        let src = "package a;\nimport com.tencent.cos.common.COSEndPoint;\npublic class T {\n\
                   private static final String HOST = \"http://h\";\n\
                   public static final String URL =\n        HOST + \"/i.php\";\n\
                   public final static long ID = 14L;\n\
                   public static final COSEndPoint R = COSEndPoint.COS_TJ;\n\
                   public static final String S = String.valueOf(125);\n\
                   public static final String J = \"12\" + \"5\"; /* c */\n\
                   private T() {}\n}\n";
        let v = values(src);
        assert!(
            v.contains(&("URL".into(), "http://h/i.php".into())),
            "{v:?}"
        );
        assert!(v.contains(&("ID".into(), "14".into())));
        assert!(v.contains(&("R".into(), "tj".into())));
        assert!(v.contains(&("S".into(), "125".into())));
        assert!(v.contains(&("J".into(), "125".into())));
        let url = parse(src).into_iter().find(|d| d.name == "URL");
        assert_eq!(url.map(|d| d.line), Some(5));
    }

    #[test]
    fn what_it_writes_it_reads_back() {
        for v in [
            "plain",
            "say \"hi\"",
            "back\\slash",
            "中文",
            "",
            "a // b",
            "/* c */",
        ] {
            let d = parse(&format!("{}\n", write_objc("k", v)));
            assert_eq!(d.len(), 1, "{v}");
            assert_eq!(d[0].value, v);
        }
    }

    #[test]
    fn an_expression_it_cannot_evaluate_is_left_out() {
        assert!(values("static final String U = getUrl();\n#define K kUnknown\n").is_empty());
        let deep = format!(
            "#define K {}\"x\"{}\n",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert!(values(&deep).is_empty());
        for src in [
            "#define",
            "#define K",
            "\"unterminated",
            "/* open",
            "a = ",
            "= 1;",
            "@",
        ] {
            let _ = parse(src);
        }
    }
}
