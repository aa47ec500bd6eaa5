//! Scenario databases on a shared MariaDB server: creation (database, user, grants, schema), fact queries,
//! and removal.
//!
//! Isolation: each scenario gets its own database; a server is shared only by scenarios that agree on the
//! password of every account they use (accounts are server-wide), otherwise the runtime starts another server.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Row, Value, consts::ColumnType};

use super::RuntimeError;

/// How to reach one MariaDB server as its administrator (root, over TCP on loopback).
#[derive(Clone, Debug)]
pub struct ServerAddr {
    pub host: String,
    pub port: u16,
    pub root_password: String,
}

impl ServerAddr {
    pub fn opts(&self, db: Option<&str>) -> Opts {
        self.opts_as("root", &self.root_password, db)
    }

    fn opts_as(&self, user: &str, password: &str, db: Option<&str>) -> Opts {
        OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .user(Some(user))
            .pass(Some(password))
            .db_name(db.map(str::to_string))
            .prefer_socket(false)
            .into()
    }

    /// A connection as root, for what only the administrator does: databases and accounts.
    pub async fn connect(&self, db: Option<&str>) -> Result<Conn, RuntimeError> {
        self.connect_with(self.opts(db), "root").await
    }

    /// A connection as a scenario's own account: what a scenario's SQL runs as (its schema, its fact
    /// queries), so a scenario file cannot read the server's files (`LOAD_FILE`) or other databases.
    pub async fn connect_as(
        &self,
        user: &str,
        password: &str,
        db: &str,
    ) -> Result<Conn, RuntimeError> {
        self.connect_with(self.opts_as(user, password, Some(db)), user)
            .await
    }

    async fn connect_with(&self, opts: Opts, user: &str) -> Result<Conn, RuntimeError> {
        self.bounded(Conn::new(opts))
            .await?
            .map_err(|e| RuntimeError::Db {
                what: format!(
                    "connect to MariaDB at {}:{} as {user}",
                    self.host, self.port
                ),
                message: e.to_string(),
            })
    }

    /// Runs one exchange with this server under [`DB_TIMEOUT`]. A stopped server still completes the TCP
    /// handshake (the kernel does that) and then never answers, so without a bound a caller waits forever.
    pub async fn bounded<T>(&self, exchange: impl Future<Output = T>) -> Result<T, RuntimeError> {
        tokio::time::timeout(DB_TIMEOUT, exchange)
            .await
            .map_err(|_| RuntimeError::DbTimeout {
                host: self.host.clone(),
                port: self.port,
                secs: DB_TIMEOUT.as_secs(),
            })
    }
}

/// The longest one connect or one statement may take before the server counts as hung.
pub const DB_TIMEOUT: Duration = Duration::from_secs(10);

/// The bookkeeping of one shared server: which database names are in use, which account has which password.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct ServerLedger {
    databases: std::collections::BTreeSet<String>,
    accounts: BTreeMap<String, String>,
}

impl ServerLedger {
    /// Whether a scenario with this account can live on this server.
    pub fn accepts(&self, user: &str, password: &str) -> bool {
        self.accounts.get(user).is_none_or(|p| p == password)
    }

    /// Claims a database name: the requested one when free, else `{name}_{n}` (n = 2, 3, ...).
    pub fn claim(&mut self, wanted: &str, user: &str, password: &str) -> String {
        let mut name = wanted.to_string();
        let mut n = 2;
        while self.databases.contains(&name) {
            name = format!("{wanted}_{n}");
            n += 1;
        }
        self.databases.insert(name.clone());
        self.accounts.insert(user.to_string(), password.to_string());
        name
    }

    pub fn release(&mut self, name: &str) {
        self.databases.remove(name);
    }
}

fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn quote_str(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// Creates the database, the account for `'user'@'localhost'` and `'user'@'%'` (the backend logs in over
/// TCP from 127.0.0.1 and the server skips name resolution, so only `'%'` matches), and applies the schema as
/// that account: a schema (a scenario's `schema_after` included) gets the database's rights, not root's.
pub async fn create_database(
    server: &ServerAddr,
    name: &str,
    user: &str,
    password: &str,
    schema_sql: &str,
) -> Result<(), RuntimeError> {
    let mut conn = server.connect(None).await?;
    let db = quote_ident(name);
    let mut admin = vec![
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db} DEFAULT CHARACTER SET utf8mb4"),
    ];
    for host in ["localhost", "%"] {
        let account = format!("{}@{}", quote_str(user), quote_str(host));
        admin.push(format!(
            "CREATE USER IF NOT EXISTS {account} IDENTIFIED BY {}",
            quote_str(password)
        ));
        admin.push(format!("GRANT ALL ON {db}.* TO {account}"));
    }
    for statement in admin {
        server
            .bounded(conn.query_drop(&statement))
            .await?
            .map_err(|e| RuntimeError::Db {
                what: statement.clone(),
                message: e.to_string(),
            })?;
    }
    let _ = server.bounded(conn.disconnect()).await;
    if !schema_sql.trim().is_empty() {
        let mut conn = server.connect_as(user, password, name).await?;
        server
            .bounded(conn.query_drop(schema_sql))
            .await?
            .map_err(|e| RuntimeError::Schema {
                database: name.to_string(),
                message: e.to_string(),
            })?;
        let _ = server.bounded(conn.disconnect()).await;
    }
    Ok(())
}

