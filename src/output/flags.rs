//! Texts shared by listings and `-S`: scheduler flags, forwarding methods, tunnel info.

use crate::model::{Destination, FwdMethod, Service, TunnelType, names};

/// The scheduler flags as ipvsadm names them, comma-separated, or `None` when none of the
/// three scheduler bits is set. `sh` and `mh` know two of the bits by name and silently
/// drop the third, so e.g. an `sh` service with only bit 3 gives `Some("")`.
pub(crate) fn sched_flag_list(svc: &Service) -> Option<String> {
    let bits = names::SCHED_FLAG_BITS;
    if !bits.iter().any(|&bit| svc.flags.contains(bit)) {
        return None;
    }
    let listed: Vec<&str> = bits
        .iter()
        .zip(names::sched_flag_names(&svc.scheduler))
        .filter(|(bit, _)| svc.flags.contains(**bit))
        .filter_map(|(_, name)| name)
        .collect();
    Some(listed.join(","))
}

/// The Forward column (`(null)` for bypass, which ipvsadm cannot name).
pub(crate) fn forward_name(fwd: FwdMethod) -> &'static str {
    fwd.names().listed
}

/// The `-S` switch of a forwarding method (local delivery saves as routing).
pub(crate) fn forward_switch(fwd: FwdMethod) -> &'static str {
    fwd.names().switch
}

/// `-c`, `+c`, `r+c`; `?` for a combination ipvsadm cannot name.
pub(crate) fn checksum_code(dest: &Destination) -> &'static str {
    dest.tun_flags.checksum().map_or("?", |c| c.code)
}

/// `--tun-nocsum`, `--tun-csum`, `--tun-remcsum`; `None` for a combination ipvsadm cannot
/// name (the saved rule then uses the kernel's default).
pub(crate) fn checksum_option(dest: &Destination) -> Option<&'static str> {
    dest.tun_flags.checksum().map(|c| c.option)
}

/// The tunnel options of a rule: ` --tun-type ipip`, ` --tun-type gue --tun-port P CSUM`,
/// ` --tun-type gre CSUM` (CSUM left out for a combination ipvsadm cannot name, so the
/// kernel's default applies).
pub(crate) fn tunnel_options(dest: &Destination) -> String {
    let checksum = checksum_option(dest)
        .map(|option| format!(" {option}"))
        .unwrap_or_default();
    match dest.tun_type {
        TunnelType::Ipip => " --tun-type ipip".into(),
        TunnelType::Gue => format!(" --tun-type gue --tun-port {}{checksum}", dest.tun_port),
        TunnelType::Gre => format!(" --tun-type gre{checksum}"),
        TunnelType::Other(_) => String::new(),
    }
}

/// The TunnelInfo column: `ipip`, `gue:PORT:CSUM`, `gre:CSUM`, or `n/a`.
pub(crate) fn tunnel_info(dest: &Destination) -> String {
    if dest.fwd != FwdMethod::Tunnel {
        return "n/a".into();
    }
    match dest.tun_type {
        TunnelType::Ipip => "ipip".into(),
        TunnelType::Gue => format!("gue:{}:{}", dest.tun_port, checksum_code(dest)),
        TunnelType::Gre => format!("gre:{}", checksum_code(dest)),
        TunnelType::Other(_) => "n/a".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ServiceKey, TunnelFlags};

    fn svc(sched: &str, flags: u32) -> Service {
        let mut s = Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80), sched);
        s.flags = crate::model::ServiceFlags(flags);
        s
    }

    #[test]
    fn scheduler_flag_names() {
        assert_eq!(sched_flag_list(&svc("rr", 0)), None);
        assert_eq!(
            sched_flag_list(&svc("sh", 0x18)).as_deref(),
            Some("sh-fallback,sh-port")
        );
        assert_eq!(sched_flag_list(&svc("sh", 0x20)).as_deref(), Some(""));
        assert_eq!(
            sched_flag_list(&svc("mh", 0x28)).as_deref(),
            Some("mh-fallback")
        );
        assert_eq!(
            sched_flag_list(&svc("wlc", 0x38)).as_deref(),
            Some("flag-1,flag-2,flag-3")
        );
        assert_eq!(
            sched_flag_list(&svc("shx", 0x10)).as_deref(),
            Some("flag-2")
        );
    }

    #[test]
    fn tunnel_infos() {
        let mut d = Destination::new("10.0.0.2".parse().unwrap(), 80, FwdMethod::Masq);
        assert_eq!(tunnel_info(&d), "n/a");
        d.fwd = FwdMethod::Tunnel;
        assert_eq!(tunnel_info(&d), "ipip");
        d.tun_type = TunnelType::Gue;
        d.tun_port = 6080;
        d.tun_flags = TunnelFlags(1);
        assert_eq!(tunnel_info(&d), "gue:6080:+c");
        d.tun_flags = TunnelFlags(2);
        d.tun_port = 6081;
        assert_eq!(tunnel_info(&d), "gue:6081:r+c");
        d.tun_type = TunnelType::Gre;
        d.tun_flags = TunnelFlags(0);
        assert_eq!(tunnel_info(&d), "gre:-c");
        d.tun_type = TunnelType::Other(9);
        assert_eq!(tunnel_info(&d), "n/a");
    }
}
