//! [`DigestBatch`]: the checked input of every signature, made in one
//! place.

use super::{Digest, HashAlgorithm, KeyInfo, SignatureAlgorithm};
use crate::error::{Error, Result};

/// A batch of digests checked against a key: not empty, every digest of
/// the algorithm's hash, and an algorithm the key can sign with.
///
/// [`DigestBatch::new`] is the only way to make one, so whatever holds a
/// batch (a [`RemoteSigner`](crate::signer::RemoteSigner) backend's
/// `sign_batch`, [`PrivateKey::sign_batch`](super::PrivateKey::sign_batch))
/// needs no checks of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestBatch<'a> {
    key: KeyInfo,
    algorithm: SignatureAlgorithm,
    digests: &'a [Digest],
}

impl<'a> DigestBatch<'a> {
    /// Checks a batch for a key: an empty batch and digests of another hash
    /// than `algorithm.hash` are [`Error::InvalidArgument`], an algorithm
    /// the key cannot sign with is [`Error::Unsupported`].
    pub fn new(key: &KeyInfo, algorithm: SignatureAlgorithm, digests: &'a [Digest]) -> Result<Self> {
        if digests.is_empty() {
            return Err(Error::invalid_argument("no digest to sign"));
        }
        if !algorithm.fits(key) {
            return Err(Error::unsupported(format!("{algorithm} with a {key} key")));
        }
        if let Some(d) = digests.iter().find(|d| d.algorithm() != algorithm.hash) {
            return Err(Error::invalid_argument(format!(
                "digest of {} given for {algorithm}",
                d.algorithm()
            )));
        }
        Ok(Self {
            key: *key,
            algorithm,
            digests,
        })
    }

    /// The key the batch was checked against.
    pub fn key(&self) -> KeyInfo {
        self.key
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// The one hash algorithm of every digest.
    pub fn hash(&self) -> HashAlgorithm {
        self.algorithm.hash
    }

    /// The digests, in order (never empty).
    pub fn digests(&self) -> &'a [Digest] {
        self.digests
    }

    /// How many digests (at least one).
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// Always false: a batch is never empty. (For symmetry with
    /// [`len`](Self::len).)
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// The batch cut into batches of at most `size` digests (at least one
    /// each), in order; each is as checked as this one.
    pub fn chunks(&self, size: usize) -> impl Iterator<Item = DigestBatch<'a>> + use<'a> {
        let (key, algorithm) = (self.key, self.algorithm);
        self.digests.chunks(size.max(1)).map(move |digests| DigestBatch {
            key,
            algorithm,
            digests,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alg::{KeyAlgorithm, SignatureScheme};

    const RSA: KeyInfo = KeyInfo {
        algorithm: KeyAlgorithm::Rsa,
        bits: 2048,
    };

    #[test]
    fn the_checks_and_the_chunks() {
        let alg = SignatureAlgorithm::RSA_PKCS1_SHA256;
        assert!(matches!(
            DigestBatch::new(&RSA, alg, &[]),
            Err(Error::InvalidArgument { .. })
        ));
        let mixed = [
            HashAlgorithm::Sha256.digest(b"a"),
            HashAlgorithm::Sha384.digest(b"b"),
        ];
        assert!(matches!(
            DigestBatch::new(&RSA, alg, &mixed),
            Err(Error::InvalidArgument { .. })
        ));
        let ecdsa = SignatureAlgorithm::new(SignatureScheme::Ecdsa, HashAlgorithm::Sha256);
        let five: Vec<Digest> = (0..5u8).map(|i| HashAlgorithm::Sha256.digest(&[i])).collect();
        assert!(matches!(
            DigestBatch::new(&RSA, ecdsa, &five),
            Err(Error::Unsupported { .. })
        ));
        let batch = DigestBatch::new(&RSA, alg, &five).unwrap();
        let sizes: Vec<usize> = batch.chunks(2).map(|c| c.len()).collect();
        assert_eq!(sizes, [2, 2, 1]);
        let again: Vec<&Digest> = batch.chunks(2).flat_map(|c| c.digests()).collect();
        assert_eq!(again, five.iter().collect::<Vec<_>>());
        assert!(batch.chunks(0).all(|c| c.len() == 1 && c.algorithm() == alg));
    }
}
