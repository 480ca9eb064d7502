//! Integer handles for the objects the providers hand out (contexts, keys,
//! hashes), so that no Rust pointer ever crosses the C ABI.
//!
//! A handle packs a magic byte with the object kind, a generation and a slot
//! index. Looking one up checks all three: null, a value we never issued,
//! a handle of another kind, and a handle whose object was destroyed (even
//! if its slot was reused since) each give a typed [`HandleError`], never
//! undefined behaviour. A slot whose generation counter is exhausted is
//! retired rather than reused, so an (index, generation) pair is never
//! issued twice.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What a handle designates. Shared by the CSP and the KSP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// A provider context (`HCRYPTPROV`, `NCRYPT_PROV_HANDLE`).
    Context,
    /// A key (`HCRYPTKEY`, `NCRYPT_KEY_HANDLE`).
    Key,
    /// A hash object (`HCRYPTHASH`).
    Hash,
}

impl ObjectKind {
    const fn tag(self) -> u64 {
        match self {
            Self::Context => 1,
            Self::Key => 2,
            Self::Hash => 3,
        }
    }

    fn from_tag(tag: u64) -> Option<Self> {
        match tag {
            1 => Some(Self::Context),
            2 => Some(Self::Key),
            3 => Some(Self::Hash),
            _ => None,
        }
    }

    /// A word for messages ("context", "key", "hash").
    pub const fn name(self) -> &'static str {
        match self {
            Self::Context => "context",
            Self::Key => "key",
            Self::Hash => "hash",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Layout of a handle, most significant bits first:
/// `[magic:4][kind:4][generation:24][index:32]`.
const MAGIC: u64 = 0xC;
const INDEX_BITS: u32 = 32;
const GENERATION_BITS: u32 = 24;
const MAX_GENERATION: u32 = (1 << GENERATION_BITS) - 1;

/// An opaque, non-zero handle value as handed to callers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handle(u64);

impl Handle {
    /// The value passed across the ABI (`HCRYPTPROV`, `HCRYPTKEY`, … are
    /// pointer-sized integers; the providers are built for 64-bit Windows).
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Wraps a value received from a caller; it is checked on lookup.
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    fn new(kind: ObjectKind, generation: u32, index: u32) -> Self {
        Self((MAGIC << 60) | (kind.tag() << 56) | (u64::from(generation) << INDEX_BITS) | u64::from(index))
    }

    fn parts(self) -> (u64, u64, u32, u32) {
        let magic = self.0 >> 60;
        let kind = (self.0 >> 56) & 0xF;
        let generation = ((self.0 >> INDEX_BITS) & u64::from(MAX_GENERATION)) as u32;
        let index = (self.0 & 0xFFFF_FFFF) as u32;
        (magic, kind, generation, index)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({:#x})", self.0)
    }
}

/// What is wrong with a handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandleProblem {
    /// Zero.
    Null,
    /// Not a value this provider issued.
    Foreign,
    /// A handle of another kind (a hash handle where a key was expected).
    WrongType(ObjectKind),
    /// The object was destroyed (or its context released).
    Stale,
    /// A live object that belongs to another context.
    OtherContext,
}

impl fmt::Display for HandleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Foreign => f.write_str("not issued by this provider"),
            Self::WrongType(k) => write!(f, "it is a {k} handle"),
            Self::Stale => f.write_str("already destroyed"),
            Self::OtherContext => f.write_str("it belongs to another context"),
        }
    }
}

/// A handle that does not designate a live object of the expected kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {expected} handle {raw:#x}: {problem}")]
pub struct HandleError {
    /// The kind the caller had to pass.
    pub expected: ObjectKind,
    /// What is wrong.
    pub problem: HandleProblem,
    /// The value received.
    pub raw: u64,
}

struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

struct Slots<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

/// A table of live objects of one kind, addressed by [`Handle`]s.
///
/// Values are usually `Arc`s: [`get`](Self::get) clones the value out and
/// releases the lock at once, so a long operation (a remote signature) on
/// one object never blocks calls on others.
pub struct HandleTable<T> {
    kind: ObjectKind,
    capacity: usize,
    inner: Mutex<Slots<T>>,
}

impl<T> fmt::Debug for HandleTable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandleTable")
            .field("kind", &self.kind)
            .field(
                "live",
                &self.inner.lock().unwrap_or_else(PoisonError::into_inner).live,
            )
            .finish()
    }
}

/// The table holds as many live objects as this by default: enough for any
/// real caller, small enough that a leaking caller gets an error instead of
/// exhausting the process's memory.
pub const DEFAULT_CAPACITY: usize = 1 << 20;

/// The table is full: too many objects are alive at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many {kind} objects are open at once ({capacity})")]
pub struct TableFull {
    /// The table's kind.
    pub kind: ObjectKind,
    /// Its capacity.
    pub capacity: usize,
}

