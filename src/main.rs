//! The `rsipvsadm` binary: everything is in the library; this only wires it to the process.
//!
//! `no_main`: the C runtime calls `main` directly, skipping Rust's runtime setup (stack
//! guard discovery, signal handlers), which is most of what starting the program costs,
//! and a single command is mostly start-up. SIGPIPE keeps its default action, as for
//! ipvsadm: a closed pipe ends the program quietly. (The test harness brings its own
//! `main`, hence the `cfg`s.)
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    rsipvsadm::cli::run()
}
