//! ipvsadm's tables as data: the popt option table, the commands with their `cmdname`s,
//! the option bits with their `optname`s, and the command × option and tunnel-type ×
//! tunnel-option matrices (behaviour notes §3, §4, §5.1, §5.2).

use super::popt::{ArgKind, OptSpec};
use crate::model::TunnelType;

/// Every option of ipvsadm's popt table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opt {
    // Commands (and -h, -v).
    AddService,
    EditService,
    DeleteService,
    Clear,
    List,
    Zero,
    AddServer,
    EditServer,
    DeleteServer,
    Set,
    Help,
    Version,
    Restore,
    Save,
    StartDaemon,
    StopDaemon,
    // Options.
    TcpService,
    UdpService,
    SctpService,
    FwmarkService,
    Scheduler,
    Persistent,
    Netmask,
    RealServer,
    Masquerading,
    Ipip,
    Gatewaying,
    Weight,
    UThreshold,
    LThreshold,
    Numeric,
    Connection,
    McastInterface,
    SyncId,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
    // rsipvsadm's own: --test and --strict for -R, --json for -L.
    RestoreTest,
    RestoreStrict,
    Json,
}

const fn spec(long: &'static str, short: u8, arg: ArgKind, id: Opt) -> OptSpec<Opt> {
    OptSpec {
        long,
        short: if short == 0 { None } else { Some(short) },
        arg,
        id,
    }
}

use ArgKind::{None as Flag, Optional, Required as Value};

/// The popt table, in ipvsadm's order (the first match wins: `--list` is `-L`).
/// [`OPTIONS`]' short options, for the scanner.
pub static SHORT_OPTIONS: [u8; 256] = super::popt::short_index(OPTIONS);

pub const OPTIONS: &[OptSpec<Opt>] = &[
    spec("add-service", b'A', Flag, Opt::AddService),
    spec("edit-service", b'E', Flag, Opt::EditService),
    spec("delete-service", b'D', Flag, Opt::DeleteService),
    spec("clear", b'C', Flag, Opt::Clear),
    spec("list", b'L', Flag, Opt::List),
    spec("list", b'l', Flag, Opt::List),
    spec("zero", b'Z', Flag, Opt::Zero),
    spec("add-server", b'a', Flag, Opt::AddServer),
    spec("edit-server", b'e', Flag, Opt::EditServer),
    spec("delete-server", b'd', Flag, Opt::DeleteServer),
    spec("set", 0, Flag, Opt::Set),
    spec("help", b'h', Flag, Opt::Help),
    spec("version", b'v', Flag, Opt::Version),
    spec("restore", b'R', Flag, Opt::Restore),
    spec("save", b'S', Flag, Opt::Save),
    spec("start-daemon", 0, Value, Opt::StartDaemon),
    spec("stop-daemon", 0, Value, Opt::StopDaemon),
    spec("tcp-service", b't', Value, Opt::TcpService),
    spec("udp-service", b'u', Value, Opt::UdpService),
    spec("sctp-service", 0, Value, Opt::SctpService),
    spec("fwmark-service", b'f', Value, Opt::FwmarkService),
    spec("scheduler", b's', Value, Opt::Scheduler),
    spec("persistent", b'p', Optional, Opt::Persistent),
    spec("netmask", b'M', Value, Opt::Netmask),
    spec("real-server", b'r', Value, Opt::RealServer),
    spec("masquerading", b'm', Flag, Opt::Masquerading),
    spec("ipip", b'i', Flag, Opt::Ipip),
    spec("gatewaying", b'g', Flag, Opt::Gatewaying),
    spec("weight", b'w', Value, Opt::Weight),
    spec("u-threshold", b'x', Value, Opt::UThreshold),
    spec("l-threshold", b'y', Value, Opt::LThreshold),
    spec("numeric", b'n', Flag, Opt::Numeric),
    spec("connection", b'c', Flag, Opt::Connection),
    spec("mcast-interface", 0, Value, Opt::McastInterface),
    spec("syncid", 0, Value, Opt::SyncId),
    spec("timeout", 0, Flag, Opt::Timeout),
    spec("daemon", 0, Flag, Opt::Daemon),
    spec("stats", 0, Flag, Opt::Stats),
    spec("rate", 0, Flag, Opt::Rate),
    spec("thresholds", 0, Flag, Opt::Thresholds),
    spec("persistent-conn", 0, Flag, Opt::PersistentConn),
    spec("nosort", 0, Flag, Opt::NoSort),
    spec("sort", 0, Flag, Opt::Sort),
    spec("exact", b'X', Flag, Opt::Exact),
    spec("ipv6", b'6', Flag, Opt::Ipv6),
    spec("ops", b'o', Flag, Opt::Ops),
    spec("pe", 0, Value, Opt::Pe),
    spec("sched-flags", b'b', Value, Opt::SchedFlags),
    spec("mcast-group", 0, Value, Opt::McastGroup),
    spec("mcast-port", 0, Value, Opt::McastPort),
    spec("mcast-ttl", 0, Value, Opt::McastTtl),
    spec("sync-maxlen", 0, Value, Opt::SyncMaxlen),
    spec("tun-info", 0, Flag, Opt::TunInfo),
    spec("tun-type", 0, Value, Opt::TunType),
    spec("tun-port", 0, Value, Opt::TunPort),
    spec("tun-nocsum", 0, Flag, Opt::TunNocsum),
    spec("tun-csum", 0, Flag, Opt::TunCsum),
    spec("tun-remcsum", 0, Flag, Opt::TunRemcsum),
    spec("test", 0, Flag, Opt::RestoreTest),
    spec("strict", 0, Flag, Opt::RestoreStrict),
    spec("json", 0, Flag, Opt::Json),
];

