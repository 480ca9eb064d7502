//! Fuzz target `pkcs12`: see [`crpki_fuzz::pkcs12`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crpki_fuzz::pkcs12(data));
