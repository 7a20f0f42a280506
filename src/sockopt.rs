//! IPVS's older interface, `getsockopt()` on a raw IPv4 socket, read for what it does in
//! linear time: every IPv4 service in one call (`IP_VS_SO_GET_SERVICES`) and a service's
//! real servers in one call each (`IP_VS_SO_GET_DESTS`), with no dump to resume.
//!
//! Measured in the VM (Debian 6.1 under emulation, loaded host, 2026-11-26): 30,000
//! services x 1 in 0.2-0.8 s and 100,000 x 2 in 1.4-9 s, against 6.5 s and 75 s for
//! the lower-bound probe's netlink listing in the same run (the service dump walks the
//! table from its start for every chunk; this walks it once).
//!
//! What it does not give: IPv6 services (nor IPv6 real servers of IPv4 services: they
//! are left out, and counted), engines (`--pe`), tunnel settings, 64-bit packet
//! counters. `IP_VS_SO_GET_INFO` counts IPv4 services only, on every kernel, so it cannot
//! tell whether IPv6 services exist: a caller that needs the whole table learns that
//! elsewhere (see [`crate::listing`]).

use std::io;
use std::mem::{offset_of, size_of};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, OwnedFd};

use crate::netlink::socket::open_raw_socket;

use crate::model::{
    DestObserved, Destination, FwdMethod, Netmask, Protocol, RealServer, Service, ServiceFlags,
    ServiceKey, ServiceObserved, Stats,
};

/// `IP_VS_BASE_CTL` and the commands read here (`include/uapi/linux/ip_vs.h`).
const IP_VS_BASE_CTL: libc::c_int = 64 + 1024 + 64;
const IP_VS_SO_GET_INFO: libc::c_int = IP_VS_BASE_CTL + 1;
const IP_VS_SO_GET_SERVICES: libc::c_int = IP_VS_BASE_CTL + 2;
const IP_VS_SO_GET_DESTS: libc::c_int = IP_VS_BASE_CTL + 4;

/// `struct ip_vs_getinfo`.
#[repr(C)]
#[derive(Default)]
struct GetInfo {
    version: u32,
    size: u32,
    num_services: u32,
}

/// `struct ip_vs_stats_user`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct StatsUser {
    conns: u32,
    inpkts: u32,
    outpkts: u32,
    inbytes: u64,
    outbytes: u64,
    cps: u32,
    inpps: u32,
    outpps: u32,
    inbps: u32,
    outbps: u32,
}

/// `struct ip_vs_service_entry`.
#[repr(C)]
#[derive(Clone, Copy)]
struct ServiceEntry {
    protocol: u16,
    /// Network order, as all addresses and ports here: read with `to_ne_bytes`.
    addr: u32,
    port: u16,
    fwmark: u32,
    sched_name: [u8; 16],
    flags: u32,
    timeout: u32,
    netmask: u32,
    num_dests: u32,
    stats: StatsUser,
}

/// `struct ip_vs_get_services` without its entries.
#[repr(C)]
struct GetServices {
    num_services: u32,
    entrytable: [ServiceEntry; 0],
}

/// `struct ip_vs_dest_entry`.
#[repr(C)]
#[derive(Clone, Copy)]
struct DestEntry {
    addr: u32,
    port: u16,
    conn_flags: u32,
    weight: i32,
    u_threshold: u32,
    l_threshold: u32,
    activeconns: u32,
    inactconns: u32,
    persistconns: u32,
    stats: StatsUser,
}

/// `struct ip_vs_get_dests` without its entries.
#[repr(C)]
struct GetDests {
    protocol: u16,
    addr: u32,
    port: u16,
    fwmark: u32,
    num_dests: u32,
    entrytable: [DestEntry; 0],
}

// The kernel's layout on 64-bit Linux (pahole of 6.1's structs); repr(C) follows the C
// ABI of any target, these only catch a field typed wrong.
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<StatsUser>() == 56);
    assert!(size_of::<ServiceEntry>() == 104);
    assert!(size_of::<DestEntry>() == 96);
    assert!(size_of::<GetDests>() == 24);
    assert!(offset_of!(ServiceEntry, addr) == 4);
    assert!(offset_of!(ServiceEntry, stats) == 48);
    assert!(offset_of!(DestEntry, conn_flags) == 8);
    assert!(offset_of!(DestEntry, stats) == 40);
    assert!(offset_of!(GetDests, fwmark) == 12);
    assert!(offset_of!(GetServices, entrytable) == 8);
    assert!(offset_of!(GetDests, entrytable) == 24);
};