/// The commands, in ipvsadm's order (the matrix rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Add,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    SetTimeout,
    StartDaemon,
    StopDaemon,
    Restore,
    Save,
    Zero,
}

impl Cmd {
    /// The command an option selects when it comes first (`-h`/`-v` excluded).
    pub fn of(opt: Opt) -> Option<Cmd> {
        Some(match opt {
            Opt::AddService => Cmd::Add,
            Opt::EditService => Cmd::Edit,
            Opt::DeleteService => Cmd::Del,
            Opt::Clear => Cmd::Flush,
            Opt::List => Cmd::List,
            Opt::Zero => Cmd::Zero,
            Opt::AddServer => Cmd::AddDest,
            Opt::EditServer => Cmd::EditDest,
            Opt::DeleteServer => Cmd::DelDest,
            Opt::Set => Cmd::SetTimeout,
            Opt::Restore => Cmd::Restore,
            Opt::Save => Cmd::Save,
            Opt::StartDaemon => Cmd::StartDaemon,
            Opt::StopDaemon => Cmd::StopDaemon,
            _ => return None,
        })
    }

    /// The word used in matrix messages.
    pub fn name(self) -> &'static str {
        match self {
            Cmd::Add => "add-service",
            Cmd::Edit => "edit-service",
            Cmd::Del => "delete-service",
            Cmd::Flush => "flush",
            Cmd::List => "list",
            Cmd::AddDest => "add-server",
            Cmd::DelDest => "delete-server",
            Cmd::EditDest => "edit-server",
            Cmd::SetTimeout => "set",
            Cmd::StartDaemon => "start-daemon",
            Cmd::StopDaemon => "stop-daemon",
            Cmd::Restore => "restore",
            Cmd::Save => "save",
            Cmd::Zero => "zero",
        }
    }

    /// This command's row of the matrix: one character per option bit, `+` required,
    /// `x` illegal, `1` at most one of these, `.` optional.
    const fn matrix_row(self) -> &'static [u8; OPT_BITS] {
        match self {
            Cmd::Add | Cmd::Edit => b"xx+...xxxxxxxxxxxxxxx...xxxxxxxxxxxxx",
            Cmd::Del => b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::List => b".11xxxxxxxxx11.......xxxxxxx.xxxxxxx.",
            Cmd::AddDest | Cmd::EditDest => b"xx+xxx+....xxxxxxxxxxxxxxxxxx.....xxx",
            Cmd::DelDest => b"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::StartDaemon => b"xxxxxxxxxxx.xxxxxxx.xxxx....xxxxxxxxx",
            Cmd::StopDaemon => b"xxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxx",
            Cmd::Save => b".xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::Zero => b"xx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::Flush | Cmd::SetTimeout => b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            // --test and --strict exclude each other.
            Cmd::Restore => b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx11x",
        }
    }
}

