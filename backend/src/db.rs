//! MariaDB/MySQL access: a connection pool built from `[DB]` of the route file, every session in China time
//! (`+08:00`) and utf8mb4, so `FROM_UNIXTIME`/`UNIX_TIMESTAMP` and the stored timestamps agree and the flv
//! and hls callbacks of one recording overlap as they should.

use mysql_async::{Conn, OptsBuilder, Pool, PoolConstraints, PoolOpts};

use crate::config::DbConfig;

/// The table DDL of `live_data`, `tape_data` and `group_info`.
pub const SCHEMA: &str = include_str!("schema.sql");

/// The schema split into single statements (for drivers that run one statement per call).
pub fn schema_statements() -> Vec<String> {
    SCHEMA
        .split(';')
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Builds the pool; no connection is made until the first request needs one.
pub fn pool(db: &DbConfig) -> Pool {
    let constraints = PoolConstraints::new(0, 32).unwrap_or_default();
    let opts = OptsBuilder::default()
        .ip_or_hostname(db.host.clone())
        .tcp_port(db.port)
        .user(Some(db.user.clone()))
        .pass(Some(db.passwd.clone()))
        .db_name(Some(db.dbname.clone()))
        .prefer_socket(false)
        // `setup` runs after every connect and every reset, so the session settings always hold.
        .setup(vec![
            "SET NAMES 'utf8mb4'".to_string(),
            "SET time_zone = '+08:00'".to_string(),
        ])
        // No COM_RESET_CONNECTION when a connection goes back to the pool: the handlers leave no session
        // state behind, and a reset would drop the prepared-statement cache (a re-prepare per request).
        .pool_opts(
            PoolOpts::default()
                .with_constraints(constraints)
                .with_reset_connection(false),
        );
    Pool::new(opts)
}

/// Gets a connection, or the error text the original logs after `mysqli_connect failed, error:`:
/// the server's own message when the server answered, the network error otherwise.
pub async fn connect(pool: &Pool) -> Result<Conn, String> {
    pool.get_conn().await.map_err(|e| connect_error_text(&e))
}

/// The server's own message for a connect failure (not the driver's wrapper text).
pub fn connect_error_text(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => s.message.clone(),
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => {
            // PHP prints e.g. `Connection refused`, without Rust's ` (os error 111)` suffix.
            let text = io.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_string(),
                None => text,
            }
        }
        other => other.to_string(),
    }
}
