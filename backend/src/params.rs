//! The original's parameter checker: `string` values must be non-empty and are trimmed; `int` values may be
//! 0 but not missing, accept digit strings, and may carry a `[min,+)` range; optional objects may be absent.
//! Every failure becomes `1000 invalid param in json from client! | <checker message>`.

use serde_json::{Map, Value};

/// The request object of one call.
pub struct Params<'a> {
    body: &'a Map<String, Value>,
}

impl<'a> Params<'a> {
    pub fn new(body: &'a Map<String, Value>) -> Params<'a> {
        Params { body }
    }

    /// Required non-empty string; numbers are accepted and turned into their text, as PHP casts them.
    pub fn string(&self, key: &str) -> Result<String, String> {
        match self.opt_string(key) {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(format!("{key} is null or empty!")),
        }
    }

    /// Optional string: absent, null or non-scalar gives `None`.
    pub fn opt_string(&self, key: &str) -> Option<String> {
        match self.body.get(key)? {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(true) => Some("1".to_string()),
            _ => None,
        }
    }

    /// Required int; `min` is the lower bound of a `[min,+)` range.
    pub fn int(&self, key: &str, min: Option<i64>) -> Result<i64, String> {
        let v = match self.body.get(key) {
            None | Some(Value::Null) => return Err(format!("{key} is null or empty!")),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => i,
                None => return Err(format!("{key}:{n} is not int!")),
            },
            Some(Value::String(s)) => {
                let t = s.trim();
                if t.is_empty() {
                    return Err(format!("{key} is null or empty!"));
                }
                // Round-trip rule of the original: the integer's text must have the same length.
                match t.parse::<i64>() {
                    Ok(i) if i.to_string().len() == t.len() => i,
                    _ => return Err(format!("{key}:{t} is not int!")),
                }
            }
            Some(other) => return Err(format!("{key}:{other} is not int!")),
        };
        if let Some(min) = min
            && v < min
        {
            return Err(format!("{v} is not in range [{min},+)"));
        }
        Ok(v)
    }

    /// Optional object (nullable and emptyable); anything that is not an object counts as absent.
    pub fn opt_object(&self, key: &str) -> Option<&'a Map<String, Value>> {
        match self.body.get(key) {
            Some(Value::Object(m)) => Some(m),
            _ => None,
        }
    }
}

/// A string field of an optional `userinfo` object (absent or non-string → `None`, stored as NULL).
pub fn info_field(info: Option<&Map<String, Value>>, key: &str) -> Option<String> {
    match info?.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checker_rules() {
        let v = json!({"a": " x ", "e": "", "n": 0, "s": "12", "bad": "1x", "neg": -1, "f": 1.5, "lead": "012"});
        let p = Params::new(v.as_object().unwrap());
        assert_eq!(p.string("a").unwrap(), "x");
        assert_eq!(p.string("e").unwrap_err(), "e is null or empty!");
        assert_eq!(p.string("zz").unwrap_err(), "zz is null or empty!");
        assert_eq!(p.int("n", Some(0)).unwrap(), 0);
        assert_eq!(p.int("s", None).unwrap(), 12);
        assert_eq!(p.int("bad", None).unwrap_err(), "bad:1x is not int!");
        assert_eq!(p.int("lead", None).unwrap_err(), "lead:012 is not int!");
        assert_eq!(
            p.int("neg", Some(0)).unwrap_err(),
            "-1 is not in range [0,+)"
        );
        assert_eq!(p.int("f", None).unwrap_err(), "f:1.5 is not int!");
        assert_eq!(
            p.int("missing", None).unwrap_err(),
            "missing is null or empty!"
        );
    }
}
