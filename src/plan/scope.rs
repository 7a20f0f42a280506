//! `--scope`: the part of the table `apply` may touch, so that it can share a director with
//! keepalived or kube-proxy. A scope is a VIP prefix (`10.0.0.0/8`, `2001:db8::/32`, or
//! one address) or a fwmark range (`fwmark:100-199`, `fwmark:7`); several add up, none
//! means the whole table.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::model::ServiceKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeItem {
    Prefix { addr: IpAddr, len: u8 },
    Fwmarks { first: u32, last: u32 },
}

/// A union of scope items; empty is everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub items: Vec<ScopeItem>,
}

impl Scope {
    pub fn everything() -> Self {
        Scope::default()
    }

    pub fn is_everything(&self) -> bool {
        self.items.is_empty()
    }

    pub fn contains(&self, key: &ServiceKey) -> bool {
        self.is_everything() || self.items.iter().any(|item| item.contains(key))
    }
}

impl ScopeItem {
    pub fn contains(&self, key: &ServiceKey) -> bool {
        match (*self, *key) {
            (ScopeItem::Prefix { addr, len }, ServiceKey::Addr { addr: vip, .. }) => {
                in_prefix(vip, addr, len)
            }
            (ScopeItem::Fwmarks { first, last }, ServiceKey::Fwmark { mark, .. }) => {
                (first..=last).contains(&mark)
            }
            _ => false,
        }
    }
}

fn in_prefix(addr: IpAddr, net: IpAddr, len: u8) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Why a `--scope` value does not parse: the message says what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeError(pub String);

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScopeError {}

impl FromStr for ScopeItem {
    type Err = ScopeError;

    fn from_str(text: &str) -> Result<Self, ScopeError> {
        let expected = || {
            ScopeError(format!(
                "{text:?} is not a scope: write a VIP prefix such as 10.0.0.0/8 or \
                 2001:db8::/32, or a fwmark range such as fwmark:100-199"
            ))
        };
        if let Some(marks) = text.strip_prefix("fwmark:") {
            let (first, last) = marks.split_once('-').unwrap_or((marks, marks));
            let mark = |s: &str| s.parse::<u32>().ok().filter(|&m| m > 0);
            return match (mark(first), mark(last)) {
                (Some(first), Some(last)) if first <= last => {
                    Ok(ScopeItem::Fwmarks { first, last })
                }
                _ => Err(expected()),
            };
        }
        let (addr, len) = text.split_once('/').unwrap_or((text, ""));
        let addr: IpAddr = addr.parse().map_err(|_| expected())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = if len.is_empty() {
            max
        } else {
            len.parse::<u8>()
                .ok()
                .filter(|&l| l <= max)
                .ok_or_else(expected)?
        };
        Ok(ScopeItem::Prefix { addr, len })
    }
}

impl fmt::Display for ScopeItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeItem::Prefix { addr, len } => write!(f, "{addr}/{len}"),
            ScopeItem::Fwmarks { first, last } if first == last => write!(f, "fwmark:{first}"),
            ScopeItem::Fwmarks { first, last } => write!(f, "fwmark:{first}-{last}"),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_everything() {
            return f.write_str("the whole table");
        }
        let items: Vec<String> = self.items.iter().map(ToString::to_string).collect();
        f.write_str(&items.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AddressFamily;

    fn scope(items: &[&str]) -> Scope {
        Scope {
            items: items.iter().map(|s| s.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn prefixes_and_mark_ranges_add_up() {
        let s = scope(&["10.0.0.0/8", "2001:db8::/32", "fwmark:100-199", "192.0.2.7"]);
        let tcp = |a: &str| ServiceKey::tcp(a.parse().unwrap(), 80);
        assert!(s.contains(&tcp("10.200.0.1")));
        assert!(!s.contains(&tcp("11.0.0.1")));
        assert!(s.contains(&tcp("2001:db8:ffff::1")));
        assert!(!s.contains(&tcp("2001:db9::1")));
        assert!(s.contains(&tcp("192.0.2.7")));
        assert!(!s.contains(&tcp("192.0.2.8")));
        assert!(s.contains(&ServiceKey::fwmark(AddressFamily::Inet6, 150)));
        assert!(!s.contains(&ServiceKey::fwmark(AddressFamily::Inet, 200)));
        assert!(Scope::everything().contains(&tcp("1.2.3.4")));
        assert!(scope(&["0.0.0.0/0"]).contains(&tcp("1.2.3.4")));
        assert!(!scope(&["0.0.0.0/0"]).contains(&tcp("::1")));
    }

    #[test]
    fn bad_scopes_say_what_is_expected() {
        for bad in [
            "10.0.0.0/33",
            "fwmark:0",
            "fwmark:9-3",
            "fwmark:x",
            "vip",
            "::/129",
        ] {
            let err = bad.parse::<ScopeItem>().unwrap_err();
            assert!(err.0.contains("fwmark:100-199"), "{err}");
        }
        assert_eq!(
            "fwmark:7".parse::<ScopeItem>().unwrap().to_string(),
            "fwmark:7"
        );
    }
}
