#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rsipvsadm::fuzzing::dest_reply(data));
