//! ipvsadm's default ordering of services and destinations.
//!
//! ipvsadm calls `qsort` with comparators that subtract fields and truncate the difference
//! to a 32-bit signed int, so addresses 2^31 or more apart compare "backwards" and the
//! comparison is not even transitive. With a non-transitive comparator the result depends
//! on the exact sequence of comparisons, so reproducing the order needs glibc's `qsort`
//! algorithm too: a stable top-down merge sort (glibc 2.36, the reference's C library).

use std::cmp::Ordering;
use std::net::IpAddr;

use super::identity::ServiceIdentity;
use crate::model::{Destination, RealServer, Service, VirtualService};

/// Sorts the services, then each service's destinations.
pub(crate) fn sort_table(table: &mut [VirtualService]) {
    sort_services(table);
    for vs in table.iter_mut() {
        sort_dests(&mut vs.dests);
    }
}

/// Sorts one service's destinations.
pub(crate) fn sort_dests(dests: &mut [RealServer]) {
    glibc_merge_sort(dests, |a, b| compare_dests(&a.dest, &b.dest));
}

/// The indexes of `table`'s services in the order [`sort_services`] puts them.
pub(crate) fn service_order(table: &[VirtualService]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..table.len()).collect();
    let mut scratch = Vec::with_capacity(table.len());
    merge_sort_indices(&mut order, &mut scratch, &mut |a, b| {
        compare_services(&table[a].service, &table[b].service)
    });
    order
}

/// Sorts the services only.
pub(crate) fn sort_services(table: &mut [VirtualService]) {
    glibc_merge_sort(table, |a, b| compare_services(&a.service, &b.service));
}

/// libipvs' `ipvs_cmp_services`: fwmark, family, protocol, address, port.
pub(crate) fn compare_services(a: &Service, b: &Service) -> i32 {
    let (a, b) = (ServiceIdentity::of(&a.key), ServiceIdentity::of(&b.key));
    let steps = [
        a.fwmark.wrapping_sub(b.fwmark) as i32,
        i32::from(a.af.to_raw()) - i32::from(b.af.to_raw()),
        i32::from(a.protocol) - i32::from(b.protocol),
        compare_addresses(&a.addr, &b.addr),
        i32::from(a.port) - i32::from(b.port),
    ];
    first_difference(&steps)
}

/// libipvs' `ipvs_cmp_dests`: address, then port.
pub(crate) fn compare_dests(a: &Destination, b: &Destination) -> i32 {
    let steps = [
        compare_addresses(&a.addr, &b.addr),
        i32::from(a.port) - i32::from(b.port),
    ];
    first_difference(&steps)
}

fn first_difference(steps: &[i32]) -> i32 {
    steps.iter().copied().find(|&r| r != 0).unwrap_or(0)
}

/// Host-order 32-bit words subtracted with wrap-around. The first address's family decides
/// how many words count (a destination list may mix families through tunnels); an IPv4
/// address occupies the first word of the kernel's 16-byte address union.
fn compare_addresses(a: &IpAddr, b: &IpAddr) -> i32 {
    let (wa, wb) = (address_words(a), address_words(b));
    let count = if a.is_ipv6() { 4 } else { 1 };
    let steps: Vec<i32> = (0..count)
        .map(|i| wa[i].wrapping_sub(wb[i]) as i32)
        .collect();
    first_difference(&steps)
}

fn address_words(addr: &IpAddr) -> [u32; 4] {
    match addr {
        IpAddr::V4(v4) => [u32::from(*v4), 0, 0, 0],
        IpAddr::V6(v6) => {
            let o = v6.octets();
            std::array::from_fn(|i| {
                u32::from_be_bytes([o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3]])
            })
        }
    }
}

/// glibc's `msort`: split into ⌊n/2⌋ and the rest, sort both, merge taking the left head
/// whenever `cmp(left, right) <= 0`.
pub(crate) fn glibc_merge_sort<T>(items: &mut [T], mut cmp: impl FnMut(&T, &T) -> i32) {
    let mut order: Vec<usize> = (0..items.len()).collect();
    let mut scratch = Vec::with_capacity(items.len());
    merge_sort_indices(&mut order, &mut scratch, &mut |a, b| {
        cmp(&items[a], &items[b])
    });
    apply_order(items, order);
}

fn merge_sort_indices(
    order: &mut [usize],
    scratch: &mut Vec<usize>,
    cmp: &mut dyn FnMut(usize, usize) -> i32,
) {
    let n = order.len();
    if n <= 1 {
        return;
    }
    let (left, right) = order.split_at_mut(n / 2);
    merge_sort_indices(left, scratch, cmp);
    merge_sort_indices(right, scratch, cmp);
    scratch.clear();
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if cmp(left[i], right[j]).cmp(&0) != Ordering::Greater {
            scratch.push(left[i]);
            i += 1;
        } else {
            scratch.push(right[j]);
            j += 1;
        }
    }
    scratch.extend_from_slice(&left[i..]);
    scratch.extend_from_slice(&right[j..]);
    order.copy_from_slice(scratch);
}

