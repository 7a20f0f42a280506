//! The process's standard streams, used the way ipvsadm uses them.
//!
//! ipvsadm never checks what its `printf`s and `fprintf(stderr, ...)`s return: a full
//! disk, a closed pipe or a closed descriptor changes neither what it does nor its exit
//! status (`ipvsadm -R 2>/dev/full` still applies every rule). These writers do the same:
//! a failed write is ignored, never a panic (`eprint!` panics, which under `no_main`
//! aborts the process in the middle of a restore).

use std::fmt;
use std::io::{self, Write};

/// Writes bytes to stderr; a failure is ignored, as ipvsadm ignores it.
pub fn stderr_bytes(bytes: &[u8]) {
    let _ = io::stderr().lock().write_all(bytes);
}

/// Writes formatted text and a newline to stderr; a failure is ignored.
pub fn stderr_line(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// Writes bytes to stdout and flushes; a failure is ignored (`| head` is not an error).
pub fn stdout_bytes(bytes: &[u8]) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

/// `eprintln!` that never panics: see the module comment.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::console::stderr_line(format_args!($($arg)*))
    };
}
pub(crate) use errln;

/// Makes sure descriptors 0, 1 and 2 are open, on `/dev/null` if they were closed.
///
/// Otherwise the first descriptor the process opens (the netlink socket, a file NSS
/// reads) becomes its "stdin" or "stdout": `-R <&-` would read rules from the netlink
/// socket and wait forever. ipvsadm reads nothing from a closed stdin and writes nothing
/// to a closed stdout; `/dev/null` gives exactly that.
pub fn ensure_standard_descriptors() {
    for fd in 0..=2 {
        // SAFETY: F_GETFD only reads the descriptor's flags.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1
            && io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
        if !closed {
            continue;
        }
        // SAFETY: open(2) with a NUL-terminated path; the lowest free descriptor is `fd`,
        // since the ones below it are open by now.
        let opened = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        if opened >= 0 && opened != fd {
            // SAFETY: plain descriptor operations on descriptors this function owns.
            unsafe {
                libc::dup2(opened, fd);
                libc::close(opened);
            }
        }
    }
}
