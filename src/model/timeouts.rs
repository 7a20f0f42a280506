/// The connection timeouts of `--set tcp tcpfin udp`, in seconds. When setting, 0 leaves
/// a value unchanged; a fresh namespace has 900, 120 and 300.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}
