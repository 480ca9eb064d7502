//! A short-lived memory of recent signatures, keyed by (key, algorithm,
//! digest).
//!
//! Callers of the providers often ask for the same signature twice in a
//! row: the size-query-then-fill pattern done as two real signatures, and
//! Wine's `CryptSignMessage`, whose size query performs the whole signing.
//! With a remote key every signature costs a round trip and an
//! authorization, so the second request is answered from here. Entries live
//! a few seconds and the cache is small: it only bridges such pairs.
//!
//! Returning a remembered signature for the same digest and key is what the
//! signer would do anyway (PKCS#1 v1.5 is deterministic; a repeated PSS or
//! ECDSA signature is as valid as a fresh one).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::signer::SignatureAlgorithm;

/// How long a signature is remembered by default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);
/// How many signatures are remembered at most by default.
pub const DEFAULT_CAPACITY: usize = 32;

/// What a signature is remembered by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheKey {
    /// Identifies the key: the SHA-256 fingerprint of its certificate.
    pub key_id: [u8; 32],
    /// The signature algorithm.
    pub algorithm: SignatureAlgorithm,
    /// The signed digest.
    pub digest: Vec<u8>,
}

struct Entry {
    key: CacheKey,
    signature: Vec<u8>,
    at: Instant,
}

type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The cache. Cheap to share behind the provider's state.
pub struct SignatureCache {
    ttl: Duration,
    capacity: usize,
    clock: Clock,
    entries: Mutex<VecDeque<Entry>>,
}

crate::crypto::debug_fields!(SignatureCache { ttl, capacity, .. });

impl Default for SignatureCache {
    fn default() -> Self {
        Self::new(DEFAULT_TTL, DEFAULT_CAPACITY)
    }
}

impl SignatureCache {
    /// A cache remembering at most `capacity` signatures for `ttl` each
    /// (`capacity` 0 remembers nothing).
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self::with_clock(ttl, capacity, Arc::new(Instant::now))
    }

    /// The same with a clock of the caller's (tests).
    pub fn with_clock(ttl: Duration, capacity: usize, clock: Clock) -> Self {
        Self {
            ttl,
            capacity,
            clock,
            entries: Mutex::new(VecDeque::with_capacity(capacity)),
        }
    }

    fn fresh(&self, entry: &Entry, now: Instant) -> bool {
        now.checked_duration_since(entry.at)
            .is_some_and(|age| age < self.ttl)
    }

    /// The remembered signature for `key`, if still fresh.
    pub fn get(&self, key: &CacheKey) -> Option<Vec<u8>> {
        let now = (self.clock)();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| self.fresh(e, now));
        entries
            .iter()
            .find(|e| e.key == *key)
            .map(|e| e.signature.clone())
    }

    /// Remembers `signature` for `key`, forgetting the oldest entry when full.
    pub fn put(&self, key: CacheKey, signature: Vec<u8>) {
        if self.capacity == 0 {
            return;
        }
        let now = (self.clock)();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| self.fresh(e, now) && e.key != key);
        while entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back(Entry {
            key,
            signature,
            at: now,
        });
    }

    /// Forgets every signature of the key `key_id` (a logout: what was
    /// signed before it is not answered again after it).
    pub fn forget_key(&self, key_id: &[u8; 32]) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|e| e.key.key_id != *key_id);
    }

    /// How many signatures are remembered (fresh or not yet swept).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> CacheKey {
        CacheKey {
            key_id: [1; 32],
            algorithm: SignatureAlgorithm::RSA_PKCS1_SHA256,
            digest: vec![n; 32],
        }
    }

    fn fake_clock() -> (Arc<Mutex<Instant>>, Clock) {
        let now = Arc::new(Mutex::new(Instant::now()));
        let n = now.clone();
        (now, Arc::new(move || *n.lock().unwrap()))
    }

    #[test]
    fn remembers_for_the_ttl_only() {
        let (now, clock) = fake_clock();
        let c = SignatureCache::with_clock(Duration::from_secs(5), 4, clock);
        assert_eq!(c.get(&key(1)), None);
        c.put(key(1), vec![9, 9]);
        assert_eq!(c.get(&key(1)), Some(vec![9, 9]));
        assert_eq!(c.get(&key(2)), None);
        *now.lock().unwrap() += Duration::from_secs(4);
        assert_eq!(c.get(&key(1)), Some(vec![9, 9]));
        *now.lock().unwrap() += Duration::from_secs(1);
        assert_eq!(c.get(&key(1)), None);
        assert!(c.is_empty());
    }

    #[test]
    fn key_algorithm_and_digest_all_count() {
        let (_, clock) = fake_clock();
        let c = SignatureCache::with_clock(Duration::from_secs(5), 4, clock);
        c.put(key(1), vec![1]);
        let mut other_key = key(1);
        other_key.key_id = [2; 32];
        assert_eq!(c.get(&other_key), None);
        let mut other_alg = key(1);
        other_alg.algorithm = SignatureAlgorithm::new(
            crate::signer::SignatureScheme::RsaPkcs1v15,
            crate::signer::HashAlgorithm::Sha384,
        );
        assert_eq!(c.get(&other_alg), None);
        // The same key again replaces the entry.
        c.put(key(1), vec![2]);
        assert_eq!(c.get(&key(1)), Some(vec![2]));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn a_logout_forgets_the_key_only() {
        let (_, clock) = fake_clock();
        let c = SignatureCache::with_clock(Duration::from_secs(5), 4, clock);
        let mut other = key(1);
        other.key_id = [2; 32];
        c.put(key(1), vec![1]);
        c.put(key(2), vec![2]);
        c.put(other.clone(), vec![3]);
        c.forget_key(&[1; 32]);
        assert_eq!(c.get(&key(1)), None);
        assert_eq!(c.get(&key(2)), None);
        assert_eq!(c.get(&other), Some(vec![3]));
    }

    #[test]
    fn bounded_oldest_goes_first() {
        let (_, clock) = fake_clock();
        let c = SignatureCache::with_clock(Duration::from_secs(5), 3, clock);
        for n in 0..5 {
            c.put(key(n), vec![n]);
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(&key(0)), None);
        assert_eq!(c.get(&key(1)), None);
        assert_eq!(c.get(&key(4)), Some(vec![4]));
        let none = SignatureCache::new(DEFAULT_TTL, 0);
        none.put(key(1), vec![1]);
        assert_eq!(none.get(&key(1)), None);
    }
}
