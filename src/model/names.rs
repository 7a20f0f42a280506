//! The one table of names for protocols, forwarding methods, tunnel types and checksum
//! modes, scheduler flags, daemon states and schedulers: what ipvsadm's command line,
//! listings and rule files, the JSON document, the completions and the man page call them.

use super::{
    AddressFamily, DaemonState, FwdMethod, Protocol, Service, ServiceFlags, TunnelFlags, TunnelType,
};

/// A transport protocol of address-based services: its word in JSON (and ipvsadm's
/// port-name lookups), its listing label and its service option.
pub struct ProtocolName {
    pub protocol: Protocol,
    pub word: &'static str,
    pub label: &'static str,
    pub option: &'static str,
}

pub const PROTOCOLS: &[ProtocolName] = &[
    ProtocolName {
        protocol: Protocol::Tcp,
        word: "tcp",
        label: "TCP",
        option: "-t",
    },
    ProtocolName {
        protocol: Protocol::Udp,
        word: "udp",
        label: "UDP",
        option: "-u",
    },
    ProtocolName {
        protocol: Protocol::Sctp,
        word: "sctp",
        label: "SCTP",
        option: "--sctp-service",
    },
];

impl AddressFamily {
    /// `ipv4`, `ipv6`: the JSON document's word, and the metrics' `family` label.
    pub fn word(self) -> &'static str {
        match self {
            AddressFamily::Inet => "ipv4",
            AddressFamily::Inet6 => "ipv6",
        }
    }
}

impl Protocol {
    /// The names of TCP, UDP and SCTP; `None` for another protocol number.
    pub fn names(self) -> Option<&'static ProtocolName> {
        PROTOCOLS.iter().find(|p| p.protocol == self)
    }

    /// `tcp`, `udp`, `sctp`.
    pub fn from_word(word: &str) -> Option<Protocol> {
        PROTOCOLS
            .iter()
            .find(|p| p.word == word)
            .map(|p| p.protocol)
    }

    /// `TCP`, `UDP`, `SCTP`, as listings (and /proc/net/ip_vs) label them.
    pub fn from_label(label: &str) -> Option<Protocol> {
        PROTOCOLS
            .iter()
            .find(|p| p.label == label)
            .map(|p| p.protocol)
    }
}

/// A forwarding method: its JSON word, ipvsadm's Forward column and its rule switch.
pub struct FwdName {
    pub method: FwdMethod,
    pub word: &'static str,
    /// ipvsadm has no name for the bypass method and prints C's text for a null string.
    pub listed: &'static str,
    /// Local delivery saves as routing; bypass has no switch at all.
    pub switch: &'static str,
}

pub const FORWARDING: &[FwdName] = &[
    FwdName {
        method: FwdMethod::Masq,
        word: "masq",
        listed: "Masq",
        switch: "-m",
    },
    FwdName {
        method: FwdMethod::Local,
        word: "local",
        listed: "Local",
        switch: "-g",
    },
    FwdName {
        method: FwdMethod::Tunnel,
        word: "tunnel",
        listed: "Tunnel",
        switch: "-i",
    },
    FwdName {
        method: FwdMethod::Route,
        word: "route",
        listed: "Route",
        switch: "-g",
    },
    FwdName {
        method: FwdMethod::Bypass,
        word: "bypass",
        listed: "(null)",
        switch: "(null)",
    },
];

impl FwdMethod {
    pub fn names(self) -> &'static FwdName {
        FORWARDING
            .iter()
            .find(|f| f.method == self)
            .expect("every method is in FORWARDING")
    }

    pub fn from_word(word: &str) -> Option<FwdMethod> {
        FORWARDING.iter().find(|f| f.word == word).map(|f| f.method)
    }

    /// `Masq`, `Route`, ... as the Forward column (and /proc/net/ip_vs) shows it.
    pub fn from_listed(listed: &str) -> Option<FwdMethod> {
        FORWARDING
            .iter()
            .find(|f| f.listed == listed)
            .map(|f| f.method)
    }
}