/// Rearranges `items` so that position k holds the item that was at `order[k]`.
fn apply_order<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..items.len() {
        let mut current = start;
        loop {
            let source = order[current];
            order[current] = current;
            if source == start {
                break;
            }
            items.swap(current, source);
            current = source;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::model::{AddressFamily, FwdMethod, ServiceKey};

    fn dest(addr: &str, port: u16) -> Destination {
        Destination::new(addr.parse().unwrap(), port, FwdMethod::Masq)
    }

    fn dest_texts(dests: &[Destination]) -> Vec<String> {
        dests
            .iter()
            .map(|d| format!("{}:{}", d.addr, d.port))
            .collect()
    }

    /// §6.8: added in this order, listed by the kernel newest first.
    #[test]
    fn spec_destination_example() {
        let added = [
            ("10.0.0.5", 80),
            ("192.168.1.1", 80),
            ("172.16.0.1", 80),
            ("10.0.0.5", 81),
            ("10.0.0.5", 79),
            ("200.0.0.1", 80),
            ("1.2.3.4", 80),
        ];
        let mut dests: Vec<Destination> = added.iter().rev().map(|&(a, p)| dest(a, p)).collect();
        glibc_merge_sort(&mut dests, compare_dests);
        assert_eq!(
            dest_texts(&dests),
            [
                "172.16.0.1:80",
                "192.168.1.1:80",
                "200.0.0.1:80",
                "1.2.3.4:80",
                "10.0.0.5:79",
                "10.0.0.5:80",
                "10.0.0.5:81"
            ]
        );
    }

    #[test]
    fn merge_sort_is_stable_and_sorts() {
        let mut items = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        glibc_merge_sort(&mut items, |a, b| a.0 - b.0);
        assert_eq!(items, [(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')]);
        let mut empty: Vec<i32> = vec![];
        glibc_merge_sort(&mut empty, |a, b| a - b);
    }

    #[test]
    fn apply_order_permutes() {
        let mut items = vec!['a', 'b', 'c', 'd'];
        apply_order(&mut items, vec![2, 0, 3, 1]);
        assert_eq!(items, ['c', 'a', 'd', 'b']);
    }

    fn service(key: ServiceKey) -> Service {
        Service::new(key, "wlc")
    }

    #[test]
    fn services_by_mark_family_protocol_address_port() {
        let v4 = |s: &str| -> IpAddr { s.parse().unwrap() };
        let mut table: Vec<VirtualService> = [
            ServiceKey::fwmark(AddressFamily::Inet, 5),
            ServiceKey::udp(v4("10.0.0.1"), 53),
            ServiceKey::tcp(v4("2001:db8::1"), 80),
            ServiceKey::tcp(v4("10.0.0.1"), 80),
            ServiceKey::fwmark(AddressFamily::Inet, 3_000_000_000),
            ServiceKey::tcp(v4("10.0.0.1"), 22),
            ServiceKey::fwmark(AddressFamily::Inet6, 5),
        ]
        .into_iter()
        .map(|k| VirtualService::new(service(k)))
        .collect();
        sort_table(&mut table);
        let keys: Vec<ServiceKey> = table.iter().map(|vs| vs.service.key).collect();
        assert_eq!(
            keys,
            [
                // A mark >= 2^31 minus 0 is negative as an int: before everything.
                ServiceKey::fwmark(AddressFamily::Inet, 3_000_000_000),
                ServiceKey::tcp(v4("10.0.0.1"), 22),
                ServiceKey::tcp(v4("10.0.0.1"), 80),
                ServiceKey::udp(v4("10.0.0.1"), 53),
                ServiceKey::tcp(v4("2001:db8::1"), 80),
                ServiceKey::fwmark(AddressFamily::Inet, 5),
                ServiceKey::fwmark(AddressFamily::Inet6, 5),
            ]
        );
    }

    #[test]
    fn ipv6_words_wrap_and_mixed_families() {
        let a = dest("2001:db8::1", 80);
        let b = dest("2001:db8::2", 80);
        assert!(compare_dests(&a, &b) < 0);
        let far = dest("a002:db8::1", 80);
        assert!(compare_dests(&a, &far) > 0, "wraps like the C subtraction");
        // The first element's family decides: IPv4 vs IPv6 compares the first word.
        let v4 = dest("32.1.13.184", 80); // 0x20010db8
        assert_eq!(compare_dests(&v4, &a), 0);
        assert!(compare_dests(&a, &v4) > 0);
    }
}