pub async fn drop_database(server: &ServerAddr, name: &str) -> Result<(), RuntimeError> {
    let mut conn = server.connect(None).await?;
    let statement = format!("DROP DATABASE IF EXISTS {}", quote_ident(name));
    server
        .bounded(conn.query_drop(&statement))
        .await?
        .map_err(|e| RuntimeError::Db {
            what: statement,
            message: e.to_string(),
        })?;
    let _ = server.bounded(conn.disconnect()).await;
    Ok(())
}

/// Runs `sql` in database `name` as `user` and returns every row as column → JSON value.
pub async fn query_rows(
    server: &ServerAddr,
    (name, user, password): (&str, &str, &str),
    sql: &str,
) -> Result<Vec<BTreeMap<String, serde_json::Value>>, RuntimeError> {
    let mut conn = server.connect_as(user, password, name).await?;
    let rows: Vec<Row> = server
        .bounded(conn.query(sql))
        .await?
        .map_err(|e| RuntimeError::Db {
            what: sql.to_string(),
            message: e.to_string(),
        })?;
    let _ = server.bounded(conn.disconnect()).await;
    Ok(rows.into_iter().map(row_to_json).collect())
}

fn row_to_json(row: Row) -> BTreeMap<String, serde_json::Value> {
    let columns = row.columns();
    let values = row.unwrap_raw();
    columns
        .iter()
        .zip(values)
        .map(|(column, value)| {
            let json = value_to_json(value.unwrap_or(Value::NULL), column.column_type());
            (column.name_str().into_owned(), json)
        })
        .collect()
}

/// The text protocol returns every value as bytes; the column type says whether it is a number.
fn value_to_json(value: Value, kind: ColumnType) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::NULL => J::Null,
        Value::Int(i) => J::from(i),
        Value::UInt(u) => J::from(u),
        Value::Float(f) => J::from(f64::from(f)),
        Value::Double(f) => J::from(f),
        Value::Bytes(bytes) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let integer = matches!(
                kind,
                ColumnType::MYSQL_TYPE_TINY
                    | ColumnType::MYSQL_TYPE_SHORT
                    | ColumnType::MYSQL_TYPE_INT24
                    | ColumnType::MYSQL_TYPE_LONG
                    | ColumnType::MYSQL_TYPE_LONGLONG
                    | ColumnType::MYSQL_TYPE_YEAR
            );
            let real = matches!(
                kind,
                ColumnType::MYSQL_TYPE_FLOAT | ColumnType::MYSQL_TYPE_DOUBLE
            );
            if integer {
                if let Ok(i) = text.parse::<i64>() {
                    return J::from(i);
                }
                if let Ok(u) = text.parse::<u64>() {
                    return J::from(u);
                }
            }
            if real && let Ok(f) = text.parse::<f64>() {
                return J::from(f);
            }
            J::String(text)
        }
        other => J::String(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// Process-wide bookkeeping guard, for a ledger shared between scenario handles.
pub type SharedLedger = std::sync::Arc<Mutex<ServerLedger>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_name_gets_a_suffix_and_is_reused_after_release() {
        let mut ledger = ServerLedger::default();
        assert_eq!(ledger.claim("live_demo", "live_user", "p"), "live_demo");
        assert_eq!(ledger.claim("live_demo", "live_user", "p"), "live_demo_2");
        ledger.release("live_demo");
        assert_eq!(ledger.claim("live_demo", "live_user", "p"), "live_demo");
    }

    #[test]
    fn an_account_with_another_password_needs_another_server() {
        let mut ledger = ServerLedger::default();
        ledger.claim("a", "live_user", "live_pwd");
        assert!(ledger.accepts("live_user", "live_pwd"));
        assert!(!ledger.accepts("live_user", "other"));
        assert!(ledger.accepts("someone_else", "other"));
    }

    #[test]
    fn identifiers_and_strings_are_quoted() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_str("it's\\"), "'it''s\\\\'");
    }
}
