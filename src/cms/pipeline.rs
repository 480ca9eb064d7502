//! The pipelined batch signer: files are hashed while earlier chunks are at
//! the signer and earlier signatures are being written, and the outputs
//! appear all together, durably, or not at all.
//! See [`sign_pipeline`] for the stages and what is guaranteed.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::stream::{FuturesOrdered, StreamExt};

use super::SignOptions;
use super::output::{Existing, Writers, check_output, dir_of, rename_over, temp_in};
use super::sign::Template;
use crate::crypto::{Digest, HashAlgorithm};
use crate::error::{Error, Result};
use crate::signer::RemoteSigner;

/// The chunk size for signers that do not say
/// ([`RemoteSigner::max_batch`] is `None`: local keys).
pub const DEFAULT_CHUNK: usize = 256;

/// Chunks whose outputs are written at once: one, while the next chunk is
/// at the signer (the writer pool is shared; a second chunk would only
/// add its signatures to memory).
const CHUNKS_WRITING: usize = 1;

/// Timestamp requests a chunk has at the TSA at once (RFC 3161 stamps one
/// imprint per request).
#[cfg(feature = "remote")]
pub const TSA_IN_FLIGHT: usize = 8;

/// One file to sign and where its detached CMS goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignJob {
    /// The file to sign.
    pub input: PathBuf,
    /// Where its signature is written.
    pub output: PathBuf,
}

impl SignJob {
    /// Signs `input` into `input.p7s`.
    pub fn beside(input: impl Into<PathBuf>) -> Self {
        let input = input.into();
        let mut name = input.as_os_str().to_os_string();
        name.push(".p7s");
        Self {
            input,
            output: PathBuf::from(name),
        }
    }
}

/// How [`sign_pipeline`] runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PipelineOptions {
    /// How each signature is made (algorithm, signing time, chain).
    pub sign: SignOptions,
    /// What to do with existing outputs.
    pub existing: Existing,
    /// Files per signer call; `None`: the signer's
    /// [`max_batch`](RemoteSigner::max_batch), else [`DEFAULT_CHUNK`].
    pub chunk_size: Option<usize>,
    /// Chunks at the signer at once (at least 1; default 1). The writing
    /// of a chunk's outputs overlaps the signing of the next one whatever
    /// this is; more than one chunk at the signer only helps a signer that
    /// signs several requests in parallel, and each costs a reply (and a
    /// connection) in memory.
    pub chunks_in_flight: usize,
    /// Threads assembling, writing and syncing the outputs, one pool for
    /// the whole batch (at least 1; default 8: enough `fsync`s waiting
    /// at once for the disk to take them as one queue; 16 signed about 6 %
    /// more files/s here, at the cost of more resident memory in long
    /// batches, each thread keeping its own allocator caches).
    pub writers: usize,
    /// A TSA that timestamps every signature (CAdES-T: a token over the
    /// SHA-256 of each signature value, in its signature-time-stamp
    /// unsigned attribute), asked right after each chunk is signed, up to
    /// [`TSA_IN_FLIGHT`] requests at once; a TSA failure fails the batch.
    /// `None`: no timestamps.
    #[cfg(feature = "remote")]
    pub timestamps: Option<Arc<crate::tsp::TsaClient>>,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            sign: SignOptions::default(),
            existing: Existing::Replace,
            chunk_size: None,
            chunks_in_flight: 1,
            writers: 8,
            #[cfg(feature = "remote")]
            timestamps: None,
        }
    }
}

impl PipelineOptions {
    /// The default options with `existing`.
    pub fn with_existing(existing: Existing) -> Self {
        Self {
            existing,
            ..Self::default()
        }
    }
}

/// What [`sign_pipeline`] reports as it goes.
#[derive(Debug)]
#[non_exhaustive]
pub enum PipelineEvent<'a> {
    /// So many files are signed and written (not yet renamed).
    Signed {
        /// Files signed so far.
        files: u64,
    },
    /// After every output is renamed and synced: this job's output is in
    /// place (once per job, in input order).
    Done(&'a SignJob),
}

/// Why a [`sign_pipeline`] failed, and the file it was about when it was
/// about one.
#[derive(Debug)]
pub struct PipelineFailure {
    /// The input file the error is about (`None`: the batch, such as the
    /// signer refusing a chunk, or the list of jobs).
    pub input: Option<PathBuf>,
    /// What went wrong.
    pub error: Error,
}

