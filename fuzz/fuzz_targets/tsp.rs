//! Fuzz target `tsp`: see [`crpki_fuzz::tsp`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crpki_fuzz::tsp(data));
