//! Hash objects: a streaming hash the caller feeds, or a value the caller
//! sets, that is then signed or verified. Shared by the CSP's `HCRYPTHASH`
//! and anything else that hashes inside a provider.

use super::error::ProviderError;
use crate::signer::{Digest, HashAlgorithm, Hasher};

#[derive(Clone, Debug)]
enum State {
    Open(Hasher),
    Done(Digest),
}

/// A hash in progress, or finished.
///
/// Once its value has been read (or set by the caller, or signed) the
/// object is finished: more data is refused with
/// [`ProviderError::HashFinished`] and the value stays the same.
#[derive(Clone, Debug)]
pub struct HashObject {
    algorithm: HashAlgorithm,
    state: State,
}

impl HashObject {
    /// A new, empty hash.
    pub fn new(algorithm: HashAlgorithm) -> Self {
        Self {
            algorithm,
            state: State::Open(algorithm.hasher()),
        }
    }

    /// The hash algorithm.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// Whether the value is fixed.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// Adds data.
    pub fn update(&mut self, data: &[u8]) -> Result<(), ProviderError> {
        match &mut self.state {
            State::Open(h) => {
                h.update(data);
                Ok(())
            }
            State::Done(_) => Err(ProviderError::HashFinished),
        }
    }

    /// Replaces the value with one computed elsewhere (`HP_HASHVAL`).
    pub fn set_value(&mut self, value: &[u8]) -> Result<(), ProviderError> {
        let digest = Digest::new(self.algorithm, value).map_err(|_| {
            ProviderError::BadLength(format!(
                "a {} value is {} bytes, got {}",
                self.algorithm,
                self.algorithm.output_len(),
                value.len()
            ))
        })?;
        self.state = State::Done(digest);
        Ok(())
    }

    /// The value; finishes the hash.
    pub fn finish(&mut self) -> Digest {
        let digest = match std::mem::replace(&mut self.state, State::Open(self.algorithm.hasher())) {
            State::Open(h) => h.finish(),
            State::Done(d) => d,
        };
        self.state = State::Done(digest.clone());
        digest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_finishes() {
        for alg in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            let mut h = HashObject::new(alg);
            h.update(b"hello ").unwrap();
            h.update(b"world").unwrap();
            assert!(!h.is_finished());
            let d = h.finish();
            assert_eq!(d, alg.digest(b"hello world"));
            assert!(h.is_finished());
            assert_eq!(h.finish(), d, "reading twice gives the same value");
            assert!(matches!(h.update(b"x"), Err(ProviderError::HashFinished)));
        }
        let sha256_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let mut h = HashObject::new(HashAlgorithm::Sha256);
        h.update(b"abc").unwrap();
        assert_eq!(hex::encode(h.finish().as_bytes()), sha256_abc);
    }

    #[test]
    fn set_value_checks_the_length() {
        let mut h = HashObject::new(HashAlgorithm::Sha256);
        assert!(matches!(h.set_value(&[0; 31]), Err(ProviderError::BadLength(_))));
        assert!(!h.is_finished());
        h.set_value(&[7; 32]).unwrap();
        assert_eq!(h.finish().as_bytes(), &[7; 32]);
        assert!(matches!(h.update(b"x"), Err(ProviderError::HashFinished)));
    }

    #[test]
    fn clones_are_independent() {
        let mut a = HashObject::new(HashAlgorithm::Sha384);
        a.update(b"common ").unwrap();
        let mut b = a.clone();
        a.update(b"a").unwrap();
        b.update(b"b").unwrap();
        assert_eq!(a.finish(), HashAlgorithm::Sha384.digest(b"common a"));
        assert_eq!(b.finish(), HashAlgorithm::Sha384.digest(b"common b"));
    }
}