impl std::fmt::Display for PipelineFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for PipelineFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<PipelineFailure> for Error {
    fn from(f: PipelineFailure) -> Self {
        f.error
    }
}

impl PipelineFailure {
    fn batch(error: Error) -> Self {
        Self { input: None, error }
    }

    fn file(input: &Path, error: Error) -> Self {
        Self {
            input: Some(input.to_path_buf()),
            error,
        }
    }
}

/// Signs every job's input into its output, all or nothing, pipelined.
/// Returns the number of files signed (0 for no jobs: nothing is written).
///
/// `jobs` is walked once, on a blocking thread, so it may read a list as
/// it goes; an `Err` from it fails the batch. `on_event` hears progress
/// and, after the commit, each job done. Runs inside a Tokio runtime.
///
/// # Stages
///
/// 1. One blocking thread walks the jobs (an iterator, so a list of any
///    length is read as it goes), checks each output name
///    ([`Existing`]) and hashes the input, streaming; it makes chunks of
///    the signer's [`max_batch`](RemoteSigner::max_batch) (a CSC
///    credential's `multisign`), and hashes a chunk only when the one
///    before it has gone to the signer (one chunk waits, hashed).
/// 2. Up to [`PipelineOptions::chunks_in_flight`] chunks (default 1) are
///    at the signer at once, each with one [`RemoteSigner::sign_digests`]
///    call (one authorization per chunk at a CSC service).
/// 3. The signatures of a signed chunk go to a fixed pool of
///    [`PipelineOptions::writers`] threads (one pool per batch), each
///    of which assembles one file's CMS, writes it into a temporary file
///    beside its output and syncs it (`fsync`) there: the waits for the
///    disk overlap with each other and with the signing of the next chunk.
///    One chunk is written at a time; a chunk signed meanwhile waits.
/// 4. When every chunk is written, every temporary file is renamed over its
///    output name, and then each output directory is synced once.
///
/// Memory stays flat in the number of files: what is kept per file (the
/// input, output and temporary names, for the renames at the end) goes to
/// an unnamed spool file, not to memory; in memory are at most three
/// chunks (one hashed and waiting, one at the signer, one being written:
/// their names, content digests and raw signatures; each CMS exists only
/// while its writer writes it), the writer threads, and the set of
/// distinct output directories.
///
/// # What is guaranteed
///
/// - **Success**: every output exists with its complete signature, its
///   data and its name made durable (file `fsync` before the rename,
///   directory `fsync` after the renames, on Unix; on Windows the files
///   are flushed and the renames are what `MoveFileEx` makes them).
/// - **Failure before the renames** (a file that cannot be read, an output
///   name refused, the signer failing, a disk error while writing): no
///   output name was touched and every temporary file is removed.
/// - **Failure during the renames** (the directory becoming unwritable, a
///   `--no-clobber` name appearing meanwhile): the outputs already renamed
///   stay, the rest are removed, as with [`OutputBatch`](super::OutputBatch).
/// - **A crash** (power loss, `SIGKILL`) leaves the old outputs as they
///   were, possibly some new ones if the renames had begun, and
///   `.crpki-*.tmp` files to delete.
///
/// # The sync strategy
///
/// One `fsync` per temporary file, on the writer threads, as soon as it is
/// written; the renames only after the last of them has returned; then one
/// `fsync` per output directory (each distinct directory once, after its
/// renames). Measured and chosen over the alternatives:
///
/// - *one `fsync` per file in sequence* (before issue 13): each waits for
///   the disk alone; with 8 writers the waits overlap and the disk takes
///   them as one queue, and they overlap with the next chunks' signing;
/// - *`syncfs` once at the end*: one call, but it writes back and waits
///   for every other process's dirty data on the same file system too
///   (on a build machine, gigabytes), it is Linux-only, and it could not
///   start before the last chunk is signed (no overlap);
/// - *`fdatasync`*: a new file's size is metadata it must write anyway,
///   so it saves nothing here.
///
/// `tests/durability.rs` checks the order from outside (`strace`): every
/// temporary file's `fsync` has returned before the first rename, and each
/// directory's `fsync` comes after its last rename.
pub async fn sign_pipeline<I>(
    signer: &dyn RemoteSigner,
    jobs: I,
    options: &PipelineOptions,
    mut on_event: impl FnMut(PipelineEvent<'_>),
) -> std::result::Result<u64, PipelineFailure>
where
    I: IntoIterator<Item = Result<SignJob>>,
    I::IntoIter: Send + 'static,
{
    let algorithm =
        super::sign::choose_algorithm(signer, &options.sign, None).map_err(PipelineFailure::batch)?;
    let sign_options = SignOptions {
        algorithm: Some(algorithm),
        // One signing time for the whole batch.
        signing_time: Some(
            options
                .sign
                .signing_time
                .unwrap_or_else(std::time::SystemTime::now),
        ),
        ..options.sign.clone()
    };
    let chunk = options
        .chunk_size
        .or_else(|| signer.max_batch())
        .unwrap_or(DEFAULT_CHUNK)
        .max(1);
    let depth = options.chunks_in_flight.max(1);
    let mut spool = Spool::new().map_err(PipelineFailure::batch)?;
    let writers = Writers::new(options.writers);

    // One hashed chunk waits while the next is signed (the feeder hashes a
    // chunk only when there is room for it).
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let jobs = jobs.into_iter();
    let (hash, existing) = (algorithm.hash, options.existing);
    let runtime = tokio::runtime::Handle::current();
    let feeder = tokio::task::spawn_blocking(move || feed(jobs, hash, existing, chunk, &tx, &runtime));

    // Chunks at the signer (polled always, so their requests progress),
    // chunks signed and waiting for the writers, chunks being written.
    let mut signing = FuturesOrdered::new();
    let mut signed_chunks: std::collections::VecDeque<SignedChunk> = std::collections::VecDeque::new();
    let mut writing = FuturesOrdered::new();
    let mut failure: Option<PipelineFailure> = None;
    let mut input_done = false;
    let mut signed = 0u64;
    loop {
        if writing.len() < CHUNKS_WRITING
            && let Some(next) = signed_chunks.pop_front()
        {
            writing.push_back(write_chunk(next, &writers));
        }
        tokio::select! {
            biased;
            Some(outcome) = writing.next(), if !writing.is_empty() => {
                let outcome: ChunkOutcome = outcome;
                signed += outcome.written.len() as u64;
                if let Err(e) = spool.push_all(outcome.written) {
                    failure.get_or_insert(PipelineFailure::batch(e));
                }
                if let Some(f) = outcome.failure {
                    failure.get_or_insert(f);
                }
                if failure.is_some() {
                    break;
                }
                on_event(PipelineEvent::Signed { files: signed });
            }
            Some(result) = signing.next(), if !signing.is_empty() => match result {
                Ok(chunk) => signed_chunks.push_back(chunk),
                Err(f) => {
                    failure = Some(f);
                    break;
                }
            },
            message = rx.recv(), if !input_done && signing.len() + signed_chunks.len() < depth => match message {
                None => input_done = true,
                Some(Err(f)) => {
                    failure = Some(f);
                    break;
                }
                Some(Ok(hashed)) => signing.push_back(sign_chunk(signer, hashed, &sign_options, options)),
            },
            else => break,
        }
    }

    if let Some(failure) = failure {
        // Stop the feeder and the requests at the signer (nothing of
        // theirs is on disk), let the chunks being written finish (their
        // writers are threads: their files are known only when they are
        // done), and remove every temporary file.
        drop(rx);
        drop(signing);
        drop(signed_chunks);
        while let Some(outcome) = writing.next().await {
            // Its temporary files are removed with it.
            drop(outcome);
        }
        spool.remove_all();
        return Err(failure);
    }
    drop(writing);
    // The feeder sent everything and ended; a panic there is a failure.
    if let Err(e) = feeder.await {
        spool.remove_all();
        return Err(PipelineFailure::batch(Error::Other(std::sync::Arc::new(e))));
    }
    spool.commit(options.existing, &mut on_event)?;
    Ok(signed)
}

/// A hashed job.
struct Hashed {
    job: SignJob,
    digest: Digest,
}

/// Stage 1: check each output, hash each input, send chunks. A chunk is
/// hashed only once the queue has room for it, so at most one hashed
/// chunk waits. Stops at the first error (sent on) or when the receiver is
/// gone. Runs on a blocking thread (`runtime` waits for room).
fn feed(
    jobs: impl Iterator<Item = Result<SignJob>>,
    hash: HashAlgorithm,
    existing: Existing,
    chunk: usize,
    tx: &tokio::sync::mpsc::Sender<std::result::Result<Vec<Hashed>, PipelineFailure>>,
    runtime: &tokio::runtime::Handle,
) {
    let mut jobs = jobs.peekable();
    while jobs.peek().is_some() {
        let Ok(room) = runtime.block_on(tx.reserve()) else {
            return;
        };
        let mut batch = Vec::with_capacity(chunk.min(4096));
        for job in jobs.by_ref() {
            let hashed = job.map_err(PipelineFailure::batch).and_then(|job| {
                check_output(&job.output, existing).map_err(|e| PipelineFailure::file(&job.input, e))?;
                let digest = crate::crypto::digest_file(hash, &job.input)
                    .map_err(|e| PipelineFailure::file(&job.input, e))?;
                Ok(Hashed { job, digest })
            });
            match hashed {
                Ok(h) => batch.push(h),
                Err(f) => {
                    room.send(Err(f));
                    return;
                }
            }
            if batch.len() >= chunk {
                break;
            }
        }
        room.send(Ok(batch));
    }
}

/// A written output: its temporary file is removed when this is dropped.
struct Written {
    job: SignJob,
    tmp: tempfile::TempPath,
}

/// What a chunk left: the outputs written (in order) and the first error.
struct ChunkOutcome {
    written: Vec<Written>,
    failure: Option<PipelineFailure>,
}

/// A chunk signed, waiting for (or at) the writers.
struct SignedChunk {
    jobs: Vec<SignJob>,
    digests: Vec<Digest>,
    template: Template,
    signatures: Vec<Vec<u8>>,
    /// The signature timestamp token of each signature, when asked for.
    tokens: Vec<Option<Vec<u8>>>,
}

/// Stage 2 for one chunk: one signer call, then the timestamps when
/// `pipeline` asks for them.
async fn sign_chunk(
    signer: &dyn RemoteSigner,
    hashed: Vec<Hashed>,
    options: &SignOptions,
    pipeline: &PipelineOptions,
) -> std::result::Result<SignedChunk, PipelineFailure> {
    let (jobs, digests): (Vec<SignJob>, Vec<Digest>) = hashed.into_iter().map(|h| (h.job, h.digest)).unzip();
    let (template, to_sign) = Template::prepare(signer, &digests, options).map_err(PipelineFailure::batch)?;
    // Verified there, one by one, against the certificate's key.
    let signatures = signer
        .sign_digests(template.algorithm, &to_sign)
        .await
        .map_err(PipelineFailure::batch)?;
    drop(to_sign);
    let tokens = timestamp_all(pipeline, &signatures)
        .await
        .map_err(PipelineFailure::batch)?;
    Ok(SignedChunk {
        jobs,
        digests,
        template,
        signatures,
        tokens,
    })
}

/// A signature timestamp token for each of `signatures` from the
/// pipeline's TSA, in order; `None`s without one.
async fn timestamp_all(pipeline: &PipelineOptions, signatures: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
    #[cfg(feature = "remote")]
    if let Some(tsa) = pipeline.timestamps.as_deref() {
        use futures_util::stream::TryStreamExt as _;
        let stamped: Vec<crate::tsp::Timestamp> = futures_util::stream::iter(
            signatures
                .iter()
                .map(|s| async move { tsa.timestamp(&HashAlgorithm::Sha256.digest(s)).await }),
        )
        .buffered(TSA_IN_FLIGHT)
        .try_collect()
        .await?;
        if stamped.iter().any(|t| !t.trusted) {
            tracing::info!(
                tsa = tsa.service(),
                "TSA certificate chain not checked (no TSA root given)"
            );
        }
        return Ok(stamped.into_iter().map(|t| Some(t.token)).collect());
    }
    #[cfg(not(feature = "remote"))]
    let _ = pipeline;
    Ok(vec![None; signatures.len()])
}

/// Stage 3 for one chunk: one writer task per file (its CMS assembled and
/// written there); the outcome lists the outputs in input order.
async fn write_chunk(chunk: SignedChunk, writers: &Writers) -> ChunkOutcome {
    let SignedChunk {
        jobs,
        digests,
        template,
        signatures,
        tokens,
    } = chunk;
    let template = Arc::new(template);
    let cwd: Option<Arc<Path>> = std::env::current_dir().ok().map(Arc::from);
    let n = jobs.len();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let items = jobs
        .into_iter()
        .zip(digests)
        .zip(signatures)
        .zip(tokens)
        .enumerate();
    for (index, (((job, digest), signature), token)) in items {
        let (template, tx, cwd) = (Arc::clone(&template), tx.clone(), cwd.clone());
        writers.run(move || {
            let written = template
                .attributes(&digest)
                .and_then(|attrs| template.assemble(attrs, signature, token.as_deref()))
                .and_then(|cms| write_one(&job.output, &cms, cwd.as_deref()));
            // The receiver gone (the batch dropped): the temporary file is
            // removed with `written`.
            let _ = tx.send((index, job, written));
        });
    }
    drop(tx);
    let mut slots: Vec<Option<(SignJob, Result<tempfile::TempPath>)>> = (0..n).map(|_| None).collect();
    while let Some((index, job, written)) = rx.recv().await {
        slots[index] = Some((job, written));
    }
    let mut outcome = ChunkOutcome {
        written: Vec::with_capacity(n),
        failure: None,
    };
    for slot in slots {
        match slot {
            Some((job, Ok(tmp))) => outcome.written.push(Written { job, tmp }),
            Some((job, Err(e))) => {
                outcome
                    .failure
                    .get_or_insert_with(|| PipelineFailure::file(&job.input, e));
            }
            None => {
                outcome.failure.get_or_insert_with(|| {
                    PipelineFailure::batch(Error::io(
                        "writing signatures",
                        std::io::Error::other("a writer thread stopped"),
                    ))
                });
            }
        }
    }
    outcome
}

/// Writes `bytes` into a new temporary file beside `out` and syncs it.
/// `cwd` (the working directory, read once per chunk) makes a relative
/// directory absolute, which spares a `getcwd` per file.
fn write_one(out: &Path, bytes: &[u8], cwd: Option<&Path>) -> Result<tempfile::TempPath> {
    let dir = dir_of(out);
    let mut tmp = match cwd {
        Some(cwd) if dir.is_relative() => temp_in(&cwd.join(dir))?,
        _ => temp_in(dir)?,
    };
    let file = tmp.as_file_mut();
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(format!("writing {}", crate::text::path(tmp.path())), e))?;
    Ok(tmp.into_temp_path())
}

