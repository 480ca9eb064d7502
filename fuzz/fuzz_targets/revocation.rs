//! Fuzz target `revocation`: see [`crpki_fuzz::revocation`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crpki_fuzz::revocation(data));
