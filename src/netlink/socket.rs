//! One generic netlink socket: family resolution, acknowledged requests, dumps that span
//! many datagrams, and batches of many requests per `sendmsg()`.
//!
//! Changes go as batches, even a single one, and rely on two kernel facts (see
//! shared/kernel-genl.md §4): the kernel processes a whole `sendmsg()` synchronously before
//! it returns, and a failing message always gets an error reply. So no change asks for an
//! ACK; a sentinel `NLMSG_NOOP` with NLM_F_ACK closes the batch, and once its ACK is read
//! every error of the batch has been read too. A missing ACK means the kernel stopped early.
//! Acking the changes themselves would not do: a handler that returns -EINTR (6.1's
//! stop_sync_thread() when the daemon thread never ran) gets no reply at all, and a
//! requester waiting for one would wait forever.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use super::ctrl::{CTRL_CMD_GETFAMILY, CTRL_VERSION, CtrlAttr, GENL_ID_CTRL};
use super::message::{
    GenlMessage, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_HDRLEN, NlMsgIter,
    Reply,
};
use super::nla::{Nla, ParseNla, TooLarge};
use crate::error::{Error, Result};

/// Attempts at a read-only request or dump whose reply did not fit the receive buffer
/// (each attempt with a larger buffer).
const MAX_TRUNCATED_ATTEMPTS: u32 = 8;
/// Ceilings asked for with the FORCE options; the kernel doubles them. Memory is only
/// used while replies are queued.
const SEND_BUF_WANTED: usize = 4 << 20;
const RECV_BUF_WANTED: usize = 8 << 20;
/// Receive-buffer cost budgeted per reply a batch may get back (an error costs ~800 bytes).
const RECV_COST_PER_REPLY: usize = 2048;
/// Upper bound of messages per `sendmsg()`, to keep each kernel pass short.
const MAX_BATCH_MESSAGES: usize = 8192;
const MAX_DUMP_ATTEMPTS: u32 = 10;
/// A receive this large makes the kernel build dump chunks of its largest size (32 KiB).
const LARGE_CHUNK_RECV: usize = 64 << 10;

/// What one receive gave.
enum Received {
    /// A datagram of this many bytes, in the receive buffer.
    Datagram(usize),
    /// A datagram larger than the receive buffer: its content is lost, the buffer has
    /// grown to hold the next one of that size.
    Truncated,
    /// Nothing queued (non-blocking receives only).
    Nothing,
}

/// How reading the replies to one request ended.
enum Outcome {
    /// Read to the end; a dump the kernel marked as interrupted says so.
    Complete { interrupted: bool },
    /// A reply did not fit the receive buffer (which has grown): ask again.
    Truncated,
}

/// The receive length offered at first. The kernel sizes each dump chunk after the
/// largest length ever offered on the socket, but never below NLMSG_GOODSIZE (a page
/// less overhead, capped at 8 KiB less overhead). One 4 KiB page keeps each chunk one
/// page (offering 32 KiB made the kernel allocate that much per destination dump, most
/// of a listing's kernel time); where pages are larger (arm64 and ppc64le kernels with
/// 64 KiB pages), the smallest chunk is about 7.8 KiB, so 8 KiB is offered there.
/// Larger replies are still read: see [`Received::Truncated`].
fn initial_recv_len() -> usize {
    // SAFETY: sysconf has no memory effects.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 4096 { 8192 } else { 4096 }
}

/// Requests emitted back to back for [`GenlSocket::send_batch`]: a few bytes each where
/// the typed messages they come from hold a list per attribute, so a batch of tens of
/// thousands stays small. Sequence numbers are set when sent.
pub struct EncodedBatch {
    family: u16,
    bytes: Vec<u8>,
    /// Where each message ends in `bytes`; where the one before ends for one that
    /// netlink cannot carry (nothing emitted).
    ends: Vec<usize>,
}

