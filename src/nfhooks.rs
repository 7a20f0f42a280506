//! Whether IPVS may hold IPv6 services in the calling thread's network namespace, learnt
//! from the netfilter hooks it registered (nfnetlink_hook, Linux 5.14+).
//!
//! Why: IPVS's `getsockopt()` interface lists IPv4 services only and counts only them, so
//! it can stand in for the quadratic netlink service dump only when there are no IPv6
//! ones. IPVS registers a family's hooks with that family's first service and removes them
//! with its last (`ip_vs_add_service`/`ip_vs_del_service`, "register hooks only with
//! services", 5.x), in each namespace. No IPv6 hook of IPVS: no IPv6 service (fwmark
//! services of family inet6 included). Anything unclear (no nfnetlink_hook, an error, a
//! hook without a name) answers "maybe".

use std::io;
use std::os::fd::AsRawFd;

use crate::netlink::message::{NLM_F_DUMP, NLM_F_REQUEST, NLMSG_HDRLEN, NlMsgIter, Reply};
use crate::netlink::nla::NlaIter;
use crate::netlink::socket::open_raw_socket;

/// `include/uapi/linux/netfilter/nfnetlink.h`, `nfnetlink_hook.h`, `netfilter.h`.
const NETLINK_NETFILTER: libc::c_int = 12;
const NFNL_SUBSYS_HOOK: u16 = 12;
const NFNL_MSG_HOOK_GET: u16 = 0;
const NFPROTO_IPV6: u8 = 10;
const NF_INET_LOCAL_IN: u32 = 1;
const NFNLA_HOOK_HOOKNUM: u16 = 1;
const NFNLA_HOOK_FUNCTION_NAME: u16 = 4;
const NFNLA_HOOK_MODULE_NAME: u16 = 5;
/// `struct nfgenmsg`: family, version, resource id.
const NFGENMSG_LEN: usize = 4;

/// `Ok(false)` only when the kernel showed every IPv6 LOCAL_IN hook of the namespace with
/// its name and none is IPVS's (it registers two there for IPv6 services).
pub fn ipvs_may_have_ipv6_services() -> io::Result<bool> {
    if !nfnetlink_hook_available() {
        return Err(io::Error::from(io::ErrorKind::Unsupported));
    }
    let hooks = ipv6_local_in_hooks()?;
    Ok(hooks.iter().any(|hook| hook.may_be_ipvs()))
}

/// Whether asking can work: nfnetlink_hook is loaded or there to load. Asked without it,
/// the kernel runs modprobe for it on every call (Debian's 6.1 kernels do not build it).
fn nfnetlink_hook_available() -> bool {
    if std::path::Path::new("/sys/module/nfnetlink_hook").exists() {
        return true;
    }
    let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else {
        return false;
    };
    let dir = format!(
        "/lib/modules/{}/kernel/net/netfilter/nfnetlink_hook.ko",
        release.trim_end()
    );
    ["", ".xz", ".zst", ".gz"]
        .iter()
        .any(|ext| std::path::Path::new(&format!("{dir}{ext}")).exists())
}

/// One hook as nfnetlink_hook names it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Hook {
    function: Option<String>,
    module: Option<String>,
}

impl Hook {
    fn may_be_ipvs(&self) -> bool {
        match (&self.function, &self.module) {
            (_, Some(module)) => module == "ip_vs",
            // Built in: IPVS's hook functions are all `ip_vs_*`.
            (Some(function), None) => function.starts_with("ip_vs_"),
            (None, None) => true,
        }
    }
}

