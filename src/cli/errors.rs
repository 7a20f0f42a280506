//! The messages ipvsadm prints for a refused kernel request: they depend on the errno and
//! on the last library operation started (shared/ipvsadm-behaviour.md §8.2).

use nix::errno::Errno;

use crate::model::Request;

/// The library operations whose refusals have messages of their own. ipvsadm keeps the
/// last one started across `-R` lines; flush, get-info and the whole-table dump do not
/// change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Operation {
    #[default]
    Init,
    AddService,
    EditService,
    DeleteService,
    Zero,
    AddDest,
    EditDest,
    DeleteDest,
    StartDaemon,
    StopDaemon,
    GetDests,
    GetService,
    SetTimeouts,
    GetTimeouts,
    GetDaemons,
}

impl Operation {
    /// The operation whose messages fit a request; `None` for a flush (ipvsadm's
    /// messages after `-C` are those of whatever ran before).
    pub fn of(request: &Request) -> Option<Operation> {
        Some(match request {
            Request::AddService(_) => Operation::AddService,
            Request::EditService(_) => Operation::EditService,
            Request::DelService(_) => Operation::DeleteService,
            Request::AddDest(..) => Operation::AddDest,
            Request::EditDest(..) => Operation::EditDest,
            Request::DelDest(..) => Operation::DeleteDest,
            Request::Zero(_) => Operation::Zero,
            Request::SetTimeouts(_) => Operation::SetTimeouts,
            Request::StartDaemon(_) => Operation::StartDaemon,
            Request::StopDaemon(_) => Operation::StopDaemon,
            Request::Flush => return None,
        })
    }
}

/// ipvsadm's text for `errno` after `op`.
pub fn kernel_message(op: Operation, errno: Errno) -> String {
    use Errno::*;
    use Operation::*;
    let specific = match (op, errno) {
        (AddService, EEXIST) => Some("Service already exists"),
        (AddService | EditService, ENOENT) => Some("Scheduler or persistence engine not found"),
        (EditService | DeleteService | Zero | GetDests | GetService, ESRCH) => {
            Some("No such service")
        }
        (AddDest | EditDest | DeleteDest, ESRCH) => Some("Service not defined"),
        (AddDest, EEXIST) => Some("Destination already exists"),
        (EditDest | DeleteDest, ENOENT) => Some("No such destination"),
        (StartDaemon, EEXIST) => Some("Daemon has already run"),
        (StopDaemon, ESRCH) => Some("No daemon is running"),
        _ => None,
    };
    let generic = match errno {
        EPERM => Some("Permission denied (you must be root)"),
        EINVAL => {
            Some("Invalid operation.  Possibly wrong module version, address not unicast, ...")
        }
        ENOPROTOOPT => Some("Protocol not available"),
        ENOMEM => Some("Memory allocation problem"),
        EOPNOTSUPP => Some("Operation not supported with IPv6"),
        EAFNOSUPPORT => Some("Operation not supported with specified address family"),
        EMSGSIZE => Some("Module is wrong version"),
        _ => None,
    };
    specific
        .or(generic)
        .map(str::to_string)
        .unwrap_or_else(|| strerror(errno))
}

/// The C library's text for an errno, as ipvsadm's `strerror()` fallback prints it.
pub fn strerror(errno: Errno) -> String {
    // SAFETY: strerror returns a pointer to a NUL-terminated string that stays valid
    // until the next call; it is copied at once.
    unsafe { std::ffi::CStr::from_ptr(libc::strerror(errno as i32)) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_specific_texts_win_over_generic_ones() {
        assert_eq!(
            kernel_message(Operation::AddService, Errno::EEXIST),
            "Service already exists"
        );
        assert_eq!(
            kernel_message(Operation::AddDest, Errno::ESRCH),
            "Service not defined"
        );
        assert_eq!(
            kernel_message(Operation::DeleteDest, Errno::ENOENT),
            "No such destination"
        );
        assert_eq!(
            kernel_message(Operation::Init, Errno::ENOENT),
            "No such file or directory"
        );
        assert_eq!(
            kernel_message(Operation::AddDest, Errno::ERANGE),
            "Numerical result out of range"
        );
        assert!(kernel_message(Operation::Zero, Errno::EINVAL).starts_with("Invalid operation.  "));
    }
}