/// The per-file records of a batch (input, output, temporary file), in an
/// unnamed temporary file rather than in memory.
struct Spool {
    file: BufWriter<std::fs::File>,
    count: u64,
}

impl Spool {
    fn new() -> Result<Self> {
        let file = tempfile::tempfile().map_err(|e| Error::io("creating the batch's spool file", e))?;
        Ok(Self {
            file: BufWriter::with_capacity(64 * 1024, file),
            count: 0,
        })
    }

    /// Records written outputs; their temporary files are then the spool's
    /// to remove or rename.
    fn push_all(&mut self, written: Vec<Written>) -> Result<()> {
        for w in written {
            // Recorded first, kept after: a record without its file is
            // harmless (removing it finds nothing), a file without a record
            // would be left behind.
            let record = [w.job.input.as_path(), w.job.output.as_path(), &*w.tmp];
            record
                .iter()
                .try_for_each(|p| write_path(&mut self.file, p))
                .map_err(|e| Error::io("writing the batch's spool file", e))?;
            let _ = w.tmp.keep();
            self.count += 1;
        }
        Ok(())
    }

    /// Reads the records back from the start.
    fn records(&mut self) -> Result<Records<'_>> {
        self.file
            .flush()
            .and_then(|()| self.file.get_mut().rewind())
            .map_err(|e| Error::io("reading the batch's spool file", e))?;
        Ok(Records {
            reader: BufReader::with_capacity(64 * 1024, self.file.get_mut()),
            left: self.count,
        })
    }

    /// Removes every recorded temporary file (after a failure).
    fn remove_all(&mut self) {
        let Ok(records) = self.records() else {
            return;
        };
        for record in records {
            match record {
                Ok((_, tmp)) => {
                    let _ = std::fs::remove_file(tmp);
                }
                Err(_) => return,
            }
        }
    }

    /// Stage 4: renames every temporary file over its output, syncs each
    /// output directory once, then reports each job done.
    fn commit(
        mut self,
        existing: Existing,
        on_event: &mut impl FnMut(PipelineEvent<'_>),
    ) -> std::result::Result<(), PipelineFailure> {
        let mut dirs: HashSet<PathBuf> = HashSet::new();
        let mut failure = None;
        for record in self.records().map_err(PipelineFailure::batch)? {
            let (job, tmp) = record.map_err(PipelineFailure::batch)?;
            if failure.is_some() {
                let _ = std::fs::remove_file(tmp);
                continue;
            }
            let renamed = tempfile::TempPath::try_from_path(&tmp)
                .map_err(|e| Error::io(format!("renaming {}", crate::text::path(&tmp)), e))
                .and_then(|tmp| rename_over(tmp, &job.output, existing));
            match renamed {
                Ok(()) => {
                    let dir = dir_of(&job.output);
                    if !dirs.contains(dir) {
                        dirs.insert(dir.to_path_buf());
                    }
                }
                Err(e) => failure = Some(PipelineFailure::file(&job.input, e)),
            }
        }
        if let Some(f) = failure {
            return Err(f);
        }
        for dir in &dirs {
            sync_dir(dir).map_err(PipelineFailure::batch)?;
        }
        for record in self.records().map_err(PipelineFailure::batch)? {
            let (job, _) = record.map_err(PipelineFailure::batch)?;
            on_event(PipelineEvent::Done(&job));
        }
        Ok(())
    }
}

