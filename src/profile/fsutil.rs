//! Atomic, owner-only file writes shared by the profile and token stores.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Creates `dir` (and missing parents); directories created here are
/// owner-only on Unix. An existing directory keeps its permissions.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Error::io(format!("creating directory {}", dir.display()), e))
}

fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

/// Replaces `path` with `contents` so that a reader sees either the old or
/// the new file, never a partial one: a fresh temporary file in the same
/// directory (mode 0600 from its creation on Unix, so the secret is never
/// readable by others even for an instant), fsync, rename, fsync of the
/// directory.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let result = write_new_private(&tmp, contents).and_then(|()| {
        fs::rename(&tmp, path).map_err(|e| Error::io(format!("replacing {}", path.display()), e))
    });
    if result.is_err() {
        // Best effort: the temporary file is ours and useless now.
        let _ = fs::remove_file(&tmp);
        return result;
    }
    sync_parent(path);
    Ok(())
}

fn write_new_private(tmp: &Path, contents: &[u8]) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let context = || format!("writing {}", tmp.display());
    let mut file = options.open(tmp).map_err(|e| Error::io(context(), e))?;
    file.write_all(contents).map_err(|e| Error::io(context(), e))?;
    file.sync_all().map_err(|e| Error::io(context(), e))
}

/// Makes the rename durable. Failure only weakens durability after a crash,
/// so it is not reported.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        let dir = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Removes a file; `Ok(false)` when it did not exist.
pub(crate) fn remove_if_exists(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => {
            sync_parent(path);
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(format!("removing {}", path.display()), e)),
    }
}

/// Reads a UTF-8 settings file; `Ok(None)` when it does not exist. On
/// Unix a file that group or others can write is refused (another local
/// user could have redirected the services it names).
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>> {
    let context = || format!("reading {}", path.display());
    let mut file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(context(), e)),
    };
    // Checked on the open handle, so a swap after the check cannot slip through.
    let meta = file.metadata().map_err(|e| Error::io(context(), e))?;
    refuse_writable_by_others(&meta, path, "settings file", "600")?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).map_err(|e| Error::io(context(), e))?;
    Ok(Some(text))
}

/// On Unix, refuses a settings file or directory (`what`) that group or
/// others can write, with the `chmod MODE` that makes it owner-only.
/// Elsewhere it accepts everything (the per-user profile directory's ACL
/// applies).
pub(crate) fn refuse_writable_by_others(
    meta: &fs::Metadata,
    path: &Path,
    what: &str,
    mode: &str,
) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let bits = meta.permissions().mode();
        if bits & 0o022 != 0 {
            return Err(Error::Config {
                detail: format!(
                    "{what} {} is writable by group or others (mode {:04o}); refusing to use it: \
                     run `chmod {mode} {}` if you trust its contents",
                    path.display(),
                    bits & 0o7777,
                    path.display()
                ),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (meta, path, what, mode);
    Ok(())
}

/// "line L, column C" of a byte offset, for error messages that must not
/// quote the file (it may hold secrets).
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a\nbc\nd", 0), (1, 1));
        assert_eq!(line_col("a\nbc\nd", 3), (2, 2));
        assert_eq!(line_col("a\nbc\nd", 99), (3, 2));
    }
}
