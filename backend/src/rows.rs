//! Turning MySQL cells into JSON without ever panicking on an unexpected type.

use mysql_async::{Row, Value as My};
use serde_json::Value;

/// A cell as JSON: NULL → null, text → string, numbers → numbers.
pub fn cell(row: &Row, i: usize) -> Value {
    match row.as_ref(i) {
        None | Some(My::NULL) => Value::Null,
        Some(My::Bytes(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Some(My::Int(v)) => Value::from(*v),
        Some(My::UInt(v)) => Value::from(*v),
        Some(My::Float(v)) => Value::from(f64::from(*v)),
        Some(My::Double(v)) => Value::from(*v),
        Some(other) => Value::String(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// A cell as text (`None` for NULL).
pub fn text(row: &Row, i: usize) -> Option<String> {
    match cell(row, i) {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// A cell as an integer; NULL or unparsable → 0, as PHP's `(int)` cast gives.
pub fn int(row: &Row, i: usize) -> i64 {
    match cell(row, i) {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or(0),
        Value::String(s) => s
            .split('.')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

/// A nullable string cell as JSON (string or null).
pub fn str_or_null(row: &Row, i: usize) -> Value {
    text(row, i).map(Value::String).unwrap_or(Value::Null)
}
