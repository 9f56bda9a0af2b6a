#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| palisade_fuzz::targets::csp_source::run(data));
