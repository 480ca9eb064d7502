//! Cloud Signature Consortium API: request and response types (v2, and v1.0.4.0 compatibility).
//!
//! [`types`] holds the JSON bodies of every method as they travel on the
//! wire; the sandbox server and the CSC client share them.

pub mod types;

pub use types::ErrorBody;