/// An IPv4 service as this interface gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedService {
    pub service: Service,
    /// Flags and 32-bit counters (packet counts wrap at 2^32 here).
    pub observed: ServiceObserved,
    /// Every real server, IPv6 ones of a mixed service included.
    pub num_dests: u32,
}

/// A raw IPv4 socket of the caller's network namespace, for IPVS's `getsockopt()`s.
pub struct SockoptTable {
    fd: OwnedFd,
}

impl SockoptTable {
    /// Needs CAP_NET_RAW (root has it); the namespace is the calling thread's.
    pub fn open() -> io::Result<Self> {
        Ok(SockoptTable {
            fd: open_raw_socket(libc::AF_INET, libc::IPPROTO_RAW)?,
        })
    }

    /// How many IPv4 services there are (`IP_VS_SO_GET_INFO`'s count).
    pub fn ipv4_services(&self) -> io::Result<u32> {
        let mut info = GetInfo::default();
        self.get(IP_VS_SO_GET_INFO, as_bytes_mut(&mut info))?;
        Ok(info.num_services)
    }

    /// Every IPv4 service, in the kernel's order, from one walk of its table, handed out
    /// one at a time with their counters only if `counters`, so that a caller keeps what
    /// it needs of them and no more (the kernel's answer alone takes 104 bytes per
    /// service). `expected`: how many there are thought to be
    /// ([`SockoptTable::ipv4_services`]); `false` when more than that were found (some
    /// were added since: what was handed out is then not all).
    pub fn each_service(
        &self,
        expected: u32,
        counters: bool,
        mut each: impl FnMut(ListedService),
    ) -> io::Result<bool> {
        // One slot more than expected, to tell "all" from "as many as asked".
        let slots = expected as usize + 1;
        let mut buf = Buffer::new(
            offset_of!(GetServices, entrytable),
            size_of::<ServiceEntry>(),
            slots,
        );
        buf.header_u32(offset_of!(GetServices, num_services), slots as u32);
        self.get(IP_VS_SO_GET_SERVICES, buf.bytes_mut())?;
        for i in 0..slots {
            // SAFETY: the slot is inside the buffer and every bit pattern is a valid
            // ServiceEntry (integers and byte arrays only).
            let mut entry: ServiceEntry = unsafe { buf.entry(i) };
            // A service has a protocol or a mark; unfilled slots are zero.
            if entry.protocol == 0 && entry.fwmark == 0 {
                break;
            }
            if i == slots - 1 {
                return Ok(false);
            }
            if !counters {
                entry.stats = StatsUser::default();
            }
            each(listed_service(&entry));
            if i % 1024 == 1023 {
                buf.release_before(i + 1);
            }
        }
        Ok(true)
    }

    /// The IPv4 real servers of an IPv4 service, in the kernel's order, with their
    /// counters only if `counters`; `expected`: how many it has (the service's
    /// `num_dests`). `Ok(None)` when the service has more than that now (ask again with
    /// more), an error ESRCH when it is gone.
    pub fn dests(
        &self,
        key: &ServiceKey,
        expected: u32,
        counters: bool,
    ) -> io::Result<Option<Vec<RealServer>>> {
        let slots = expected as usize + 1;
        let mut buf = Buffer::new(
            offset_of!(GetDests, entrytable),
            size_of::<DestEntry>(),
            slots,
        );
        match *key {
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V4(addr),
                port,
            } => {
                buf.header_u16(offset_of!(GetDests, protocol), protocol.to_raw());
                buf.header_bytes(offset_of!(GetDests, addr), &addr.octets());
                buf.header_bytes(offset_of!(GetDests, port), &port.to_be_bytes());
            }
            ServiceKey::Fwmark { mark, .. } => buf.header_u32(offset_of!(GetDests, fwmark), mark),
            ServiceKey::Addr { .. } => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not an IPv4 service",
                ));
            }
        }
        buf.header_u32(offset_of!(GetDests, num_dests), slots as u32);
        self.get(IP_VS_SO_GET_DESTS, buf.bytes_mut())?;
        let mut dests = Vec::with_capacity(expected as usize);
        for i in 0..slots {
            // SAFETY: as in `each_service`.
            let mut entry: DestEntry = unsafe { buf.entry(i) };
            // A real server's address is a unicast or local one, never 0.0.0.0.
            if entry.addr == 0 {
                break;
            }
            if i == slots - 1 {
                return Ok(None);
            }
            if !counters {
                entry.stats = StatsUser::default();
            }
            dests.push(real_server(&entry)?);
        }
        Ok(Some(dests))
    }

    fn get(&self, command: libc::c_int, buf: &mut [u8]) -> io::Result<()> {
        let mut len = libc::socklen_t::try_from(buf.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "table too large"))?;
        // SAFETY: buf is valid for len bytes, and the kernel writes at most len.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::IPPROTO_IP,
                command,
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// A request header followed by `slots` entries, zeroed, 8-byte aligned.
struct Buffer {
    words: Vec<u64>,
    header: usize,
    entry: usize,
    len: usize,
}