/// The values of `--tun-type`, with what they mean.
pub const TUNNEL_TYPES: &[(TunnelType, &str, &str)] = &[
    (
        TunnelType::Ipip,
        "ipip",
        "IP in IP encapsulation (the default)",
    ),
    (TunnelType::Gue, "gue", "generic UDP encapsulation"),
    (TunnelType::Gre, "gre", "generic routing encapsulation"),
];

impl TunnelType {
    /// `ipip`, `gue`, `gre`; `None` for a type the kernel may add later.
    pub fn word(self) -> Option<&'static str> {
        TUNNEL_TYPES
            .iter()
            .find(|(t, _, _)| *t == self)
            .map(|(_, w, _)| *w)
    }

    pub fn from_word(word: &[u8]) -> Option<TunnelType> {
        TUNNEL_TYPES
            .iter()
            .find(|(_, w, _)| w.as_bytes() == word)
            .map(|(t, _, _)| *t)
    }
}

/// A tunnel checksum mode ipvsadm can name: flags value, JSON word, rule option and the
/// short code of `--tun-info`.
pub struct ChecksumName {
    pub flags: u16,
    pub word: &'static str,
    pub option: &'static str,
    pub code: &'static str,
}

pub const CHECKSUMS: &[ChecksumName] = &[
    ChecksumName {
        flags: 0,
        word: "nocsum",
        option: "--tun-nocsum",
        code: "-c",
    },
    ChecksumName {
        flags: TunnelFlags::CSUM,
        word: "csum",
        option: "--tun-csum",
        code: "+c",
    },
    ChecksumName {
        flags: TunnelFlags::REMCSUM,
        word: "remcsum",
        option: "--tun-remcsum",
        code: "r+c",
    },
];

impl TunnelFlags {
    /// The checksum mode, `None` for a combination ipvsadm cannot name.
    pub fn checksum(self) -> Option<&'static ChecksumName> {
        CHECKSUMS.iter().find(|c| c.flags == self.0)
    }

    pub fn from_checksum_word(word: &str) -> Option<TunnelFlags> {
        CHECKSUMS
            .iter()
            .find(|c| c.word == word)
            .map(|c| TunnelFlags(c.flags))
    }
}

/// A scheduler flag of `-b`: its name, its bit, the scheduler it needs, what it does.
pub struct SchedFlagName {
    pub name: &'static str,
    pub bit: u32,
    pub scheduler: Option<&'static str>,
    pub about: &'static str,
}

pub const SCHED_FLAGS: &[SchedFlagName] = &[
    SchedFlagName {
        name: "sh-fallback",
        bit: ServiceFlags::SCHED_SH_FALLBACK,
        scheduler: Some("sh"),
        about: "sh: fall back to another server if the chosen one is unavailable",
    },
    SchedFlagName {
        name: "sh-port",
        bit: ServiceFlags::SCHED_SH_PORT,
        scheduler: Some("sh"),
        about: "sh: include the source port in the hash",
    },
    SchedFlagName {
        name: "mh-fallback",
        bit: ServiceFlags::SCHED_MH_FALLBACK,
        scheduler: Some("mh"),
        about: "mh: fall back to another server if the chosen one is unavailable",
    },
    SchedFlagName {
        name: "mh-port",
        bit: ServiceFlags::SCHED_MH_PORT,
        scheduler: Some("mh"),
        about: "mh: include the source port in the hash",
    },
    SchedFlagName {
        name: "flag-1",
        bit: ServiceFlags::SCHED1,
        scheduler: None,
        about: "scheduler flag 1",
    },
    SchedFlagName {
        name: "flag-2",
        bit: ServiceFlags::SCHED2,
        scheduler: None,
        about: "scheduler flag 2",
    },
    SchedFlagName {
        name: "flag-3",
        bit: ServiceFlags::SCHED3,
        scheduler: None,
        about: "scheduler flag 3",
    },
];

/// The three scheduler bits, in the order ipvsadm lists them.
pub const SCHED_FLAG_BITS: [u32; 3] = [
    ServiceFlags::SCHED1,
    ServiceFlags::SCHED2,
    ServiceFlags::SCHED3,
];

