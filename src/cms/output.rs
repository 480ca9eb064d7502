//! Writing signature files all or nothing: every output is a temporary
//! file in its own directory, created before anything is signed and
//! renamed over its name only when every output of the batch is written.

use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// What to do when an output name already exists (as a regular file: any
/// other kind of node, a device or a FIFO, is always refused).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Existing {
    /// Replace it (the default; pipelines re-sign in place).
    #[default]
    Replace,
    /// Refuse, before anything is signed; and refuse again at the rename if
    /// the name appeared in between.
    Refuse,
}

/// One output in preparation: its temporary file (short name, same
/// directory) exists; dropping it removes the temporary file.
#[derive(Debug)]
struct Pending {
    out: PathBuf,
    tmp: NamedTempFile,
}

/// The outputs of one batch, prepared before signing: [`OutputBatch::prepare`]
/// checks every name and creates every temporary file;
/// [`OutputBatch::commit`] writes them all, then renames them all. On any
/// error before the renames, or when the batch is dropped uncommitted, no
/// output name was touched and every temporary file is removed.
#[derive(Debug)]
pub struct OutputBatch {
    pending: Vec<Pending>,
    existing: Existing,
}

impl OutputBatch {
    /// Checks every output name (an existing node that is not a regular
    /// file is refused; an existing file is refused with
    /// [`Existing::Refuse`]) and creates a temporary file beside each.
    pub fn prepare<'a>(outs: impl IntoIterator<Item = &'a Path>, existing: Existing) -> Result<Self> {
        let mut pending = Vec::new();
        for out in outs {
            pending.push(Pending::create(out, existing)?);
        }
        Ok(Self { pending, existing })
    }

    /// Writes `contents[i]` into the i-th output and renames each over its
    /// name. Everything is written and flushed before the first rename;
    /// only a rename failing after another succeeded (the same directory
    /// becoming unwritable in between) leaves the batch partly written.
    pub fn commit(self, contents: &[impl AsRef<[u8]>]) -> Result<()> {
        if contents.len() != self.pending.len() {
            return Err(Error::invalid_argument(format!(
                "{} outputs for {} prepared files",
                contents.len(),
                self.pending.len()
            )));
        }
        let Self {
            mut pending,
            existing,
        } = self;
        for (p, bytes) in pending.iter_mut().zip(contents) {
            let file = p.tmp.as_file_mut();
            file.write_all(bytes.as_ref())
                .and_then(|()| file.sync_all())
                .map_err(|e| Error::io(format!("writing {}", crate::text::path(p.tmp.path())), e))?;
        }
        for p in pending {
            p.rename(existing)?;
        }
        Ok(())
    }
}

impl Pending {
    fn create(out: &Path, existing: Existing) -> Result<Self> {
        check_output(out, existing)?;
        Ok(Self {
            out: out.to_path_buf(),
            tmp: temp_beside(out)?,
        })
    }

    fn rename(self, existing: Existing) -> Result<()> {
        let Self { out, tmp } = self;
        rename_over(tmp.into_temp_path(), &out, existing)
    }
}

/// Checks an output name before anything is signed for it: it must name a
/// file; an existing node that is not a regular file is refused, and with
/// [`Existing::Refuse`] any existing node.
pub fn check_output(out: &Path, existing: Existing) -> Result<()> {
    if out.file_name().is_none() {
        return Err(Error::invalid_argument(format!(
            "{} is not a file path",
            crate::text::path(out)
        )));
    }
    if let Ok(meta) = std::fs::metadata(out)
        && !meta.is_file()
    {
        return Err(Error::io(
            format!("refusing to replace {}", crate::text::path(out)),
            std::io::Error::other("it exists and is not a regular file"),
        ));
    }
    if existing == Existing::Refuse && std::fs::symlink_metadata(out).is_ok() {
        return Err(already_exists(out));
    }
    Ok(())
}

/// A new temporary file beside `out` (same directory, short name
/// `.crpki-XXXXXXXXXXXX.tmp`, mode as a plain create under the umask),
/// removed when dropped.
pub(super) fn temp_beside(out: &Path) -> Result<NamedTempFile> {
    temp_in(dir_of(out))
}