fn ipv6_local_in_hooks() -> io::Result<Vec<Hook>> {
    let fd = open_raw_socket(libc::AF_NETLINK, NETLINK_NETFILTER)?;
    let request = dump_request();
    // SAFETY: the buffer is valid for its length; an unbound netlink socket sends to the
    // kernel.
    let sent = unsafe { libc::send(fd.as_raw_fd(), request.as_ptr().cast(), request.len(), 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut hooks = Vec::new();
    let mut buf = vec![0u8; 32 << 10];
    loop {
        // SAFETY: buf is valid for its length.
        let got = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if got < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        if got == 0 {
            return Err(io::Error::other("nfnetlink closed before the dump's end"));
        }
        for msg in NlMsgIter::new(&buf[..got as usize]) {
            let msg = msg.map_err(io::Error::other)?;
            match Reply::classify(msg).map_err(io::Error::other)? {
                Reply::Data(data) => hooks.push(parse_hook(data.payload)?),
                Reply::Done { .. } => return Ok(hooks),
                Reply::Error { errno, .. } => return Err(io::Error::from_raw_os_error(errno)),
                Reply::Ack { .. } | Reply::Ignored => {}
            }
        }
    }
}

/// NFNL_MSG_HOOK_GET of the IPv6 LOCAL_IN hooks, as a dump.
fn dump_request() -> Vec<u8> {
    let len = NLMSG_HDRLEN + NFGENMSG_LEN + 8;
    let mut msg = Vec::with_capacity(len);
    msg.extend_from_slice(&(len as u32).to_ne_bytes());
    msg.extend_from_slice(&((NFNL_SUBSYS_HOOK << 8) | NFNL_MSG_HOOK_GET).to_ne_bytes());
    msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    msg.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    msg.extend_from_slice(&[NFPROTO_IPV6, 0, 0, 0]); // NFNETLINK_V0, resource 0
    msg.extend_from_slice(&8u16.to_ne_bytes());
    msg.extend_from_slice(&NFNLA_HOOK_HOOKNUM.to_ne_bytes());
    msg.extend_from_slice(&NF_INET_LOCAL_IN.to_be_bytes());
    msg
}

fn parse_hook(payload: &[u8]) -> io::Result<Hook> {
    let attrs = payload
        .get(NFGENMSG_LEN..)
        .ok_or_else(|| io::Error::other("hook message without nfgenmsg"))?;
    let mut hook = Hook::default();
    for attr in NlaIter::new(attrs) {
        let (kind, value) = attr.map_err(io::Error::other)?;
        let text = || {
            let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
            String::from_utf8_lossy(&value[..end]).into_owned()
        };
        match kind {
            NFNLA_HOOK_FUNCTION_NAME => hook.function = Some(text()),
            NFNLA_HOOK_MODULE_NAME => hook.module = Some(text()),
            _ => {}
        }
    }
    Ok(hook)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(function: Option<&str>, module: Option<&str>) -> Hook {
        Hook {
            function: function.map(str::to_owned),
            module: module.map(str::to_owned),
        }
    }

    #[test]
    fn only_named_hooks_of_others_prove_ipvs_absent() {
        assert!(hook(Some("ip_vs_reply6"), Some("ip_vs")).may_be_ipvs());
        assert!(hook(Some("ip_vs_in_hook"), None).may_be_ipvs());
        assert!(hook(None, None).may_be_ipvs());
        assert!(!hook(Some("nft_do_chain_ipv6"), Some("nf_tables")).may_be_ipvs());
        assert!(!hook(Some("ipv6_conntrack_in"), Some("nf_conntrack")).may_be_ipvs());
        assert!(!hook(Some("ip_vs_like"), Some("other")).may_be_ipvs());
    }

    #[test]
    fn hook_message_parses_names() {
        // nfgenmsg, then NFNLA_HOOK_HOOKNUM, NFNLA_HOOK_PRIORITY, FUNCTION_NAME "ip_vs_reply6",
        // MODULE_NAME "ip_vs", as 6.1 sends them.
        let mut payload = vec![NFPROTO_IPV6, 0, 0, 0];
        payload.extend_from_slice(&[8, 0, 1, 0, 0, 0, 0, 1]);
        payload.extend_from_slice(&[8, 0, 2, 0, 0xff, 0xff, 0xff, 0x62]);
        payload.extend_from_slice(&[17, 0, 4, 0]);
        payload.extend_from_slice(b"ip_vs_reply6\0\0\0\0");
        payload.extend_from_slice(&[10, 0, 5, 0]);
        payload.extend_from_slice(b"ip_vs\0\0\0");
        assert_eq!(
            parse_hook(&payload).unwrap(),
            hook(Some("ip_vs_reply6"), Some("ip_vs"))
        );
    }

    #[test]
    fn request_asks_for_ipv6_local_in() {
        let msg = dump_request();
        assert_eq!(msg.len(), 28);
        assert_eq!(&msg[4..6], &0x0c00u16.to_ne_bytes());
        assert_eq!(msg[16], NFPROTO_IPV6);
        assert_eq!(&msg[24..28], &[0, 0, 0, 1]);
    }
}
