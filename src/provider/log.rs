//! The provider's error log: one line per failed export.
//!
//! A CSP or KSP runs inside other people's programs, which see nothing but a
//! status code. The seed (5.6.3) asks for the errors without a code to land
//! in a log; we log every failure with its text, so a user or a support desk
//! can tell "not logged in" from "network down".
//!
//! # Where
//!
//! - `CRPKI_PROVIDER_LOG` when set: a file path, or `off` to log nothing;
//! - on Windows `%LOCALAPPDATA%\crpki\logs\provider.log`;
//! - elsewhere `$XDG_STATE_HOME/crpki/provider.log`, by default
//!   `~/.local/state/crpki/provider.log`.
//!
//! # What
//!
//! `2026-11-26T03:41:04.123Z pid=4242 CPSignHash 0x80090022 NTE_SILENT_CONTEXT user interaction required: …`
//!
//! The time (UTC), the process, the export, the code and the error's text
//! on one line. Error texts never carry secrets (passwords, tokens, keys are
//! kept out of every [`crate::Error`] message), and nothing else is logged:
//! no digests, no signatures, no data. The "buffer too small" answer of a
//! size query and the end of an enumeration are normal steps, not failures,
//! and are not logged.
//!
//! When the file grows past [`MAX_LOG_BYTES`] it is renamed to
//! `provider.log.1` (replacing the previous one) and a new file is started,
//! so the log never takes more than twice that. Logging never makes an
//! export fail: a log that cannot be written is skipped.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Environment variable that names the log file (`off` disables the log).
pub const LOG_ENV: &str = "CRPKI_PROVIDER_LOG";

/// Size at which the log is rotated.
pub const MAX_LOG_BYTES: u64 = 1024 * 1024;

/// An append-only, size-rotated log file.
#[derive(Debug)]
pub struct ErrorLog {
    path: Option<PathBuf>,
    max_bytes: u64,
    write: Mutex<()>,
}

impl ErrorLog {
    /// A log written to `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self {
            path: Some(path.into()),
            max_bytes: MAX_LOG_BYTES,
            write: Mutex::new(()),
        }
    }

    /// A log that writes nothing.
    pub fn disabled() -> Self {
        Self {
            path: None,
            max_bytes: MAX_LOG_BYTES,
            write: Mutex::new(()),
        }
    }

    /// The same log rotating at `max_bytes` (tests).
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The log of this process, at [`default_path`](Self::default_path).
    pub fn global() -> &'static ErrorLog {
        static LOG: OnceLock<ErrorLog> = OnceLock::new();
        LOG.get_or_init(|| match Self::default_path() {
            Some(p) => Self::at(p),
            None => Self::disabled(),
        })
    }

    /// Where the log goes (see the module documentation); `None` when it is
    /// switched off or no location can be found.
    pub fn default_path() -> Option<PathBuf> {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        if let Some(p) = env(LOG_ENV) {
            return (p != "off").then(|| PathBuf::from(p));
        }
        if cfg!(windows) {
            return env("LOCALAPPDATA")
                .map(|d| PathBuf::from(d).join("crpki").join("logs").join("provider.log"));
        }
        let state = env("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local").join("state")))?;
        Some(state.join("crpki").join("provider.log"))
    }

    /// The file written to, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Records that `export` failed with `code` because of `message`.
    pub fn failure(&self, export: &str, code: u32, message: &str) {
        self.failure_named(export, code, super::error::codes::name(code), message);
    }

    /// [`failure`](Self::failure) for codes of another family (PKCS#11's
    /// `CKR_*`), with their symbolic name.
    pub fn failure_named(&self, export: &str, code: u32, name: &str, message: &str) {
        let Some(path) = &self.path else { return };
        let now = time::OffsetDateTime::now_utc();
        let stamp = now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| now.unix_timestamp().to_string());
        // One failure, one line, whatever the message contains.
        let message: String = message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let line = format!(
            "{stamp} pid={} {export} {code:#010x} {name} {message}\n",
            std::process::id(),
        );
        let _guard = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = self.append(path, line.as_bytes());
    }

    fn append(&self, path: &Path, line: &[u8]) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if std::fs::metadata(path).is_ok_and(|m| m.len() + line.len() as u64 > self.max_bytes) {
            let mut old = path.as_os_str().to_owned();
            old.push(".1");
            // Windows cannot rename onto an existing file.
            let _ = std::fs::remove_file(&old);
            std::fs::rename(path, &old)?;
        }
        let mut f = OpenOptions::new().create(true).append(true).open(path)?;
        f.write_all(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_line_per_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("provider.log");
        let log = ErrorLog::at(&path);
        log.failure(
            "CPSignHash",
            0x8009_0022,
            "user interaction required: login\nagain",
        );
        log.failure("CPGetUserKey", 0x8009_000D, "no key");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0]
                .contains(" CPSignHash 0x80090022 NTE_SILENT_CONTEXT user interaction required: login again")
        );
        assert!(lines[0].contains(&format!("pid={}", std::process::id())));
        assert!(lines[1].contains("CPGetUserKey 0x8009000d NTE_NO_KEY no key"));
        // An RFC 3339 UTC time first.
        assert!(lines[0].split(' ').next().unwrap().ends_with('Z'));
    }

    #[test]
    fn rotates_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("provider.log");
        let log = ErrorLog::at(&path).with_max_bytes(300);
        for i in 0..10 {
            log.failure("CPHashData", 0x8009_0002, &format!("failure number {i}"));
        }
        let current = std::fs::read_to_string(&path).unwrap();
        let rotated = std::fs::read_to_string(dir.path().join("provider.log.1")).unwrap();
        assert!(current.len() <= 300 && rotated.len() <= 300);
        assert!(current.contains("failure number 9"));
        assert!(!current.contains("failure number 0"));
        assert!(rotated.lines().count() >= 1);
        // Only one rotated generation is kept.
        assert!(!dir.path().join("provider.log.2").exists());
    }

    #[test]
    fn disabled_and_unwritable_logs_are_silent() {
        ErrorLog::disabled().failure("CPHashData", 1, "x");
        assert!(ErrorLog::disabled().path().is_none());
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: writing fails, quietly.
        let log = ErrorLog::at(dir.path());
        log.failure("CPHashData", 1, "x");
    }
}
