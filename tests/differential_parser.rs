//! Host-side unit tests of the differential harness (case-file parser, comparison and
//! line diff): the same modules as tests/differential, which itself needs the VM.

#[path = "common/mod.rs"]
mod common;

#[path = "differential/case_file.rs"]
mod case_file;

#[path = "differential/compare.rs"]
mod compare;
