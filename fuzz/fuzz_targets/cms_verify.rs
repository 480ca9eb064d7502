//! Fuzz target `cms_verify`: see [`crpki_fuzz::cms_verify`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crpki_fuzz::cms_verify(data));
