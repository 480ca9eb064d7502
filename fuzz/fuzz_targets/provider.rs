//! Fuzz target `provider`: see [`crpki_fuzz::provider`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crpki_fuzz::provider(data));
