//! The original's file logger (MiniLog): `<root>/log/<logger>_<level><YYYYMMDD>.log`, each non-DEBUG line
//! copied to `<logger>_debug<YYYYMMDD>.log`, written only when `<root>/log/` exists (the directory is never
//! created). `log/NO_DEBUG` stops the debug copies, `log/NO_<LEVEL>` switches a level off.
//!
//! Line shape: `[<YYYY-MM-DD HH:MM:SS>][<pid>:<eventId>:<timestamp>][]<keyinfo>[[<file>][<function>][<line>][<LEVEL>][<code>] <message>]`,
//! dates in China time (UTC+8) like the original's `PRC` zone.

use std::io::Write as _;
use std::path::PathBuf;

use chrono::{FixedOffset, Utc};

/// The three loggers of the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logger {
    Interface,
    Component,
    Mysql,
}

impl Logger {
    fn name(self) -> &'static str {
        match self {
            Logger::Interface => "interface",
            Logger::Component => "component",
            Logger::Mysql => "mysql",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Error,
    Stat,
}

impl Level {
    fn upper(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Error => "ERROR",
            Level::Stat => "STAT",
        }
    }
    fn lower(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Error => "error",
            Level::Stat => "stat",
        }
    }
}

/// Where a line comes from, as the original prints it: PHP source file, function and line.
#[derive(Debug, Clone, Copy)]
pub struct Site {
    pub file: &'static str,
    pub function: &'static str,
    pub line: u32,
}

/// The site of the database connect failure line, exactly as the original V1 prints it.
pub const DB_CONNECT_SITE: Site = Site {
    file: "simple_mysql_session.class.php",
    function: "__construct",
    line: 27,
};

/// Longest part of a request body copied into a log line. The app's requests are a few hundred bytes
/// and logged whole; a 1 MiB body (the listener's limit) would otherwise put 2 MiB on disk (the line
/// and its debug copy) for each unauthenticated request.
pub const MAX_LOGGED_BODY: usize = 4096;

/// `raw` as text for a log line: whole up to [`MAX_LOGGED_BODY`] bytes, else that much and the count of
/// bytes left out.
pub fn body_excerpt(raw: &[u8]) -> String {
    if raw.len() <= MAX_LOGGED_BODY {
        return String::from_utf8_lossy(raw).into_owned();
    }
    format!(
        "{}...({} more bytes)",
        String::from_utf8_lossy(&raw[..MAX_LOGGED_BODY]),
        raw.len() - MAX_LOGGED_BODY
    )
}

/// China time, the zone of every date the backend writes (file names, log lines, database session).
pub fn china() -> FixedOffset {
    // 8 hours is always a valid offset.
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

use chrono::Offset as _;

/// Per-process log directory handle.
#[derive(Debug, Clone)]
pub struct Log {
    dir: PathBuf,
    pid: u32,
    start: i64,
}

/// The per-request part of a line: event id, timestamp and key info (`[appid:]` inside interfaces).
#[derive(Debug, Clone)]
pub struct LogContext {
    pub event_id: String,
    pub timestamp: String,
    pub keyinfo: String,
}

impl Log {
    pub fn new(root: &std::path::Path) -> Log {
        Log {
            dir: root.join("log"),
            pid: std::process::id(),
            start: Utc::now().timestamp(),
        }
    }

    /// A fresh context: random event id, process start time, no key info.
    pub fn context(&self) -> LogContext {
        LogContext {
            event_id: rand::random::<u32>().to_string(),
            timestamp: self.start.to_string(),
            keyinfo: String::new(),
        }
    }

    /// Whether logging is on at all (the `log/` directory exists).
    pub fn enabled(&self) -> bool {
        self.dir.is_dir()
    }

    /// Writes one line; IO errors are ignored like the original's warnings.
    pub fn write(
        &self,
        ctx: &LogContext,
        logger: Logger,
        level: Level,
        site: Site,
        code: i64,
        message: &str,
    ) {
        if !self.enabled() || self.dir.join(format!("NO_{}", level.upper())).exists() {
            return;
        }
        let now = Utc::now().with_timezone(&china());
        // A non-zero code prefixes the message with its table text, as MiniLog does.
        let message = if code != 0 {
            format!(
                "{} | {message}",
                crate::envelope::code_text(code).unwrap_or("")
            )
        } else {
            message.to_string()
        };
        // Keep one line per call even when the message carries newlines (a raw request body).
        let message = message.replace(['\n', '\r'], " ");
        let line = format!(
            "[{}][{}:{}:{}][]{}[[{}][{}][{}][{}][{}] {}]\n",
            now.format("%Y-%m-%d %H:%M:%S"),
            self.pid,
            ctx.event_id,
            ctx.timestamp,
            ctx.keyinfo,
            site.file,
            site.function,
            site.line,
            level.upper(),
            code,
            message
        );
        let date = now.format("%Y%m%d");
        let mut files = vec![format!("{}_{}{}.log", logger.name(), level.lower(), date)];
        if level != Level::Debug && !self.dir.join("NO_DEBUG").exists() {
            files.push(format!("{}_debug{}.log", logger.name(), date));
        }
        for name in files {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(name))
            {
                let _ = f.write_all(line.as_bytes());
            }
        }
    }
}
