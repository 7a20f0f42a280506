//! What a listing shows: the options of `-L`, shared by the listing formats.

use crate::model::ServiceKey;

/// The options of a listing (`-L`). Which listing runs: `connection` first, else `service`,
/// else `timeout`, else `daemon`, else the whole table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// `-t/-u/--sctp-service/-f`: list this service only.
    pub service: Option<ServiceKey>,
    pub numeric: bool,
    pub connection: bool,
    pub timeout: bool,
    pub daemon: bool,
    pub stats: bool,
    pub rate: bool,
    pub thresholds: bool,
    pub persistent_conn: bool,
    pub tun_info: bool,
    pub exact: bool,
    pub nosort: bool,
    /// `--json` (rsipvsadm's own): the state as a JSON document.
    pub json: bool,
}

impl ListOptions {
    /// What the listing shows of each destination (see [`crate::listing::DestDetail`]).
    pub fn dest_detail(&self) -> crate::listing::DestDetail {
        match super::columns::DestColumns::of(self) {
            super::columns::DestColumns::Default => crate::listing::DestDetail::Listed,
            _ => crate::listing::DestDetail::Full,
        }
    }
}
