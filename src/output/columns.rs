//! Which columns a listing shows, from the listing options. When several formats are
//! asked for, the first in ipvsadm's order wins; service lines know fewer formats than
//! destination lines, so the two are chosen separately.

use super::ListOptions;

/// The columns of the title and of destination lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DestColumns {
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    TunInfo,
    Default,
}

impl DestColumns {
    pub(crate) fn of(opts: &ListOptions) -> Self {
        if opts.stats {
            DestColumns::Stats
        } else if opts.rate {
            DestColumns::Rate
        } else if opts.thresholds {
            DestColumns::Thresholds
        } else if opts.persistent_conn {
            DestColumns::PersistentConn
        } else if opts.tun_info {
            DestColumns::TunInfo
        } else {
            DestColumns::Default
        }
    }
}

/// The columns of service lines: thresholds, persistent-conn and tun-info services look
/// like default ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServiceColumns {
    Stats,
    Rate,
    Scheduler,
}

impl ServiceColumns {
    pub(crate) fn of(opts: &ListOptions) -> Self {
        if opts.stats {
            ServiceColumns::Stats
        } else if opts.rate {
            ServiceColumns::Rate
        } else {
            ServiceColumns::Scheduler
        }
    }
}
