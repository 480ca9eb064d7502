//! Fuzz target `csc_replies`: see [`crpki_fuzz::csc_replies`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crpki_fuzz::csc_replies(data));