struct Records<'a> {
    reader: BufReader<&'a mut std::fs::File>,
    left: u64,
}

impl Iterator for Records<'_> {
    type Item = Result<(SignJob, PathBuf)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut read = || -> std::io::Result<(SignJob, PathBuf)> {
            let input = read_path(&mut self.reader)?;
            let output = read_path(&mut self.reader)?;
            let tmp = read_path(&mut self.reader)?;
            Ok((SignJob { input, output }, tmp))
        };
        Some(read().map_err(|e| Error::io("reading the batch's spool file", e)))
    }
}

/// Makes the renames in `dir` durable (Unix: `fsync` of the directory).
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(format!("syncing the directory {}", crate::text::path(dir)), e))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A path as a length-prefixed byte string (the OS's own form: bytes on
/// Unix, UTF-16 on Windows).
fn write_path(w: &mut impl Write, path: &Path) -> std::io::Result<()> {
    let bytes = path_bytes(path)?;
    let len = u32::try_from(bytes.len()).map_err(|_| std::io::Error::other("path too long"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(&bytes)
}

fn read_path(r: &mut impl BufRead) -> std::io::Result<PathBuf> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut bytes)?;
    path_from_bytes(bytes)
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    Ok(path.as_os_str().as_bytes().to_vec())
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> std::io::Result<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

#[cfg(windows)]
fn path_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::os::windows::ffi::OsStrExt;
    Ok(path
        .as_os_str()
        .encode_wide()
        .flat_map(u16::to_le_bytes)
        .collect())
}

#[cfg(windows)]
fn path_from_bytes(bytes: Vec<u8>) -> std::io::Result<PathBuf> {
    use std::os::windows::ffi::OsStringExt;
    let wide: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Ok(PathBuf::from(std::ffi::OsString::from_wide(&wide)))
}

#[cfg(not(any(unix, windows)))]
fn path_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    path.to_str()
        .map(|s| s.as_bytes().to_vec())
        .ok_or_else(|| std::io::Error::other("a path that is not UTF-8"))
}

