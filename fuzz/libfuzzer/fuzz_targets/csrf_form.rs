#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| palisade_fuzz::targets::csrf_form::run(data));