/// The tracked options, in bit order: the order the matrix is walked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Bit {
    Numeric,
    Connection,
    Service,
    Scheduler,
    Persistent,
    Netmask,
    Server,
    Forward,
    Weight,
    UThreshold,
    LThreshold,
    Mcast,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    SyncId,
    Exact,
    OnePacket,
    PersistenceEngine,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
    RestoreTest,
    RestoreStrict,
    Json,
}

/// ipvsadm's 34 option bits, then rsipvsadm's own.
pub const OPT_BITS: usize = 37;

/// `optname`s, indexed by bit.
const OPT_NAMES: [&str; OPT_BITS] = [
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "mcast-interface",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "syncid",
    "exact",
    "ops",
    "pe",
    "sched-flags",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "tun-info",
    "tun-type",
    "tun-port",
    "tun-nocsum",
    "tun-csum",
    "tun-remcsum",
    "test",
    "strict",
    "json",
];

impl Bit {
    pub fn mask(self) -> u64 {
        1 << self as u8
    }

    pub fn name(self) -> &'static str {
        OPT_NAMES[self as usize]
    }
}

/// The options seen so far, one bit each.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionSet(u64);

impl OptionSet {
    /// ipvsadm's `set_option`: a repeat is refused with the option's name.
    pub fn set(&mut self, bit: Bit) -> Result<(), String> {
        if self.has(bit) {
            return Err(format!("multiple '{}' options specified", bit.name()));
        }
        self.0 |= bit.mask();
        Ok(())
    }

    pub fn has(self, bit: Bit) -> bool {
        self.0 & bit.mask() != 0
    }

    pub fn any(self, bits: &[Bit]) -> bool {
        bits.iter().any(|&bit| self.has(bit))
    }
}

/// Walks one matrix row in bit order; `what` completes the messages ("'list' command").
fn check_row(
    row: &[u8],
    bits: impl IntoIterator<Item = usize>,
    options: OptionSet,
    what: impl Fn() -> String,
) -> Result<(), String> {
    let mut first_exclusive: Option<usize> = None;
    for (&rule, bit) in row.iter().zip(bits) {
        let present = options.0 & (1 << bit) != 0;
        let name = OPT_NAMES[bit];
        match (rule, present) {
            (b'+', false) => {
                return Err(format!(
                    "You need to supply the '{name}' option for the {}",
                    what()
                ));
            }
            (b'x', true) => {
                return Err(format!("Illegal '{name}' option with the {}", what()));
            }
            (b'1', true) => match first_exclusive {
                None => first_exclusive = Some(bit),
                Some(earlier) => {
                    let earlier = OPT_NAMES[earlier];
                    return Err(format!(
                        "The option '{name}' conflicts with the '{earlier}' option in the {}",
                        what()
                    ));
                }
            },
            _ => {}
        }
    }
    Ok(())
}

/// ipvsadm's `generic_opt_check` (§5.1).
pub fn check_command(cmd: Cmd, options: OptionSet) -> Result<(), String> {
    // Most commands pass: a few mask operations say so; the walk finds the first error.
    if ROW_MASKS[cmd as usize].passes(options) {
        return Ok(());
    }
    let what = || format!("'{}' command", cmd.name());
    check_row(cmd.matrix_row(), 0..OPT_BITS, options, what)
}