impl Buffer {
    fn new(header: usize, entry: usize, slots: usize) -> Self {
        let len = header + entry * slots;
        Buffer {
            words: vec![0; len.div_ceil(8)],
            header,
            entry,
            len,
        }
    }

    /// Gives the kernel back the whole pages before slot `index`, read already: the
    /// answer for 100,000 services is 10 MB, held while the services are built from it
    /// (at apply's peak on 6.12). The pages then read as zeros; nothing reads them
    /// again. The page the buffer starts in, where the allocator keeps its header, is
    /// kept.
    fn release_before(&mut self, index: usize) {
        // SAFETY: sysconf has no preconditions.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            size if size > 0 => size as usize,
            _ => return,
        };
        let start = self.words.as_mut_ptr() as usize;
        let from = (start + 1).next_multiple_of(page);
        let to = (start + (self.header + index * self.entry).min(self.len)) / page * page;
        if to > from {
            // SAFETY: [from, to) is whole pages inside this buffer's own allocation
            // (after its first page), which is borrowed mutably here; MADV_DONTNEED
            // only makes them read as zeros.
            unsafe {
                libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED);
            }
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: the words cover at least len bytes; u8 has no alignment.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast(), self.len) }
    }

    fn header_bytes(&mut self, at: usize, bytes: &[u8]) {
        self.bytes_mut()[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn header_u16(&mut self, at: usize, value: u16) {
        self.header_bytes(at, &value.to_ne_bytes());
    }

    fn header_u32(&mut self, at: usize, value: u32) {
        self.header_bytes(at, &value.to_ne_bytes());
    }

    /// # Safety
    /// `T` must be the entry type (every bit pattern valid) and `index` a slot.
    unsafe fn entry<T: Copy>(&self, index: usize) -> T {
        let at = self.header + index * self.entry;
        assert!(at + size_of::<T>() <= self.len);
        // SAFETY: in bounds (checked); read_unaligned needs no alignment.
        unsafe {
            self.words
                .as_ptr()
                .cast::<u8>()
                .add(at)
                .cast::<T>()
                .read_unaligned()
        }
    }
}

fn as_bytes_mut(info: &mut GetInfo) -> &mut [u8] {
    // SAFETY: GetInfo is three u32s, no padding.
    unsafe { std::slice::from_raw_parts_mut((info as *mut GetInfo).cast(), size_of::<GetInfo>()) }
}

fn stats(user: &StatsUser) -> Stats {
    Stats {
        conns: user.conns.into(),
        inpkts: user.inpkts.into(),
        outpkts: user.outpkts.into(),
        inbytes: user.inbytes,
        outbytes: user.outbytes,
        cps: user.cps.into(),
        inpps: user.inpps.into(),
        outpps: user.outpps.into(),
        inbps: user.inbps.into(),
        outbps: user.outbps.into(),
    }
}

fn listed_service(entry: &ServiceEntry) -> ListedService {
    let key = if entry.fwmark != 0 {
        ServiceKey::fwmark(crate::model::AddressFamily::Inet, entry.fwmark)
    } else {
        ServiceKey::Addr {
            protocol: Protocol::from_raw(entry.protocol),
            addr: IpAddr::V4(Ipv4Addr::from(entry.addr.to_ne_bytes())),
            port: u16::from_be_bytes(entry.port.to_ne_bytes()),
        }
    };
    let name_len = entry.sched_name.iter().position(|&b| b == 0).unwrap_or(16);
    let scheduler = String::from_utf8_lossy(&entry.sched_name[..name_len]).into_owned();
    ListedService {
        service: Service {
            key,
            scheduler,
            flags: ServiceFlags(entry.flags & ServiceFlags::CONFIG),
            timeout: entry.timeout,
            netmask: Netmask::V4(Ipv4Addr::from(entry.netmask.to_ne_bytes())),
            pe_name: None,
        },
        observed: ServiceObserved {
            flags: ServiceFlags(entry.flags),
            stats: stats(&entry.stats).into(),
        },
        num_dests: entry.num_dests,
    }
}

fn real_server(entry: &DestEntry) -> io::Result<RealServer> {
    let fwd = FwdMethod::from_raw(entry.conn_flags).ok_or_else(|| {
        io::Error::other(format!(
            "unknown forwarding method in flags {:#x}",
            entry.conn_flags
        ))
    })?;
    let mut dest = Destination::new(
        IpAddr::V4(Ipv4Addr::from(entry.addr.to_ne_bytes())),
        u16::from_be_bytes(entry.port.to_ne_bytes()),
        fwd,
    );
    // The kernel keeps weights >= 0.
    dest.weight = entry.weight.max(0) as u32;
    dest.u_threshold = entry.u_threshold;
    dest.l_threshold = entry.l_threshold;
    Ok(RealServer {
        dest,
        observed: DestObserved {
            active_conns: entry.activeconns,
            inact_conns: entry.inactconns,
            persist_conns: entry.persistconns,
            stats: stats(&entry.stats).into(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_as_the_kernel_writes_them() {
        let mut buf = Buffer::new(offset_of!(GetDests, entrytable), size_of::<DestEntry>(), 2);
        let at = offset_of!(GetDests, entrytable);
        let bytes = buf.bytes_mut();
        bytes[at..at + 4].copy_from_slice(&[10, 0, 0, 2]);
        bytes[at + 4..at + 6].copy_from_slice(&80u16.to_be_bytes());
        bytes[at + 8..at + 12].copy_from_slice(&2u32.to_ne_bytes()); // tunnel
        bytes[at + 12..at + 16].copy_from_slice(&7i32.to_ne_bytes());
        bytes[at + 24..at + 28].copy_from_slice(&3u32.to_ne_bytes());
        // SAFETY: DestEntry slots of this buffer.
        let (first, second): (DestEntry, DestEntry) = unsafe { (buf.entry(0), buf.entry(1)) };
        let rs = real_server(&first).unwrap();
        assert_eq!(rs.dest.addr, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(rs.dest.port, 80);
        assert_eq!(rs.dest.fwd, FwdMethod::Tunnel);
        assert_eq!(rs.dest.weight, 7);
        assert_eq!(rs.observed.active_conns, 3);
        assert_eq!(second.addr, 0);
    }

    #[test]
    fn a_service_entry_becomes_the_model() {
        // SAFETY: integers and byte arrays only: zero is a valid ServiceEntry.
        let mut entry: ServiceEntry = unsafe { std::mem::zeroed() };
        entry.protocol = 6;
        entry.addr = u32::from_ne_bytes([10, 0, 0, 1]);
        entry.port = u16::from_ne_bytes(80u16.to_be_bytes());
        entry.sched_name[..3].copy_from_slice(b"wlc");
        entry.flags = ServiceFlags::PERSISTENT | ServiceFlags::HASHED;
        entry.timeout = 300;
        entry.netmask = u32::from_ne_bytes([255, 255, 255, 0]);
        entry.num_dests = 2;
        let listed = listed_service(&entry);
        let mut wanted =
            Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80), "wlc").persistent(300);
        wanted.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(listed.service, wanted);
        assert_eq!(
            listed.observed.flags.0,
            ServiceFlags::PERSISTENT | ServiceFlags::HASHED
        );
        assert_eq!(listed.num_dests, 2);
    }
}