#[cfg(not(any(unix, windows)))]
fn path_from_bytes(bytes: Vec<u8>) -> std::io::Result<PathBuf> {
    String::from_utf8(bytes)
        .map(PathBuf::from)
        .map_err(std::io::Error::other)
}

/// Reads a list of paths as it goes: one per line (a trailing `\r` is
/// dropped), or NUL-separated (`nul`); empty entries are skipped. Entries
/// are bytes on Unix, UTF-8 elsewhere. For `crpki sign --files-from`.
pub fn read_path_list(
    reader: impl Read + Send + 'static,
    nul: bool,
) -> impl Iterator<Item = Result<PathBuf>> + Send {
    let separator = if nul { 0 } else { b'\n' };
    BufReader::new(reader)
        .split(separator)
        .filter_map(move |entry| match entry {
            Err(e) => Some(Err(Error::io("reading the list of files", e))),
            Ok(mut bytes) => {
                if !nul && bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
                if bytes.is_empty() {
                    return None;
                }
                Some(list_entry(bytes).map_err(|e| Error::io("reading the list of files", e)))
            }
        })
}

#[cfg(unix)]
fn list_entry(bytes: Vec<u8>) -> std::io::Result<PathBuf> {
    path_from_bytes(bytes)
}

#[cfg(not(unix))]
fn list_entry(bytes: Vec<u8>) -> std::io::Result<PathBuf> {
    String::from_utf8(bytes)
        .map(PathBuf::from)
        .map_err(|_| std::io::Error::other("an entry that is not UTF-8"))
}
