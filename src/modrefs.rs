//! Whether every service IPVS holds, in any namespace and of either family, is one of the
//! IPv4 services of the calling namespace, learnt from the references to its module
//! (`/sys/module/ip_vs/refcnt`): the proof that the `getsockopt()` interface lists the
//! whole table where nfnetlink_hook is not there to show IPVS's IPv6 hooks (Debian 11's
//! 5.10 and Debian 12's 6.1 are built without it).
//!
//! Every service holds a reference to ip_vs while it is in the table (`ip_vs_add_service`
//! takes it, whatever the family or namespace). The other holders of references, as the
//! kernel has them from 5.10 to 7.x:
//! - every module linked against ip_vs, one each while it is loaded (its `holders` entry);
//! - every scheduler and persistence engine registered, one each from its module's init
//!   to its exit;
//! - ip_vs_ftp's application, one in each namespace (the initial one at least);
//! - sync daemons, and calls or dumps in progress, briefly.
//!
//! The references left once holders and registrations are counted are services, sync
//! daemons and calls: when they are exactly the IPv4 services of the calling namespace,
//! there is no other service. Counting errs low only: a holder this does not know counts
//! once, a module not seen live twice counts only its link, so anything unaccounted for
//! answers "maybe" (then the kernel's other proof, or the service dump).

use std::os::unix::fs::MetadataExt;

const MODULE_DIR: &str = "/sys/module";

/// The modules that register one scheduler each, `ip_vs_` and its name (twos from 6.7),
/// the one persistence engine's, and ftp's (its application, in the initial namespace).
const REGISTERING_MODULES: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
    "pe_sip", "ftp",
];

/// ip_vs's references and the modules holding them, read from sysfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleRefs {
    refcnt: u64,
    holders: Vec<Holder>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    name: String,
    /// The module's sysfs directory: a module unloaded and loaded again between two reads
    /// has another, so two equal reads saw one module throughout.
    inode: u64,
    live: bool,
}

impl ModuleRefs {
    /// `None` where ip_vs is built in (nothing counts its references) or sysfs does not
    /// answer.
    pub fn read() -> Option<Self> {
        let ip_vs = format!("{MODULE_DIR}/ip_vs");
        let refcnt = std::fs::read_to_string(format!("{ip_vs}/refcnt"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let mut holders = Vec::new();
        for entry in std::fs::read_dir(format!("{ip_vs}/holders")).ok()? {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let dir = format!("{MODULE_DIR}/{name}");
            let inode = std::fs::metadata(&dir).ok()?.ino();
            let live = std::fs::read_to_string(format!("{dir}/initstate"))
                .is_ok_and(|state| state.trim_end() == "live");
            holders.push(Holder { name, inode, live });
        }
        holders.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Some(ModuleRefs { refcnt, holders })
    }

    /// Whether the references are exactly the holders', their registrations' and
    /// `services`' (the IPv4 services counted in the calling namespace): then no other
    /// service exists. Read before and after counting the services, two equal reads
    /// that both say so show that no other service existed during the count but perhaps
    /// one added and deleted within it, which a listing may miss as it may miss any
    /// change made while it reads.
    pub fn only_these_services(&self, services: u64) -> bool {
        let others: u64 = self.holders.iter().map(Holder::references).sum();
        self.refcnt == others.saturating_add(services)
    }
}

impl Holder {
    /// The fewest references the module holds: its link, and once it is live what its
    /// init registered.
    fn references(&self) -> u64 {
        if !self.live {
            return 1;
        }
        let registered = self
            .name
            .strip_prefix("ip_vs_")
            .is_some_and(|rest| REGISTERING_MODULES.contains(&rest));
        1 + u64::from(registered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(refcnt: u64, holders: &[(&str, bool)]) -> ModuleRefs {
        ModuleRefs {
            refcnt,
            holders: holders
                .iter()
                .enumerate()
                .map(|(i, &(name, live))| Holder {
                    name: name.to_string(),
                    inode: i as u64,
                    live,
                })
                .collect(),
        }
    }

    /// As Debian 12's 6.1 showed them in the test VM: 13 schedulers, the sip engine, ftp.
    const LOADED: [&str; 15] = [
        "ip_vs_dh",
        "ip_vs_fo",
        "ip_vs_ftp",
        "ip_vs_lblc",
        "ip_vs_lblcr",
        "ip_vs_lc",
        "ip_vs_mh",
        "ip_vs_nq",
        "ip_vs_ovf",
        "ip_vs_pe_sip",
        "ip_vs_rr",
        "ip_vs_sed",
        "ip_vs_sh",
        "ip_vs_wlc",
        "ip_vs_wrr",
    ];

    fn loaded(refcnt: u64) -> ModuleRefs {
        let holders: Vec<(&str, bool)> = LOADED.iter().map(|&name| (name, true)).collect();
        refs(refcnt, &holders)
    }

    #[test]
    fn references_beyond_modules_and_registrations_are_services() {
        // The VM at boot: 30 references, two per module, ftp's app in one namespace.
        assert!(loaded(30).only_these_services(0));
        assert!(loaded(32).only_these_services(2));
        // A service elsewhere, an IPv6 one, ftp in a second namespace, a call in flight.
        assert!(!loaded(31).only_these_services(0));
        assert!(!loaded(33).only_these_services(2));
        // Fewer than counted: the count is not to be trusted either.
        assert!(!loaded(29).only_these_services(0));
    }

    #[test]
    fn twos_registers_a_scheduler_too() {
        // Debian's 7.2 in the test VM, ftp unloaded: twos (6.7+) among the schedulers.
        let mut holders: Vec<(&str, bool)> = LOADED
            .iter()
            .filter(|&&name| name != "ip_vs_ftp")
            .map(|&name| (name, true))
            .collect();
        holders.push(("ip_vs_twos", true));
        assert!(refs(30, &holders).only_these_services(0));
    }

    #[test]
    fn unknown_or_unsettled_modules_count_their_link_only() {
        assert!(refs(4, &[("ip_vs_rr", true), ("xt_ipvs", true)]).only_these_services(1));
        assert!(!refs(5, &[("ip_vs_rr", true), ("xt_ipvs", true)]).only_these_services(1));
        // A scheduler coming or going may or may not have registered: a reference more
        // than its link is not taken for a service.
        assert!(!refs(2, &[("ip_vs_rr", false)]).only_these_services(0));
        assert!(refs(0, &[]).only_these_services(0));
    }
}
