//! Hashing files: small files through one reused buffer per thread, large
//! ones with reading and hashing overlapped on two threads.
//!
//! A file is read in blocks of [`BLOCK`] bytes. If the first block does not
//! fill up, the file is small (the batch signer's usual 4 KiB documents):
//! it is hashed from that thread's buffer, so hashing many small files
//! allocates nothing per file and costs an `open`, two `read`s and a
//! `close`. Otherwise a second thread reads the rest into a few recycled
//! blocks while this one hashes the blocks before: a large file then takes
//! about the time of hashing it alone (SHA-256 is slower than copying from
//! the page cache or most disks), where a single thread, as
//! `openssl dgst`, takes the time of reading plus hashing.

use std::cell::RefCell;
use std::io::Read;
use std::sync::mpsc;

use super::Hasher;

/// The read size: large enough that the system calls cost little next to
/// hashing, small enough that a block is still in the CPU's cache when it
/// is hashed.
pub(super) const BLOCK: usize = 256 * 1024;

/// Blocks in flight between the reading thread and the hashing one.
const BLOCKS: usize = 4;

thread_local! {
    /// Each thread's buffer for the first block of every file.
    static FIRST: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Feeds everything `file` yields to `hasher`; returns the number of bytes.
pub(super) fn hash_file(hasher: &mut Hasher, mut file: std::fs::File) -> std::io::Result<u64> {
    let first = FIRST.with(|cell| -> std::io::Result<usize> {
        let mut buf = cell.try_borrow_mut().map_err(std::io::Error::other)?;
        if buf.len() < BLOCK {
            // Zeroed by the allocator (fresh pages from the system), not by
            // writing: a 4 KiB file then touches one page of the block, not
            // 64 (page faults are most of a one-file run's system time).
            *buf = vec![0u8; BLOCK];
        }
        let n = fill(&mut file, &mut buf)?;
        hasher.update(&buf[..n]);
        Ok(n)
    })?;
    if first < BLOCK {
        // A short first block is the whole file.
        return Ok(first as u64);
    }
    Ok(first as u64 + hash_rest_overlapped(hasher, file)?)
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn fill(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads the rest of `file` on a second thread, hashing on this one.
fn hash_rest_overlapped(hasher: &mut Hasher, mut file: std::fs::File) -> std::io::Result<u64> {
    let (full_tx, full_rx) = mpsc::sync_channel::<std::io::Result<(Vec<u8>, usize)>>(BLOCKS);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..BLOCKS {
        let _ = empty_tx.send(vec![0u8; BLOCK]);
    }
    std::thread::scope(|scope| {
        // Dropped when this side returns, before the scope waits for the
        // reader: a reader waiting for an empty block then stops.
        let empty_tx = empty_tx;
        scope.spawn(move || {
            // Ends when the file ends, on an error, or when the hashing side
            // has gone (its receivers dropped).
            while let Ok(mut buf) = empty_rx.recv() {
                let read = fill(&mut file, &mut buf);
                let last = !matches!(read, Ok(n) if n == BLOCK);
                if full_tx.send(read.map(|n| (buf, n))).is_err() || last {
                    return;
                }
            }
        });
        let mut total = 0u64;
        for block in full_rx {
            let (buf, n) = block?;
            hasher.update(&buf[..n]);
            total += n as u64;
            if n < BLOCK {
                break;
            }
            let _ = empty_tx.send(buf);
        }
        Ok(total)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use sha2::Digest as _;

    use super::BLOCK;
    use crate::crypto::{HashAlgorithm, digest_file};

    /// Every way a file can end against the blocks (empty, inside the first
    /// block, on a block edge, inside a later one) hashes as the `sha2`
    /// crate (another implementation) hashes the same bytes.
    #[test]
    fn files_of_every_shape_hash_as_sha2_does() {
        let dir = tempfile::tempdir().unwrap();
        for len in [
            0,
            1,
            4096,
            BLOCK - 1,
            BLOCK,
            BLOCK + 1,
            2 * BLOCK,
            5 * BLOCK + 17,
            (super::BLOCKS + 3) * BLOCK,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let path = dir.path().join(format!("f{len}"));
            std::fs::write(&path, &data).unwrap();
            let ours = digest_file(HashAlgorithm::Sha256, &path).unwrap();
            assert_eq!(
                ours.as_bytes(),
                sha2::Sha256::digest(&data).as_slice(),
                "{len} bytes"
            );
            let ours = digest_file(HashAlgorithm::Sha512, &path).unwrap();
            assert_eq!(
                ours.as_bytes(),
                sha2::Sha512::digest(&data).as_slice(),
                "{len} bytes"
            );
        }
    }

    /// The per-thread buffer does not carry one file's bytes into the next.
    #[test]
    fn a_small_file_after_a_large_one_is_hashed_alone() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![7u8; 3 * BLOCK]).unwrap();
        let small = dir.path().join("small");
        std::fs::write(&small, b"abc").unwrap();
        digest_file(HashAlgorithm::Sha256, &big).unwrap();
        let d = digest_file(HashAlgorithm::Sha256, &small).unwrap();
        assert_eq!(d.as_bytes(), sha2::Sha256::digest(b"abc").as_slice());
    }

    #[test]
    fn a_directory_is_an_error_not_a_digest() {
        let dir = tempfile::tempdir().unwrap();
        assert!(digest_file(HashAlgorithm::Sha256, dir.path()).is_err());
    }
}
