//! Cloud Signature Consortium API: request and response types (v2, and v1.0.4.0 compatibility).
