//! The shared state of a running backend: configuration, database pool, log directory, HTTP client.

use mysql_async::Conn;

use crate::config::Config;
use crate::log::{DB_CONNECT_SITE, Level, Log, LogContext, Logger};

pub struct App {
    pub config: Config,
    pub pool: mysql_async::Pool,
    pub log: Log,
    pub http: reqwest::Client,
}

impl App {
    pub fn new(config: Config) -> App {
        App {
            pool: crate::db::pool(&config.db),
            log: Log::new(&config.root),
            http: crate::webservice::client(&config),
            config,
        }
    }

    /// A database connection; on failure writes the original's `mysqli_connect failed, error:<server
    /// message>` line to the mysql_error log and gives `None` (the caller answers HTTP 500).
    pub async fn connect(&self, ctx: &LogContext) -> Option<Conn> {
        match crate::db::connect(&self.pool).await {
            Ok(c) => Some(c),
            Err(message) => {
                self.log.write(
                    ctx,
                    Logger::Mysql,
                    Level::Error,
                    DB_CONNECT_SITE,
                    0,
                    &format!("mysqli_connect failed, error:{message}"),
                );
                None
            }
        }
    }

    /// Unix time now.
    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}