/// The directory an output goes to (`.` for a bare file name).
pub(super) fn dir_of(out: &Path) -> &Path {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A new temporary file in `dir`, as [`temp_beside`] makes them. (A
/// relative `dir` costs a `getcwd` each time, inside `tempfile`.)
pub(super) fn temp_in(dir: &Path) -> Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".crpki-").suffix(".tmp").rand_bytes(8);
    #[cfg(unix)]
    {
        // As a plain create would: what the umask lets through.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir).map_err(|e| {
        Error::io(
            format!("creating a temporary file in {}", crate::text::path(dir)),
            e,
        )
    })
}

/// Renames a written temporary file over `out`: replacing what is there,
/// or (with [`Existing::Refuse`]) only if the name is still free. On an
/// error the temporary file is removed.
pub(super) fn rename_over(tmp: tempfile::TempPath, out: &Path, existing: Existing) -> Result<()> {
    let result = match existing {
        Existing::Replace => tmp.persist(out),
        Existing::Refuse => tmp.persist_noclobber(out),
    };
    result.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            return already_exists(out);
        }
        Error::io(
            format!(
                "renaming {} to {}",
                crate::text::path(&e.path),
                crate::text::path(out)
            ),
            e.error,
        )
    })
}

fn already_exists(out: &Path) -> Error {
    Error::invalid_argument(format!(
        "{} already exists; not replaced (--no-clobber)",
        crate::text::path(out)
    ))
}

/// Writes `bytes` to `out` all or nothing (see [`OutputBatch`]).
pub(super) fn write_atomically(out: &Path, bytes: &[u8]) -> Result<()> {
    OutputBatch::prepare([out], Existing::Replace)?.commit(&[bytes])
}

/// A job for the [`Writers`].
type Task = Box<dyn FnOnce() + Send>;

/// A fixed set of threads that write and sync outputs, one pool per batch
/// fed through one queue: the waits for the disk (`fsync`) overlap with
/// each other and with signing, and the number of threads (and of stacks,
/// allocator arenas, …) stays the same however many chunks go through.
/// Threads are started as tasks arrive, up to the pool's size (a batch of
/// one file starts one thread, not the whole pool). They end when the pool
/// is dropped and the queue is empty. A task that panics is dropped (its
/// thread goes on), and a task that cannot be run (no thread could be
/// started) is dropped unrun: either way its reply channel closes.
pub(super) struct Writers {
    queue: std::sync::mpsc::Sender<Task>,
    rx: std::sync::Arc<std::sync::Mutex<std::sync::mpsc::Receiver<Task>>>,
    started: std::sync::atomic::AtomicUsize,
    size: usize,
}

impl Writers {
    /// A pool of up to `size` threads (at least 1); none is started yet.
    pub(super) fn new(size: usize) -> Self {
        let (queue, rx) = std::sync::mpsc::channel::<Task>();
        Self {
            queue,
            rx: std::sync::Arc::new(std::sync::Mutex::new(rx)),
            started: std::sync::atomic::AtomicUsize::new(0),
            size: size.max(1),
        }
    }

    /// Queues a task (never blocks), starting one more thread if the pool
    /// is not full yet.
    pub(super) fn run(&self, task: impl FnOnce() + Send + 'static) {
        use std::sync::atomic::Ordering::Relaxed;
        let started = self.started.load(Relaxed);
        if started < self.size && self.spawn(started).is_ok() {
            self.started.fetch_add(1, Relaxed);
        }
        if self.started.load(Relaxed) == 0 {
            // No thread to run it: dropped, so its caller hears nothing
            // more from it.
            return;
        }
        let _ = self.queue.send(Box::new(task));
    }

    fn spawn(&self, index: usize) -> std::io::Result<()> {
        let rx = std::sync::Arc::clone(&self.rx);
        std::thread::Builder::new()
            .name(format!("crpki-writer-{index}"))
            // Small stacks: a task builds one CMS and writes one file.
            .stack_size(256 * 1024)
            .spawn(move || {
                loop {
                    // The lock is released before the task runs.
                    let task = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(task) = task else {
                        return;
                    };
                    // A panic drops the task (and its reply sender) only.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task));
                }
            })
            .map(drop)
    }
}
