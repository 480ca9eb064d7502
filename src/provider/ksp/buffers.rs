//! The buffers the KSP lends its caller until `FreeBuffer`
//! (`NCryptKeyName`, `NCryptAlgorithmName[]`, `EnumKeys` states), and the
//! builder of their C structures.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Mutex, PoisonError};

use super::format::utf16z;
use crate::error::Error;
use crate::provider::error::ProviderError;
use crate::provider::handle::Handle;
use crate::signer::KeyAlgorithm;

/// What a handed-out buffer is.
enum Allocation {
    /// Structures and strings (`NCryptKeyName`, `NCryptAlgorithmName[]`).
    Block(#[allow(dead_code)] Vec<u64>),
    /// The state of an `EnumKeys` run.
    EnumState {
        _block: Vec<u64>,
        owner: Handle,
        names: Vec<(String, Option<KeyAlgorithm>)>,
        next: usize,
    },
}

/// Memory lent to the caller until `FreeBuffer`, by address.
#[derive(Default)]
pub(super) struct Buffers {
    live: Mutex<HashMap<usize, Allocation>>,
}

/// Builds C structures in one 8-byte aligned block: the fixed part, then
/// UTF-16 strings that the fixed part points to.
pub(super) struct BlockBuilder {
    words: Vec<u64>,
    base: usize,
    fixed: usize,
    next: usize,
}

impl BlockBuilder {
    pub(super) fn new(fixed_bytes: usize, strings: &[&str]) -> Self {
        let string_bytes: usize = strings.iter().map(|s| (s.encode_utf16().count() + 1) * 2).sum();
        let words = vec![0u64; (fixed_bytes + string_bytes).div_ceil(8).max(1)];
        let base = words.as_ptr() as usize;
        Self {
            words,
            base,
            fixed: fixed_bytes,
            next: fixed_bytes,
        }
    }

    fn put_bytes(&mut self, at: usize, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let pos = at + i;
            let shift = (pos % 8) * 8;
            self.words[pos / 8] |= u64::from(*b) << shift;
        }
    }

    pub(super) fn put_u32(&mut self, at: usize, v: u32) {
        self.put_bytes(at, &v.to_le_bytes());
    }

    /// Appends `s` after the fixed part and stores its address at `at`.
    pub(super) fn put_string(&mut self, at: usize, s: &str) {
        let bytes = utf16z(s);
        let start = self.next;
        self.put_bytes(start, &bytes);
        self.next += bytes.len();
        let addr = (self.base + start) as u64;
        self.put_bytes(at, &addr.to_le_bytes());
    }

    pub(super) fn finish(self) -> Vec<u64> {
        debug_assert!(self.next >= self.fixed);
        self.words
    }
}

impl Buffers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Allocation>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lends `words` out; returns the pointer the caller gets.
    pub(super) fn lend(&self, mut words: Vec<u64>) -> *mut c_void {
        let p = words.as_mut_ptr().cast::<c_void>();
        self.lock().insert(p as usize, Allocation::Block(words));
        p
    }

    pub(super) fn free(&self, p: usize) -> Result<(), ProviderError> {
        self.lock().remove(&p).map(drop).ok_or_else(|| {
            ProviderError::Crate(Error::invalid_argument(format!(
                "FreeBuffer({p:#x}): not a buffer this provider handed out, or already freed"
            )))
        })
    }

    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Lends a new `EnumKeys` state of provider handle `owner` over
    /// `names` (key name, algorithm when known); returns its pointer.
    pub(super) fn lend_enum_state(
        &self,
        owner: Handle,
        names: Vec<(String, Option<KeyAlgorithm>)>,
    ) -> *mut c_void {
        let mut block = vec![0u64];
        let state = block.as_mut_ptr().cast();
        self.lock().insert(
            state as usize,
            Allocation::EnumState {
                _block: block,
                owner,
                names,
                next: 0,
            },
        );
        state
    }

    /// The next key of the enumeration `state`, which `owner` must have
    /// made; `None` at the end. A state made by this very call
    /// (`created`) that is already at its end is taken back at once, so
    /// the caller never sees a state it could free.
    pub(super) fn next_key(
        &self,
        state: *mut c_void,
        owner: Handle,
        created: bool,
    ) -> Result<Option<(String, Option<KeyAlgorithm>)>, ProviderError> {
        let mut live = self.lock();
        let item = match live.get_mut(&(state as usize)) {
            Some(Allocation::EnumState {
                owner: o,
                names,
                next,
                ..
            }) if *o == owner => {
                let item = names.get(*next).cloned();
                *next += usize::from(item.is_some());
                item
            }
            _ => {
                return Err(Error::invalid_argument(
                    "EnumKeys: the enumeration state was not made by this provider handle",
                )
                .into());
            }
        };
        if item.is_none() && created {
            live.remove(&(state as usize));
        }
        Ok(item)
    }

    /// Takes back the enumeration states of provider handle `owner`.
    pub(super) fn free_enum_states(&self, owner: Handle) {
        self.lock()
            .retain(|_, a| !matches!(a, Allocation::EnumState { owner: o, .. } if *o == owner));
    }

    /// A copy of a lent block's words (tests read structures through it).
    #[cfg(test)]
    pub(super) fn words(&self, p: *mut c_void) -> Vec<u64> {
        match self.lock().get(&(p as usize)) {
            Some(Allocation::Block(w)) => w.clone(),
            _ => panic!("no such block"),
        }
    }
}
