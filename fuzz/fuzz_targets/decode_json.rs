#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skills_fuzz::decode_json(data));