/// What ipvsadm calls each scheduler bit for a service of `scheduler`: `sh` and `mh` name
/// two of the bits and have no name for the third.
pub fn sched_flag_names(scheduler: &str) -> [Option<&'static str>; 3] {
    let named = |bit: u32, sched: Option<&str>| {
        SCHED_FLAGS
            .iter()
            .find(|f| f.bit == bit && f.scheduler == sched)
            .map(|f| f.name)
    };
    let own = match scheduler {
        "sh" | "mh" => Some(scheduler),
        _ => None,
    };
    SCHED_FLAG_BITS.map(|bit| named(bit, own))
}

/// The scheduler flags as words: the scheduler's own name for a bit, else `flag-N`.
pub fn sched_flag_words(svc: &Service) -> Vec<&'static str> {
    let own = sched_flag_names(&svc.scheduler);
    let generic = sched_flag_names("");
    SCHED_FLAG_BITS
        .iter()
        .enumerate()
        .filter(|(_, bit)| svc.flags.contains(**bit))
        .filter_map(|(i, _)| own[i].or(generic[i]))
        .collect()
}

/// The states of `--start-daemon` and `--stop-daemon`, with what they do.
pub const DAEMON_STATES: &[(DaemonState, &str, &str)] = &[
    (DaemonState::Master, "master", "send connection updates"),
    (DaemonState::Backup, "backup", "receive connection updates"),
];

impl DaemonState {
    pub fn word(self) -> &'static str {
        DAEMON_STATES
            .iter()
            .find(|(s, _, _)| *s == self)
            .map(|(_, w, _)| *w)
            .expect("every state is in DAEMON_STATES")
    }

    pub fn from_word(word: &[u8]) -> Option<DaemonState> {
        DAEMON_STATES
            .iter()
            .find(|(_, w, _)| w.as_bytes() == word)
            .map(|(s, _, _)| *s)
    }
}

/// The schedulers ipvsadm's help lists, with what they do.
pub const SCHEDULERS: &[(&str, &str)] = &[
    ("rr", "round robin"),
    ("wrr", "weighted round robin"),
    ("lc", "least-connection"),
    ("wlc", "weighted least-connection (the default)"),
    ("lblc", "locality-based least-connection"),
    ("lblcr", "locality-based least-connection with replication"),
    ("dh", "destination hashing"),
    ("sh", "source hashing"),
    ("sed", "shortest expected delay"),
    ("nq", "never queue"),
    ("fo", "weighted failover"),
    ("ovf", "weighted overflow"),
    ("mh", "maglev hashing"),
];

/// The schedulers that pick a server by hashing over the destination list in its order:
/// two directors must hold their destinations in the same order to agree.
pub const ORDER_HASHING_SCHEDULERS: &[&str] = &["sh", "dh", "mh"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceKey;

    #[test]
    fn every_name_reads_back() {
        for p in PROTOCOLS {
            assert_eq!(Protocol::from_word(p.word), Some(p.protocol));
        }
        for f in FORWARDING {
            assert_eq!(FwdMethod::from_word(f.word), Some(f.method));
            assert_eq!(f.method.names().word, f.word);
        }
        for (t, w, _) in TUNNEL_TYPES {
            assert_eq!(TunnelType::from_word(w.as_bytes()), Some(*t));
        }
        for c in CHECKSUMS {
            assert_eq!(
                TunnelFlags::from_checksum_word(c.word),
                Some(TunnelFlags(c.flags))
            );
        }
        for (s, w, _) in DAEMON_STATES {
            assert_eq!(DaemonState::from_word(w.as_bytes()), Some(*s));
        }
    }

    #[test]
    fn scheduler_flags_are_named_per_scheduler() {
        assert_eq!(
            sched_flag_names("sh"),
            [Some("sh-fallback"), Some("sh-port"), None]
        );
        assert_eq!(
            sched_flag_names("mh"),
            [Some("mh-fallback"), Some("mh-port"), None]
        );
        assert_eq!(
            sched_flag_names("rr"),
            [Some("flag-1"), Some("flag-2"), Some("flag-3")]
        );
    }
    #[test]
    fn sched_flags_without_a_name_of_their_scheduler_are_generic() {
        let mut sh = Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80), "sh");
        sh.flags.0 |= ServiceFlags::SCHED2 | ServiceFlags::SCHED3;
        assert_eq!(sched_flag_words(&sh), ["sh-port", "flag-3"]);
    }
}
