//! Fuzz target `cert`: see [`crpki_fuzz::cert`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crpki_fuzz::cert(data));
