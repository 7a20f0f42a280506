//! `--netns NAME|PATH`: the whole command runs in another network namespace, as with
//! `ip -n NAME`. Unlike `ip netns exec`, nothing of `/etc/netns/NAME` is mounted over
//! `/etc`: names are looked up with the host's resolver (`-n` avoids lookups).
//!
//! The process joins the namespace before it opens anything: the netlink socket, the
//! threads started later and `/proc/net` (the view of the thread that asks: the main
//! thread, which joined) all belong to it then.

use std::ffi::OsStr;
use std::fmt;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sched::{CloneFlags, setns};

/// Where `ip netns add NAME` puts its namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// A namespace as the user named it: a name under [`NETNS_RUN_DIR`], or a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Netns {
    /// As given, for messages.
    pub given: String,
    pub path: PathBuf,
    pub by_name: bool,
}

impl Netns {
    /// NAME as `ip netns` names it, or PATH (anything with a `/`: `/proc/PID/ns/net`,
    /// `./ns`).
    pub fn new(given: &OsStr) -> Result<Self, NetnsError> {
        let shown = given.to_string_lossy().into_owned();
        let bytes = given.as_bytes();
        if bytes.is_empty() {
            return Err(NetnsError::Empty);
        }
        let by_name = !bytes.contains(&b'/');
        // `ip netns` refuses the names `.` and `..` too: they are not namespaces.
        if by_name && (bytes == b"." || bytes == b"..") {
            return Err(NetnsError::BadName(shown));
        }
        let path = if by_name {
            Path::new(NETNS_RUN_DIR).join(given)
        } else {
            PathBuf::from(given)
        };
        Ok(Netns {
            given: shown,
            path,
            by_name,
        })
    }

    /// Moves the calling thread (and so the threads and processes it starts later) into
    /// the namespace.
    pub fn enter(&self) -> Result<(), NetnsError> {
        let file = std::fs::File::open(&self.path).map_err(|e| self.open_error(e))?;
        setns(file.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|errno| match errno {
            Errno::EINVAL => NetnsError::NotANamespace(self.clone()),
            Errno::EPERM => NetnsError::NotAllowed(self.clone()),
            other => NetnsError::Other(self.clone(), other.desc().to_string()),
        })
    }

    fn open_error(&self, e: std::io::Error) -> NetnsError {
        match e.kind() {
            std::io::ErrorKind::NotFound => NetnsError::Missing(self.clone()),
            std::io::ErrorKind::PermissionDenied => NetnsError::NotAllowed(self.clone()),
            _ => NetnsError::Other(self.clone(), e.to_string()),
        }
    }
}

impl fmt::Display for Netns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.by_name {
            write!(f, "network namespace \"{}\"", self.given)
        } else {
            write!(f, "network namespace file {}", self.given)
        }
    }
}

/// Why `--netns` failed; each text says what to do.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error(
        "--netns needs a namespace: a name as `ip netns list` shows it, or a file such \
         as /proc/PID/ns/net"
    )]
    Empty,
    #[error(
        "\"{0}\" cannot name a network namespace: give a name as `ip netns list` shows \
         it, or a file such as /proc/PID/ns/net"
    )]
    BadName(String),
    #[error("{} does not exist{}", .0, missing_hint(.0))]
    Missing(Netns),
    #[error(
        "{0} is not a network namespace: give a name as `ip netns list` shows it, or a \
         file such as /proc/PID/ns/net"
    )]
    NotANamespace(Netns),
    #[error("not allowed to enter {0}: run as root (entering a namespace needs CAP_SYS_ADMIN)")]
    NotAllowed(Netns),
    #[error("cannot enter {0}: {1}")]
    Other(Netns, String),
}

fn missing_hint(netns: &Netns) -> String {
    if netns.by_name {
        format!(
            " (no {}): `ip netns list` shows the names there are, `ip netns add {}` \
             creates it; a namespace without a name is given by a file such as \
             /proc/PID/ns/net",
            netns.path.display(),
            netns.given
        )
    } else {
        ": give a name as `ip netns list` shows it, or /proc/PID/ns/net of a process in \
         the namespace"
            .to_string()
    }
}

/// The `--netns` option at the start of a command line (`--netns NS` or `--netns=NS`):
/// the namespace given and the command line without it (`argv[0]` kept). `None` when
/// the command line does not start with it; `Some(Err(..))` when its value is missing.
pub fn take_option(
    argv: &[std::ffi::OsString],
) -> Option<(Option<&OsStr>, Vec<std::ffi::OsString>)> {
    let first = argv.get(1)?.as_bytes();
    let (value, used) = if first == b"--netns" {
        (argv.get(2).map(|v| v.as_os_str()), 3)
    } else if let Some(value) = first.strip_prefix(b"--netns=") {
        (Some(OsStr::from_bytes(value)), 2)
    } else {
        return None;
    };
    let mut rest = Vec::with_capacity(argv.len());
    rest.push(argv[0].clone());
    rest.extend(argv.iter().skip(used).cloned());
    Some((value, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn argv(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn names_and_paths() {
        let ns = Netns::new(OsStr::new("blue")).unwrap();
        assert!(ns.by_name);
        assert_eq!(ns.path, Path::new("/run/netns/blue"));
        let ns = Netns::new(OsStr::new("/proc/1/ns/net")).unwrap();
        assert!(!ns.by_name);
        assert_eq!(ns.path, Path::new("/proc/1/ns/net"));
        assert!(!Netns::new(OsStr::new("./ns")).unwrap().by_name);
        for bad in ["", ".", ".."] {
            assert!(Netns::new(OsStr::new(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_option_comes_first() {
        let given = argv(&["rsipvsadm", "--netns", "blue", "-Ln"]);
        let (value, rest) = take_option(&given).unwrap();
        assert_eq!(value, Some(OsStr::new("blue")));
        assert_eq!(rest, argv(&["rsipvsadm", "-Ln"]));
        let given = argv(&["ipvsadm", "--netns=/x/y", "apply", "f"]);
        let (value, rest) = take_option(&given).unwrap();
        assert_eq!(value, Some(OsStr::new("/x/y")));
        assert_eq!(rest, argv(&["ipvsadm", "apply", "f"]));
        let given = argv(&["rsipvsadm", "--netns"]);
        let (value, rest) = take_option(&given).unwrap();
        assert_eq!((value, rest), (None, argv(&["rsipvsadm"])));
        assert!(take_option(&argv(&["rsipvsadm", "-Ln", "--netns", "x"])).is_none());
        assert!(take_option(&argv(&["rsipvsadm"])).is_none());
    }

    #[test]
    fn a_missing_namespace_says_what_to_do() {
        let error = Netns::new(OsStr::new("no-such-ns-here"))
            .unwrap()
            .enter()
            .unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("network namespace \"no-such-ns-here\" does not exist"),
            "{text}"
        );
        assert!(text.contains("ip netns add no-such-ns-here"), "{text}");
        let error = Netns::new(OsStr::new("/nonexistent/ns"))
            .unwrap()
            .enter()
            .unwrap_err();
        assert!(matches!(error, NetnsError::Missing(_)), "{error}");
        // A file that is no namespace. (As non-root the refusal may come first.)
        let error = Netns::new(OsStr::new("/proc/self/status"))
            .unwrap()
            .enter()
            .unwrap_err();
        assert!(
            matches!(
                error,
                NetnsError::NotANamespace(_) | NetnsError::NotAllowed(_)
            ),
            "{error}"
        );
    }
}