/// Every command's row as masks, indexed by the command.
const ROW_MASKS: [RowMasks; 14] = {
    use Cmd::*;
    let cmds = [
        Add,
        Edit,
        Del,
        Flush,
        List,
        AddDest,
        DelDest,
        EditDest,
        SetTimeout,
        StartDaemon,
        StopDaemon,
        Restore,
        Save,
        Zero,
    ];
    let mut masks = [const { RowMasks::of(b".....................................") }; 14];
    let mut i = 0;
    while i < cmds.len() {
        assert!(cmds[i] as usize == i);
        masks[i] = RowMasks::of(cmds[i].matrix_row());
        i += 1;
    }
    masks
};

/// A matrix row as bit masks: options required (`+`), illegal (`x`) and exclusive (`1`).
struct RowMasks {
    required: u64,
    illegal: u64,
    exclusive: u64,
}

impl RowMasks {
    const fn of(row: &[u8; OPT_BITS]) -> RowMasks {
        let mut masks = RowMasks {
            required: 0,
            illegal: 0,
            exclusive: 0,
        };
        let mut bit = 0;
        while bit < OPT_BITS {
            match row[bit] {
                b'+' => masks.required |= 1 << bit,
                b'x' => masks.illegal |= 1 << bit,
                b'1' => masks.exclusive |= 1 << bit,
                _ => {}
            }
            bit += 1;
        }
        masks
    }

    /// Whether [`check_row`] finds nothing wrong with `options`.
    fn passes(&self, options: OptionSet) -> bool {
        options.0 & self.required == self.required
            && options.0 & self.illegal == 0
            && (options.0 & self.exclusive).count_ones() <= 1
    }
}

/// The tunnel-option columns of §5.2, in order.
const TUNNEL_OPTS: [Bit; 4] = [Bit::TunPort, Bit::TunNocsum, Bit::TunCsum, Bit::TunRemcsum];

/// ipvsadm's `tunnel_opt_check` (§5.2).
pub fn check_tunnel(tun_type: TunnelType, name: &str, options: OptionSet) -> Result<(), String> {
    let row: &[u8; 4] = match tun_type {
        TunnelType::Gue => b"+111",
        TunnelType::Gre => b"x11x",
        TunnelType::Ipip | TunnelType::Other(_) => b"xxxx",
    };
    let bits = TUNNEL_OPTS.map(|bit| bit as usize);
    check_row(row, bits, options, || format!("'{name}' tunnel type"))
}

#[cfg(test)]
mod row_mask_tests {
    use super::*;

    /// The masks answer as the walk does, for every command and many option sets (each
    /// command's own row bits, one and two at a time, and pseudo-random ones).
    #[test]
    fn masks_agree_with_the_walk() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut sets: Vec<u64> = (0..OPT_BITS).map(|b| 1 << b).collect();
        for a in 0..OPT_BITS {
            for b in 0..OPT_BITS {
                sets.push((1 << a) | (1 << b) | (1 << Bit::Service as u8));
            }
        }
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            sets.push(seed & ((1 << OPT_BITS) - 1) & (seed >> 5));
        }
        for (i, masks) in ROW_MASKS.iter().enumerate() {
            let row = [
                Cmd::Add,
                Cmd::Edit,
                Cmd::Del,
                Cmd::Flush,
                Cmd::List,
                Cmd::AddDest,
                Cmd::DelDest,
                Cmd::EditDest,
                Cmd::SetTimeout,
                Cmd::StartDaemon,
                Cmd::StopDaemon,
                Cmd::Restore,
                Cmd::Save,
                Cmd::Zero,
            ][i]
                .matrix_row();
            for &set in &sets {
                let walked = check_row(row, 0..OPT_BITS, OptionSet(set), String::new).is_ok();
                assert_eq!(
                    masks.passes(OptionSet(set)),
                    walked,
                    "row {i}, options {set:#x}"
                );
            }
        }
    }
}
