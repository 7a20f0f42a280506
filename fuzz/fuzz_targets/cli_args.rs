#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rsipvsadm::fuzzing::cli_args(data));
