//! Detached CMS SignedData: built through any [`crate::RemoteSigner`], and verified.