impl EncodedBatch {
    pub fn new(family: u16) -> Self {
        EncodedBatch {
            family,
            bytes: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Appends a request; one netlink cannot carry takes no bytes, is refused with
    /// EMSGSIZE when the batch is sent, and is an error here.
    pub fn push<A: Nla>(&mut self, msg: &GenlMessage<A>) -> Result<(), TooLarge> {
        let emitted = msg.emit(&mut self.bytes, self.family, NLM_F_REQUEST, 0);
        self.ends.push(self.bytes.len());
        emitted
    }

    /// [`EncodedBatch::push`] of a request, written without building its message first
    /// (see [`crate::model::Request::emit`]).
    pub fn push_request(&mut self, request: &crate::model::Request) -> Result<(), TooLarge> {
        let emitted = request.emit(&mut self.bytes, self.family, NLM_F_REQUEST, 0);
        self.ends.push(self.bytes.len());
        emitted
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn start_of(&self, index: usize) -> usize {
        if index == 0 { 0 } else { self.ends[index - 1] }
    }

    /// Sets the sequence number of message `index`; false if it has no bytes.
    fn set_seq(&mut self, index: usize, seq: u32) -> bool {
        let start = self.start_of(index);
        if start == self.ends[index] {
            return false;
        }
        // nlmsg_seq: after the length, type and flags of `struct nlmsghdr`.
        self.bytes[start + 8..start + 12].copy_from_slice(&seq.to_ne_bytes());
        true
    }
}

/// A generic netlink socket bound to the network namespace it was created in.
pub struct GenlSocket {
    sock: NetlinkFd,
    seq: u32,
    rx: Vec<u8>,
    /// What is being sent, kept to be used again.
    tx: Vec<u8>,
    max_batch_bytes: usize,
    max_batch_messages: usize,
}

impl GenlSocket {
    pub fn connect() -> Result<Self> {
        let sock = NetlinkFd::open()?;
        let fd = sock.as_raw_fd();
        // Errors come back with the request header only, and never-used extended acks are
        // free; both options may be missing on old kernels, which only costs bytes.
        let _ = set_int_opt(fd, libc::SOL_NETLINK, libc::NETLINK_CAP_ACK, 1);
        let _ = set_int_opt(fd, libc::SOL_NETLINK, libc::NETLINK_EXT_ACK, 1);
        let sndbuf = grow_buffer(fd, libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, SEND_BUF_WANTED)?;
        let rcvbuf = grow_buffer(fd, libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, RECV_BUF_WANTED)?;
        Ok(GenlSocket {
            sock,
            seq: 1,
            rx: vec![0; initial_recv_len()],
            tx: Vec::new(),
            // netlink_sendmsg() refuses more than sk_sndbuf - 32 bytes.
            max_batch_bytes: sndbuf.saturating_sub(4096).max(4096),
            max_batch_messages: (rcvbuf / RECV_COST_PER_REPLY).clamp(1, MAX_BATCH_MESSAGES),
        })
    }

    /// Caps the messages per `sendmsg()` (the default follows the receive buffer).
    pub fn limit_batch_messages(&mut self, messages: usize) {
        self.max_batch_messages = messages.clamp(1, self.max_batch_messages);
    }

    /// Sets the socket's receive buffer to `bytes` (the kernel doubles it and keeps a
    /// minimum) and leaves the batch size as it is, so that replies a batch causes can
    /// overrun it: they are then reported lost ([`Error::RepliesLost`]). For fault tests.
    pub fn set_receive_buffer(&mut self, bytes: usize) -> io::Result<()> {
        let bytes = i32::try_from(bytes).unwrap_or(i32::MAX);
        set_int_opt(
            self.sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            bytes,
        )
    }

    /// The length offered to each receive (at least 4 KiB). The kernel sizes dump chunks
    /// after the largest length ever offered on the socket, so a larger one means fewer,
    /// larger chunks. Replies larger than this are read all the same (the length grows).
    pub fn set_recv_len(&mut self, len: usize) {
        self.rx.resize(len.max(4096), 0);
    }

    /// The length offered to each receive now.
    pub fn recv_len(&self) -> usize {
        self.rx.len()
    }

    /// Looks a family up by name; `None` when the kernel does not know it.
    pub fn resolve_family(&mut self, name: &str) -> Result<Option<u16>> {
        let msg = GenlMessage::new(
            CTRL_CMD_GETFAMILY,
            CTRL_VERSION,
            vec![CtrlAttr::FamilyName(name.to_string())],
        );
        let replies = match self.request::<_, CtrlAttr>(GENL_ID_CTRL, &msg) {
            Ok(replies) => replies,
            Err(Error::Kernel(Errno::ENOENT)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let id = replies
            .iter()
            .flat_map(|reply| &reply.attrs)
            .find_map(|attr| match attr {
                CtrlAttr::FamilyId(id) => Some(*id),
                _ => None,
            });
        Ok(Some(id.ok_or_else(|| {
            super::DecodeError::new("CTRL_CMD_GETFAMILY reply without a family id")
        })?))
    }

    fn next_seq(&mut self, count: u32) -> u32 {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(count);
        seq
    }

    fn send(&self, buf: &[u8]) -> Result<()> {
        let sent = self.sock.send(buf)?;
        if sent != buf.len() {
            return Err(Error::Io(io::Error::other(format!(
                "netlink sendmsg sent {sent} of {} bytes",
                buf.len()
            ))));
        }
        Ok(())
    }

    /// Receives one datagram into `self.rx`.
    ///
    /// A datagram larger than the buffer is lost (MSG_TRUNC tells its size), and the
    /// buffer grows for the next one. Whatever the request that caused it still has to
    /// say is queued by then (the kernel runs a request inside `sendmsg()` and fills the
    /// next dump chunk inside each `recvmsg()`), so its caller reads the rest without
    /// waiting, then asks again.
    fn recv(&mut self, nonblocking: bool) -> Result<Received> {
        let mut flags = libc::MSG_TRUNC;
        if nonblocking {
            flags |= libc::MSG_DONTWAIT;
        }
        loop {
            return match self.sock.recv(&mut self.rx[..], flags) {
                Ok(len) if len > self.rx.len() => {
                    let grown = len.max(2 * self.rx.len()).next_multiple_of(4096);
                    self.rx.resize(grown, 0);
                    Ok(Received::Truncated)
                }
                Ok(len) => Ok(Received::Datagram(len)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Received::Nothing),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => Err(Error::RepliesLost),
                Err(e) => Err(Error::Io(e)),
            };
        }
    }

    /// Sends one request with NLM_F_ACK and returns its data replies, or the kernel's errno.
    /// For requests that change nothing (GET commands, family lookups): a reply too large
    /// for the receive buffer is asked for again.
    pub fn request<A: Nla, R: ParseNla>(
        &mut self,
        family: u16,
        msg: &GenlMessage<A>,
    ) -> Result<Vec<GenlMessage<R>>> {
        for _ in 0..MAX_TRUNCATED_ATTEMPTS {
            let seq = self.send_one(family, msg, NLM_F_REQUEST | NLM_F_ACK)?;
            let mut replies = Vec::new();
            let outcome = self.read_replies(seq, &mut |payload| {
                replies.push(GenlMessage::parse(payload)?);
                Ok(())
            })?;
            if let Outcome::Complete { .. } = outcome {
                return Ok(replies);
            }
        }
        Err(reply_too_large())
    }

    /// Runs a dump and maps each entry through `f`. A dump the kernel marks as interrupted
    /// (NLM_F_DUMP_INTR) is started again. The dump is always read to its end, even after
    /// an error, so that the socket can start another one.
    pub fn dump<A: Nla, R: ParseNla, T>(
        &mut self,
        family: u16,
        msg: &GenlMessage<A>,
        mut f: impl FnMut(GenlMessage<R>) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.dump_payloads(family, msg, |payload| f(GenlMessage::parse(payload)?))
    }

    /// [`GenlSocket::dump`] handing `f` each entry's payload (generic netlink header and
    /// attributes) as the kernel sent it, for callers that parse without collecting.
    pub fn dump_payloads<A: Nla, T>(
        &mut self,
        family: u16,
        msg: &GenlMessage<A>,
        f: impl FnMut(&[u8]) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.dump_payloads_expecting(family, msg, 0, f)
    }

    /// [`GenlSocket::dump_payloads`] with room for `expected` entries from the start: a
    /// large dump's list then takes what it holds, not up to twice that.
    pub fn dump_payloads_expecting<A: Nla, T>(
        &mut self,
        family: u16,
        msg: &GenlMessage<A>,
        expected: usize,
        mut f: impl FnMut(&[u8]) -> Result<T>,
    ) -> Result<Vec<T>> {
        let (mut interruptions, mut truncations) = (0, 0);
        loop {
            let seq = self.send_one(family, msg, NLM_F_REQUEST | NLM_F_DUMP)?;
            let mut entries = Vec::with_capacity(expected);
            let outcome = self.read_replies(seq, &mut |payload| {
                entries.push(f(payload)?);
                Ok(())
            })?;
            match outcome {
                Outcome::Complete { interrupted: false } => return Ok(entries),
                Outcome::Complete { interrupted: true } => {
                    interruptions += 1;
                    if interruptions == MAX_DUMP_ATTEMPTS {
                        return Err(Error::DumpInterrupted(MAX_DUMP_ATTEMPTS));
                    }
                }
                // Read again from the start with the grown buffer.
                Outcome::Truncated => {
                    truncations += 1;
                    if truncations == MAX_TRUNCATED_ATTEMPTS {
                        return Err(reply_too_large());
                    }
                }
            }
        }
    }

    /// Makes the kernel build dump chunks of its largest size (32 KiB less overhead) from
    /// now on: it sizes them after the largest receive that returned data on the socket,
    /// so one round trip with a large receive buffer does it (shared/kernel-genl.md §3).
    pub fn prime_large_chunks(&mut self) -> Result<()> {
        if self.rx.len() < LARGE_CHUNK_RECV {
            self.rx.resize(LARGE_CHUNK_RECV, 0);
        }
        let seq = self.next_seq(1);
        let mut buf = std::mem::take(&mut self.tx);
        buf.clear();
        emit_sentinel(&mut buf, seq);
        let sent = self.send(&buf);
        self.tx = buf;
        sent?;
        self.read_replies(seq, &mut |_| Ok(()))?;
        Ok(())
    }

    /// Sends one message with a new sequence number; returns the number.
    fn send_one<A: Nla>(&mut self, family: u16, msg: &GenlMessage<A>, flags: u16) -> Result<u32> {
        let seq = self.next_seq(1);
        let mut buf = std::mem::take(&mut self.tx);
        buf.clear();
        let sent = msg
            .emit(&mut buf, family, flags, seq)
            .map_err(Error::from)
            .and_then(|()| self.send(&buf));
        self.tx = buf;
        sent.map(|()| seq)
    }

    /// Reads the replies to the request `seq` to their end (NLMSG_DONE or the ACK), handing
    /// each data reply's payload to `on_data`; the kernel's error ends them with its errno.
    /// A failure of `on_data` is returned once everything is read, so that the socket stays
    /// usable. After a reply too large for the buffer the rest is read without waiting
    /// (see [`GenlSocket::recv`]) and the outcome says to ask again.
    fn read_replies(
        &mut self,
        seq: u32,
        on_data: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<Outcome> {
        let mut failure: Option<Error> = None;
        let (mut interrupted, mut truncated) = (false, false);
        'replies: loop {
            let len = match self.recv(truncated)? {
                Received::Datagram(len) => len,
                Received::Truncated => {
                    truncated = true;
                    continue;
                }
                Received::Nothing => break, // the end was in the lost datagram
            };
            for raw in NlMsgIter::new(&self.rx[..len]) {
                let raw = raw?;
                if raw.seq != seq {
                    continue; // a late reply to an earlier, abandoned request
                }
                interrupted |= raw.flags & NLM_F_DUMP_INTR != 0;
                match Reply::classify(raw)? {
                    Reply::Data(data) if failure.is_none() && !truncated => {
                        if let Err(e) = on_data(data.payload) {
                            failure = Some(e);
                        }
                    }
                    Reply::Data(_) | Reply::Ignored => {}
                    Reply::Done { .. } | Reply::Ack { .. } => break 'replies,
                    Reply::Error { errno, .. } => {
                        // A request that failed has nothing more to read.
                        return Err(failure.unwrap_or(Error::Kernel(Errno::from_raw(errno))));
                    }
                }
            }
        }
        match (failure, truncated) {
            (Some(e), _) => Err(e),
            (None, true) => Ok(Outcome::Truncated),
            (None, false) => Ok(Outcome::Complete { interrupted }),
        }
    }

    /// Sends many requests, as few `sendmsg()` calls as the buffers allow, and returns
    /// each request's outcome in order: `None` for success, or the kernel's errno.
    pub fn batch<A: Nla>(
        &mut self,
        family: u16,
        msgs: &[GenlMessage<A>],
    ) -> Result<Vec<Option<Errno>>> {
        let mut encoded = EncodedBatch::new(family);
        for msg in msgs {
            // Refused with EMSGSIZE when sent.
            let _ = encoded.push(msg);
        }
        self.send_batch(&mut encoded)
    }

    /// [`GenlSocket::batch`] of messages already encoded.
    pub fn send_batch(&mut self, batch: &mut EncodedBatch) -> Result<Vec<Option<Errno>>> {
        let mut outcomes = vec![None; batch.len()];
        let mut buf = std::mem::take(&mut self.tx);
        let sent = self.send_chunks(batch, &mut outcomes, &mut buf);
        self.tx = buf;
        sent.map(|()| outcomes)
    }

    /// [`GenlSocket::send_batch`]'s chunks, each copied into `buf` with its sentinel.
    fn send_chunks(
        &mut self,
        batch: &mut EncodedBatch,
        outcomes: &mut [Option<Errno>],
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let mut start = 0;
        while start < batch.len() {
            let base = self.seq;
            let first_byte = batch.start_of(start);
            let mut end = start;
            while end < batch.len()
                && end - start < self.max_batch_messages
                && (end == start || batch.ends[end] - first_byte <= self.max_batch_bytes)
            {
                let seq = base.wrapping_add((end - start) as u32);
                if !batch.set_seq(end, seq) {
                    // Netlink cannot carry it: refused on its own, as the kernel would
                    // refuse an oversized message, and never sent.
                    outcomes[end] = Some(Errno::EMSGSIZE);
                }
                end += 1;
            }
            let count = (end - start) as u32;
            let sentinel = base.wrapping_add(count);
            self.next_seq(count + 1);
            buf.clear();
            buf.extend_from_slice(&batch.bytes[first_byte..batch.ends[end - 1]]);
            emit_sentinel(buf, sentinel);
            self.send(buf)?;
            self.collect_batch_errors(base, count, sentinel, &mut outcomes[start..end])?;
            start = end;
        }
        Ok(())
    }

    fn collect_batch_errors(
        &mut self,
        base: u32,
        count: u32,
        sentinel: u32,
        outcomes: &mut [Option<Errno>],
    ) -> Result<()> {
        loop {
            // Everything is queued by the time sendmsg() returns: never wait.
            let len = match self.recv(true)? {
                Received::Datagram(len) => len,
                Received::Nothing => return Err(Error::BatchIncomplete),
                // Error replies carry the request's header only (NETLINK_CAP_ACK); one
                // that did not fit is a lost outcome all the same.
                Received::Truncated => return Err(Error::RepliesLost),
            };
            let mut closed = false;
            for raw in NlMsgIter::new(&self.rx[..len]) {
                let raw = raw?;
                let index = raw.seq.wrapping_sub(base);
                match Reply::classify(raw)? {
                    Reply::Error { errno, .. } if index < count => {
                        outcomes[index as usize] = Some(Errno::from_raw(errno));
                    }
                    Reply::Ack { seq } if seq == sentinel => closed = true,
                    _ => {}
                }
            }
            if closed {
                return Ok(());
            }
        }
    }
}

fn reply_too_large() -> Error {
    Error::Io(io::Error::other(
        "a netlink reply kept growing larger than the receive buffer",
    ))
}

/// A bound `NETLINK_GENERIC` socket: the four system calls this client makes on it, with
/// the descriptor closed on drop.
struct NetlinkFd(OwnedFd);

impl NetlinkFd {
    /// A new socket, bound to a port id the kernel picks, in no multicast group.
    fn open() -> io::Result<NetlinkFd> {
        let sock = NetlinkFd(open_raw_socket(libc::AF_NETLINK, libc::NETLINK_GENERIC)?);
        // SAFETY: sockaddr_nl is plain data, for which all zeros is valid (port id 0:
        // the kernel picks one; groups 0: none).
        let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: a pointer to a live sockaddr_nl and its size.
        let rc = unsafe {
            libc::bind(
                sock.as_raw_fd(),
                (&address as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(sock)
    }

    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// Sends `buf` as one datagram; returns the bytes sent.
    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: a pointer to `buf` and its length, read by the kernel during the call.
        let sent = unsafe { libc::send(self.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) };
        if sent < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(sent as usize)
        }
    }

    /// Receives one datagram into `buf`; returns its length, which with MSG_TRUNC is its
    /// full length even when larger than `buf`.
    fn recv(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
        // SAFETY: a pointer to `buf` and its length, written by the kernel during the call
        // (never beyond the length, whatever MSG_TRUNC reports).
        let len =
            unsafe { libc::recv(self.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) };
        if len < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(len as usize)
        }
    }
}

/// A new raw socket (close-on-exec) of `domain` and `protocol`, never on descriptor 0, 1
/// or 2 (see [`off_standard_descriptors`]): the netlink sockets and IPVS's `getsockopt()`
/// socket.
pub(crate) fn open_raw_socket(domain: libc::c_int, protocol: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket() takes no pointers.
    let fd = unsafe { libc::socket(domain, libc::SOCK_RAW | libc::SOCK_CLOEXEC, protocol) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    off_standard_descriptors(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Moves a socket off descriptors 0, 1 and 2: a process started with one of them closed
/// would otherwise read its standard input from the socket, or print into it.
fn off_standard_descriptors(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC duplicates a descriptor `fd` owns onto the lowest free one
    // from 3; the duplicate gets an owner of its own right away.
    let moved = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if moved < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `moved` is a new descriptor nothing else owns; `fd` closes the old one on drop.
    Ok(unsafe { OwnedFd::from_raw_fd(moved) })
}

/// A bare `NLMSG_NOOP` asking for an ACK: the kernel acks it without dispatching it.
fn emit_sentinel(buf: &mut Vec<u8>, seq: u32) {
    buf.extend_from_slice(&(NLMSG_HDRLEN as u32).to_ne_bytes());
    buf.extend_from_slice(&(libc::NLMSG_NOOP as u16).to_ne_bytes());
    buf.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
}

fn set_int_opt(fd: i32, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: a plain setsockopt with a pointer to a live c_int and its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn get_int_opt(fd: i32, level: i32, name: i32) -> io::Result<i32> {
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into a live c_int.
    let rc =
        unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut i32).cast(), &mut len) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(value)
    }
}

/// Raises a socket buffer with the FORCE option (needs CAP_NET_ADMIN, which IPVS needs
/// anyway), else as far as the plain option allows; returns the size in effect.
fn grow_buffer(fd: i32, force: i32, plain: i32, wanted: usize) -> io::Result<usize> {
    let wanted = i32::try_from(wanted).unwrap_or(i32::MAX);
    if set_int_opt(fd, libc::SOL_SOCKET, force, wanted).is_err() {
        let _ = set_int_opt(fd, libc::SOL_SOCKET, plain, wanted);
    }
    Ok(get_int_opt(fd, libc::SOL_SOCKET, plain)?.max(0) as usize)
}
