//! The pipelined batch signer (`crpki::cms::sign_pipeline`, issue 13):
//! every output verifies with OpenSSL, results come in input order, chunks
//! follow the signer's batch size, and a failure anywhere (the signer
//! going down after some chunks, an unreadable input, a refused name)
//! leaves no signature and no temporary file, old signatures untouched.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use crpki::cms::{self, Existing, PipelineEvent, PipelineOptions, SignJob};
use crpki::testing::{Fault, FaultySigner, fixtures};
use crpki::{Error, RemoteSigner};

fn openssl_verify(sig: &Path, content: &Path) -> bool {
    crpki::testing::openssl::cms_verifies(sig, content, &fixtures::path("registrar-root.pem"))
}

/// `n` small files in `dir`, each different.
fn files(dir: &Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let f = dir.join(format!("doc{i:03}.txt"));
            std::fs::write(&f, format!("請求書 {i}\n").repeat(i + 1)).unwrap();
            f
        })
        .collect()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn jobs(inputs: &[PathBuf]) -> Vec<crpki::Result<SignJob>> {
    inputs.iter().map(|f| Ok(SignJob::beside(f))).collect()
}

fn options(chunk: usize, existing: Existing) -> PipelineOptions {
    let mut o = PipelineOptions::with_existing(existing);
    o.chunk_size = Some(chunk);
    o.chunks_in_flight = 3;
    o.writers = 4;
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_signs_every_file_in_chunks_and_reports_them_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = files(dir.path(), 23);
    let signer = FaultySigner::new(fixtures::memory_signer("rep-rsa2048"), None);
    let mut done = Vec::new();
    let mut progress = Vec::new();
    let n = cms::sign_pipeline(
        &signer,
        jobs(&inputs),
        &options(5, Existing::Replace),
        |e| match e {
            PipelineEvent::Signed { files } => progress.push(files),
            PipelineEvent::Done(job) => done.push(job.clone()),
            _ => {}
        },
    )
    .await
    .unwrap();
    assert_eq!(n, 23);
    // ⌈23 / 5⌉ chunks, one signer call each.
    assert_eq!(signer.calls(), 5);
    assert_eq!(progress, [5, 10, 15, 20, 23]);
    let expected: Vec<SignJob> = inputs.iter().map(SignJob::beside).collect();
    assert_eq!(done, expected, "one Done per job, in input order");
    for f in &inputs {
        let sig = SignJob::beside(f).output;
        assert!(openssl_verify(&sig, f), "{}", sig.display());
        let verified = cms::verify_file(&sig, f, &[fixtures::cert("registrar-root")], None).unwrap();
        assert_eq!(verified.signer.der(), signer.certificate().der());
    }
    // Nothing but the inputs and their signatures.
    assert_eq!(names(dir.path()).len(), 46);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_follow_the_signers_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = files(dir.path(), 7);
    let signer = FaultySigner::new(fixtures::memory_signer("rep-rsa2048"), None);
    // A memory signer has no limit: the default chunk takes all 7.
    assert_eq!(signer.max_batch(), None);
    let n = cms::sign_pipeline(&signer, jobs(&inputs), &PipelineOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!((n, signer.calls()), (7, 1));
    // No jobs: nothing signed, nothing written.
    let n = cms::sign_pipeline(&signer, Vec::new(), &PipelineOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!((n, signer.calls()), (0, 1));
}

/// Old signatures of some inputs, to check they survive a failed batch.
fn old_signatures(inputs: &[PathBuf]) -> Vec<(PathBuf, Vec<u8>)> {
    inputs
        .iter()
        .step_by(4)
        .map(|f| {
            let sig = SignJob::beside(f).output;
            std::fs::write(&sig, b"old signature").unwrap();
            (sig, b"old signature".to_vec())
        })
        .collect()
}

fn assert_untouched(dir: &Path, before: &[String], old: &[(PathBuf, Vec<u8>)]) {
    assert_eq!(names(dir), before, "no new signature, no temporary file");
    for (sig, bytes) in old {
        assert_eq!(&std::fs::read(sig).unwrap(), bytes);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_failing_after_some_chunks_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = files(dir.path(), 40);
    let old = old_signatures(&inputs);
    let before = names(dir.path());
    // The first 3 chunks are signed (and written to temporary files), the
    // 4th fails.
    let signer = FaultySigner::new(
        fixtures::memory_signer("rep-rsa2048"),
        Some(Fault::UnavailableFrom(3)),
    );
    let mut done = 0;
    let failure = cms::sign_pipeline(&signer, jobs(&inputs), &options(4, Existing::Replace), |e| {
        if let PipelineEvent::Done(_) = e {
            done += 1;
        }
    })
    .await
    .unwrap_err();
    assert!(
        matches!(failure.error, Error::ServiceUnavailable { .. }),
        "{failure}"
    );
    assert_eq!(failure.input, None, "a failure of the batch, not of a file");
    assert!(signer.calls() >= 4);
    assert_eq!(done, 0, "nothing is reported done");
    assert_untouched(dir.path(), &before, &old);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_that_does_not_verify_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = files(dir.path(), 12);
    let before = names(dir.path());
    let signer = FaultySigner::new(fixtures::memory_signer("rep-rsa2048"), Some(Fault::CorruptsFirst));
    let failure = cms::sign_pipeline(&signer, jobs(&inputs), &options(3, Existing::Replace), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(failure.error, Error::Protocol { .. }), "{failure}");
    assert_untouched(dir.path(), &before, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_input_after_written_chunks_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = files(dir.path(), 30);
    let missing = dir.path().join("missing.txt");
    inputs.insert(25, missing.clone());
    let old = old_signatures(&inputs[..24]);
    let before = names(dir.path());
    let signer = FaultySigner::new(fixtures::memory_signer("rep-rsa2048"), None);
    let failure = cms::sign_pipeline(&signer, jobs(&inputs), &options(4, Existing::Replace), |_| {})
        .await
        .unwrap_err();
    assert_eq!(failure.input.as_deref(), Some(missing.as_path()));
    assert!(failure.to_string().contains("missing.txt"), "{failure}");
    assert!(signer.calls() >= 1, "earlier chunks were signed");
    assert_untouched(dir.path(), &before, &old);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_that_fails_to_read_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = files(dir.path(), 10);
    let before = names(dir.path());
    let mut list = jobs(&inputs);
    list.insert(
        8,
        Err(Error::io(
            "reading the list of files",
            std::io::Error::other("broken pipe"),
        )),
    );
    let signer = FaultySigner::new(fixtures::memory_signer("rep-rsa2048"), None);
    let failure = cms::sign_pipeline(&signer, list, &options(2, Existing::Replace), |_| {})
        .await
        .unwrap_err();
    assert_eq!(failure.input, None);
    assert!(failure.to_string().contains("list of files"), "{failure}");
    assert_untouched(dir.path(), &before, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_clobber_refuses_an_existing_output_in_a_later_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = files(dir.path(), 20);
    let taken = SignJob::beside(&inputs[17]).output;
    std::fs::write(&taken, b"keep me").unwrap();
    let before = names(dir.path());
    let signer = FaultySigner::new(fixtures::memory_signer("rep-rsa2048"), None);
    let failure = cms::sign_pipeline(&signer, jobs(&inputs), &options(3, Existing::Refuse), |_| {})
        .await
        .unwrap_err();
    assert_eq!(failure.input.as_deref(), Some(inputs[17].as_path()));
    assert!(failure.to_string().contains("already exists"), "{failure}");
    assert_untouched(dir.path(), &before, &[(taken.clone(), b"keep me".to_vec())]);

    // A directory where an output should go is refused with either setting.
    std::fs::remove_file(&taken).unwrap();
    std::fs::create_dir(&taken).unwrap();
    let before = names(dir.path());
    let failure = cms::sign_pipeline(&signer, jobs(&inputs), &options(3, Existing::Replace), |_| {})
        .await
        .unwrap_err();
    assert_eq!(failure.input.as_deref(), Some(inputs[17].as_path()));
    assert_untouched(dir.path(), &before, &[]);
}

#[test]
fn path_lists_split_on_newlines_or_nuls() {
    let read = |text: &'static [u8], nul: bool| -> Vec<PathBuf> {
        cms::read_path_list(text, nul)
            .collect::<crpki::Result<Vec<_>>>()
            .unwrap()
    };
    assert_eq!(
        read(b"a.txt\nb c.txt\r\n\n\xe8\xab\x8b.pdf", false),
        [PathBuf::from("a.txt"), "b c.txt".into(), "請.pdf".into()]
    );
    assert_eq!(
        read(b"a\nb\0c\r\0\0", true),
        [PathBuf::from("a\nb"), PathBuf::from("c\r")]
    );
    assert!(read(b"", false).is_empty());
}

/// A signer that holds its first batch until released, to see what the
/// pipeline does meanwhile.
#[derive(Debug)]
struct HeldSigner {
    inner: FaultySigner,
    release: tokio::sync::Semaphore,
}

#[async_trait::async_trait]
impl RemoteSigner for HeldSigner {
    fn certificate(&self) -> &crpki::Certificate {
        self.inner.certificate()
    }
    fn chain(&self) -> &[crpki::Certificate] {
        self.inner.chain()
    }
    fn key_info(&self) -> crpki::KeyInfo {
        self.inner.key_info()
    }
    async fn sign_batch(&self, batch: &crpki::signer::DigestBatch<'_>) -> crpki::Result<Vec<Vec<u8>>> {
        if self.inner.calls() == 0 {
            let _permit = self.release.acquire().await.unwrap();
        }
        self.inner.sign_batch(batch).await
    }
}

/// Memory stays flat: while a chunk is at the signer, the pipeline reads
/// and hashes one chunk ahead, not the whole list (only one hashed chunk
/// waits; before, two waited and a third was being hashed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_chunk_is_hashed_ahead_of_the_signer() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = files(dir.path(), 40);
    let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = {
        let pulled = std::sync::Arc::clone(&pulled);
        jobs(&inputs).into_iter().inspect(move |_| {
            pulled.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let signer = HeldSigner {
        inner: FaultySigner::new(fixtures::memory_signer("rep-rsa2048"), None),
        release: tokio::sync::Semaphore::new(0),
    };
    let mut o = PipelineOptions::with_existing(Existing::Replace);
    o.chunk_size = Some(4);
    let run = cms::sign_pipeline(&signer, counted, &o, |_| {});
    let watch = async {
        // The next chunk is read (within 10 s however loaded the machine),
        // then time for the feeder to run further ahead if it would.
        let read = || pulled.load(std::sync::atomic::Ordering::SeqCst);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while read() < 8 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let seen = read();
        signer.release.add_permits(1);
        seen
    };
    let (n, seen) = tokio::join!(run, watch);
    assert_eq!(n.unwrap(), 40);
    // The chunk at the signer (4), the one waiting (4), one job looked at.
    assert!(
        seen <= 9,
        "{seen} jobs read while the first chunk was at the signer"
    );
    assert!(seen >= 8, "the next chunk is hashed meanwhile ({seen} jobs read)");
    for f in &inputs {
        assert!(openssl_verify(&SignJob::beside(f).output, f));
    }
}