impl<T: Clone> HandleTable<T> {
    /// An empty table for objects of `kind`.
    pub fn new(kind: ObjectKind) -> Self {
        Self::with_capacity(kind, DEFAULT_CAPACITY)
    }

    /// An empty table holding at most `capacity` live objects.
    pub fn with_capacity(kind: ObjectKind, capacity: usize) -> Self {
        Self {
            kind,
            capacity: capacity.min(u32::MAX as usize),
            inner: Mutex::new(Slots {
                slots: Vec::new(),
                free: Vec::new(),
                live: 0,
            }),
        }
    }

    /// The kind of object this table holds.
    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    fn lock(&self) -> MutexGuard<'_, Slots<T>> {
        // A panic elsewhere (caught at the export) must not make every later
        // call fail: the slots are always left consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores `value` and returns its new handle.
    pub fn insert(&self, value: T) -> Result<Handle, TableFull> {
        let mut s = self.lock();
        if s.live >= self.capacity {
            return Err(TableFull {
                kind: self.kind,
                capacity: self.capacity,
            });
        }
        let index = match s.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(s.slots.len()).map_err(|_| TableFull {
                    kind: self.kind,
                    capacity: self.capacity,
                })?;
                s.slots.push(Slot {
                    generation: 1,
                    value: None,
                });
                i
            }
        };
        let slot = &mut s.slots[index as usize];
        slot.value = Some(value);
        let generation = slot.generation;
        s.live += 1;
        Ok(Handle::new(self.kind, generation, index))
    }

    fn check(&self, s: &Slots<T>, handle: Handle) -> Result<usize, HandleError> {
        let err = |problem| HandleError {
            expected: self.kind,
            problem,
            raw: handle.raw(),
        };
        if handle.raw() == 0 {
            return Err(err(HandleProblem::Null));
        }
        let (magic, tag, generation, index) = handle.parts();
        if magic != MAGIC {
            return Err(err(HandleProblem::Foreign));
        }
        match ObjectKind::from_tag(tag) {
            None => return Err(err(HandleProblem::Foreign)),
            Some(k) if k != self.kind => return Err(err(HandleProblem::WrongType(k))),
            Some(_) => {}
        }
        match s.slots.get(index as usize) {
            // An index past the end was never issued by this table.
            None => Err(err(HandleProblem::Foreign)),
            Some(slot) if generation == 0 || generation > slot.generation => Err(err(HandleProblem::Foreign)),
            Some(slot) if slot.generation != generation || slot.value.is_none() => {
                Err(err(HandleProblem::Stale))
            }
            Some(_) => Ok(index as usize),
        }
    }

    /// A clone of the object behind `handle`.
    pub fn get(&self, handle: Handle) -> Result<T, HandleError> {
        let s = self.lock();
        let i = self.check(&s, handle)?;
        s.slots[i].value.clone().ok_or(HandleError {
            expected: self.kind,
            problem: HandleProblem::Stale,
            raw: handle.raw(),
        })
    }

    /// Removes the object behind `handle`; the handle is stale from now on.
    pub fn remove(&self, handle: Handle) -> Result<T, HandleError> {
        let mut s = self.lock();
        let i = self.check(&s, handle)?;
        Self::vacate(&mut s, i).ok_or(HandleError {
            expected: self.kind,
            problem: HandleProblem::Stale,
            raw: handle.raw(),
        })
    }

    fn vacate(s: &mut Slots<T>, i: usize) -> Option<T> {
        let slot = &mut s.slots[i];
        let value = slot.value.take()?;
        s.live -= 1;
        if slot.generation < MAX_GENERATION {
            slot.generation += 1;
            s.free.push(i as u32);
        }
        Some(value)
    }

    /// Removes every object for which `remove` says yes (the keys and
    /// hashes of a released context); returns how many.
    pub fn remove_where(&self, mut remove: impl FnMut(&T) -> bool) -> usize {
        let mut s = self.lock();
        let doomed: Vec<usize> = s
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.value.as_ref().is_some_and(&mut remove))
            .map(|(i, _)| i)
            .collect();
        for &i in &doomed {
            Self::vacate(&mut s, i);
        }
        doomed.len()
    }

    /// How many objects are alive.
    pub fn len(&self) -> usize {
        self.lock().live
    }

    /// Whether no object is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove() {
        let t = HandleTable::new(ObjectKind::Key);
        let a = t.insert("a").unwrap();
        let b = t.insert("b").unwrap();
        assert_ne!(a, b);
        assert_ne!(a.raw(), 0);
        assert_eq!(t.get(a).unwrap(), "a");
        assert_eq!(t.get(b).unwrap(), "b");
        assert_eq!(t.len(), 2);
        assert_eq!(t.remove(a).unwrap(), "a");
        assert_eq!(t.len(), 1);
        assert!(!t.is_empty());
    }

    #[test]
    fn stale_handle_stays_stale_after_slot_reuse() {
        let t = HandleTable::new(ObjectKind::Hash);
        let a = t.insert(1).unwrap();
        t.remove(a).unwrap();
        let e = t.get(a).unwrap_err();
        assert_eq!(e.problem, HandleProblem::Stale);
        assert_eq!(t.remove(a).unwrap_err().problem, HandleProblem::Stale);
        // The slot is reused with a new generation: the old handle stays dead.
        let b = t.insert(2).unwrap();
        assert_ne!(a, b);
        assert_eq!(t.get(a).unwrap_err().problem, HandleProblem::Stale);
        assert_eq!(t.get(b).unwrap(), 2);
    }

    #[test]
    fn null_foreign_and_wrong_type() {
        let keys = HandleTable::new(ObjectKind::Key);
        let hashes = HandleTable::new(ObjectKind::Hash);
        let k = keys.insert(()).unwrap();
        let h = hashes.insert(()).unwrap();

        let e = keys.get(Handle::from_raw(0)).unwrap_err();
        assert_eq!((e.problem, e.expected), (HandleProblem::Null, ObjectKind::Key));
        assert_eq!(
            keys.get(Handle::from_raw(0x1234)).unwrap_err().problem,
            HandleProblem::Foreign
        );
        // A pointer-looking value, as another provider would hand out.
        assert_eq!(
            keys.get(Handle::from_raw(0x0000_7ff6_1234_5678))
                .unwrap_err()
                .problem,
            HandleProblem::Foreign
        );
        assert_eq!(
            keys.get(h).unwrap_err().problem,
            HandleProblem::WrongType(ObjectKind::Hash)
        );
        assert_eq!(
            hashes.get(k).unwrap_err().problem,
            HandleProblem::WrongType(ObjectKind::Key)
        );
        // Right magic and kind, but an index or generation never issued.
        let forged = Handle::new(ObjectKind::Key, 1, 99);
        assert_eq!(keys.get(forged).unwrap_err().problem, HandleProblem::Foreign);
        let future = Handle::new(ObjectKind::Key, 7, 0);
        assert_eq!(keys.get(future).unwrap_err().problem, HandleProblem::Foreign);
        let unknown_kind = Handle::from_raw((MAGIC << 60) | (9 << 56) | (1 << 32));
        assert_eq!(
            keys.get(unknown_kind).unwrap_err().problem,
            HandleProblem::Foreign
        );
        // Messages name the problem.
        assert!(keys.get(h).unwrap_err().to_string().contains("hash handle"));
    }

    #[test]
    fn capacity_is_enforced() {
        let t = HandleTable::with_capacity(ObjectKind::Context, 2);
        let a = t.insert(1).unwrap();
        t.insert(2).unwrap();
        assert_eq!(t.insert(3).unwrap_err().capacity, 2);
        t.remove(a).unwrap();
        t.insert(3).unwrap();
    }

    #[test]
    fn remove_where_drops_children() {
        let t = HandleTable::new(ObjectKind::Key);
        let a = t.insert(1).unwrap();
        let b = t.insert(2).unwrap();
        let c = t.insert(1).unwrap();
        assert_eq!(t.remove_where(|v| *v == 1), 2);
        assert_eq!(t.get(a).unwrap_err().problem, HandleProblem::Stale);
        assert_eq!(t.get(c).unwrap_err().problem, HandleProblem::Stale);
        assert_eq!(t.get(b).unwrap(), 2);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn exhausted_generation_retires_the_slot() {
        let t = HandleTable::new(ObjectKind::Key);
        let a = t.insert(1).unwrap();
        t.lock().slots[0].generation = MAX_GENERATION;
        let a2 = Handle::new(ObjectKind::Key, MAX_GENERATION, 0);
        assert_eq!(t.get(a).unwrap_err().problem, HandleProblem::Stale);
        t.remove(a2).unwrap();
        let b = t.insert(2).unwrap();
        assert_ne!(b.parts().3, 0, "slot 0 is retired");
        assert_eq!(t.get(a2).unwrap_err().problem, HandleProblem::Stale);
    }

    #[test]
    fn concurrent_use() {
        let t = std::sync::Arc::new(HandleTable::new(ObjectKind::Hash));
        let threads: Vec<_> = (0..4)
            .map(|n| {
                let t = t.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        let h = t.insert(n * 1000 + i).unwrap();
                        assert_eq!(t.get(h).unwrap(), n * 1000 + i);
                        t.remove(h).unwrap();
                        assert!(t.get(h).is_err());
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        assert!(t.is_empty());
    }
}
