use std::time::Duration;

use super::*;
use crate::model::{Destination, FwdMethod, RealServer, Service};

fn stats(conns: u64, pkts: u64, bytes: u64) -> Stats {
    Stats {
        conns,
        inpkts: pkts,
        outpkts: pkts,
        inbytes: bytes,
        outbytes: bytes,
        ..Stats::default()
    }
}

/// A service on 10.0.0.1:`port` with real servers 10.0.1.`i`:80, each with its counters.
fn service(port: u16, dests: &[(u8, Stats)]) -> VirtualService {
    let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), port);
    let mut vs = VirtualService::new(Service::new(key, "wrr"));
    for (i, s) in dests {
        let mut rs = RealServer::new(
            Destination::new(format!("10.0.1.{i}").parse().unwrap(), 80, FwdMethod::Masq)
                .weight(u32::from(*i)),
        );
        rs.observed.stats = (*s).into();
        rs.observed.active_conns = u32::from(*i);
        vs.observed.stats.conns += s.conns;
        vs.observed.stats.inpkts += s.inpkts;
        vs.observed.stats.outpkts += s.outpkts;
        vs.observed.stats.inbytes += s.inbytes;
        vs.observed.stats.outbytes += s.outbytes;
        vs.dests.push(rs);
    }
    vs
}

fn header(measured: Option<f64>) -> FrameHeader<'static> {
    FrameHeader {
        time: "12:00:00",
        interval: Duration::from_secs(2),
        measured,
        hint: None,
    }
}

#[test]
fn rates_are_the_counters_difference_over_the_time() {
    let r = Rates::between(&stats(10, 100, 1000), &stats(30, 300, 5000), 2.0);
    assert_eq!(
        r,
        Rates {
            conns: 10.0,
            packets: 200.0,
            bytes: 4000.0
        }
    );
    // Zeroed in between (-Z): counted from zero.
    let r = Rates::between(&stats(50, 500, 9000), &stats(4, 40, 400), 2.0);
    assert_eq!(r.conns, 2.0);
    assert_eq!(r.bytes, 400.0);
}

#[test]
fn busiest_first_with_shares() {
    let before = [
        service(80, &[(1, stats(0, 0, 0)), (2, stats(0, 0, 0))]),
        service(
            81,
            &[
                (1, stats(0, 0, 0)),
                (2, stats(0, 0, 0)),
                (3, stats(0, 0, 0)),
            ],
        ),
    ];
    let now = [
        service(80, &[(1, stats(2, 20, 100)), (2, stats(2, 20, 100))]),
        // Real server 3 is new since the earlier sample: counted from zero.
        service(
            81,
            &[
                (1, stats(1, 10, 1000)),
                (2, stats(3, 30, 3000)),
                (3, stats(0, 0, 0)),
            ],
        ),
    ];
    let rows = rows(
        &now,
        Some(&Previous {
            table: &before,
            seconds: 2.0,
        }),
    );
    let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["TCP 10.0.0.1:81", "TCP 10.0.0.1:80"]);
    let busy = &rows[0];
    assert_eq!(busy.rates.unwrap().bytes, 4000.0);
    assert_eq!(busy.active, 6);
    let dests: Vec<(&str, Option<f64>)> = busy
        .dests
        .iter()
        .map(|d| (d.label.as_str(), d.share))
        .collect();
    assert_eq!(
        dests,
        [
            ("10.0.1.2:80", Some(0.75)),
            ("10.0.1.1:80", Some(0.25)),
            ("10.0.1.3:80", Some(0.0))
        ]
    );
    // Ties keep the table's order.
    let quiet: Vec<&str> = rows[1].dests.iter().map(|d| d.label.as_str()).collect();
    assert_eq!(quiet, ["10.0.1.1:80", "10.0.1.2:80"]);
    assert_eq!(total(&rows).conns, 4.0);
}

#[test]
fn a_first_frame_has_no_rates() {
    let now = [service(80, &[(1, stats(5, 5, 5))])];
    let rows = rows(&now, None);
    assert_eq!(rows[0].rates, None);
    assert_eq!(rows[0].dests[0].share, None);
    let lines = render(&rows, &header(None), None, None);
    assert!(lines[0].contains("rates from the next frame"), "{lines:#?}");
    assert_eq!(
        lines[1],
        "Total: 1 service, 1 real server, - conn/s, - pkt/s, - B/s"
    );
    let fields: Vec<&str> = lines[3].split_whitespace().collect();
    assert_eq!(
        fields,
        ["TCP", "10.0.0.1:80", "wrr", "1", "0", "-", "-", "-"]
    );
}

#[test]
fn human_units() {
    assert_eq!(byte_rate_text(0.0), "0 B/s");
    assert_eq!(byte_rate_text(512.0), "512 B/s");
    assert_eq!(byte_rate_text(1234.0), "1.23 kB/s");
    assert_eq!(byte_rate_text(1_200_000.0), "1.20 MB/s");
    assert_eq!(byte_rate_text(999_600.0), "1.00 MB/s");
    assert_eq!(byte_rate_text(45_600.0), "45.6 kB/s");
    assert_eq!(byte_rate_text(5e15), "5000 TB/s");
    assert_eq!(count_rate_text(4.5), "4.50");
    assert_eq!(count_rate_text(123.4), "123");
    assert_eq!(count_rate_text(12_345.0), "12.3k");
    assert_eq!(count_rate_text(f64::NAN), "0");
}

fn sample_rows() -> Vec<ServiceRow> {
    let before: Vec<VirtualService> = (0..6)
        .map(|p| service(80 + p, &[(1, stats(0, 0, 0)), (2, stats(0, 0, 0))]))
        .collect();
    let now: Vec<VirtualService> = (0..6)
        .map(|p| {
            let k = u64::from(p) + 1;
            service(
                80 + p,
                &[
                    (1, stats(k, 10 * k, 1_000_000 * k)),
                    (2, stats(3 * k, 30 * k, 3_000_000 * k)),
                ],
            )
        })
        .collect();
    rows(
        &now,
        Some(&Previous {
            table: &before,
            seconds: 2.0,
        }),
    )
}

#[test]
fn a_frame_for_80_by_24_and_a_wide_terminal() {
    let rows = sample_rows();
    let narrow = render(&rows, &header(Some(2.0)), Some(80), Some(24));
    assert!(narrow.len() <= 24);
    assert!(
        narrow.iter().all(|l| l.chars().count() <= 80),
        "{narrow:#?}"
    );
    assert_eq!(
        narrow[2..6],
        [
            "SERVICE          SCHED WEIGHT ACTIVE INACT CONN/s PKT/s   BYTES/s SHARE",
            "TCP 10.0.0.1:85  wrr               3     0   12.0   240 24.0 MB/s",
            "  -> 10.0.1.2:80 Masq       2      2     0   9.00   180 18.0 MB/s  75% #######",
            "  -> 10.0.1.1:80 Masq       1      1     0   3.00  60.0 6.00 MB/s  25% ##",
        ],
        "{narrow:#?}"
    );
    // 18 rows (6 services, 12 real servers) in 24 - 3 lines: all there.
    assert_eq!(narrow.len(), 21, "{narrow:#?}");

    let wide = render(&rows, &header(Some(2.0)), Some(200), Some(60));
    // The bar grows to 40 characters for 100%.
    assert!(
        wide[4].ends_with(&format!(" 75% {}", "#".repeat(30))),
        "{wide:#?}"
    );
    assert!(
        wide[5].ends_with(&format!(" 25% {}", "#".repeat(10))),
        "{wide:#?}"
    );
}

#[test]
fn rows_that_do_not_fit_are_counted() {
    let rows = sample_rows();
    let lines = render(&rows, &header(Some(2.0)), Some(80), Some(10));
    assert_eq!(lines.len(), 10);
    // 3 header lines, 6 rows, the note: 12 of 18 rows hidden.
    assert_eq!(
        lines[9],
        "... 12 more rows hidden: make the terminal taller"
    );
    assert!(lines[3].starts_with("TCP 10.0.0.1:85"));
}

#[test]
fn narrow_terminals_drop_the_bar_then_cut_addresses() {
    let key = ServiceKey::tcp(
        "2001:db8:1234:5678:9abc:def0:1234:5678".parse().unwrap(),
        443,
    );
    let mut vs = VirtualService::new(Service::new(key, "rr"));
    vs.dests.push(RealServer::new(Destination::new(
        "2001:db8:1234:5678:9abc:def0:1234:9999".parse().unwrap(),
        443,
        FwdMethod::Route,
    )));
    let now = [vs];
    let rows = rows(
        &now,
        Some(&Previous {
            table: &now,
            seconds: 1.0,
        }),
    );
    for width in [40, 60, 80, 100] {
        let lines = render(&rows, &header(Some(1.0)), Some(width), Some(24));
        assert!(
            lines.iter().all(|l| l.chars().count() <= width),
            "{width}: {lines:#?}"
        );
        assert!(lines[3].starts_with("TCP [2001:d"), "{width}: {lines:#?}");
    }
    let lines = render(&rows, &header(Some(1.0)), Some(80), Some(24));
    assert!(
        lines[3].contains("~"),
        "the address is cut at 80: {lines:#?}"
    );
    assert!(!lines[2].contains("SHARE"), "{lines:#?}");
    let lines = render(&rows, &header(Some(1.0)), None, None);
    let fields: Vec<&str> = lines[3].split_whitespace().take(3).collect();
    assert_eq!(
        fields,
        ["TCP", "[2001:db8:1234:5678:9abc:def0:1234:5678]:443", "rr"]
    );
}

#[test]
fn an_empty_table_says_so() {
    let lines = render(&[], &header(Some(2.0)), Some(80), Some(24));
    assert_eq!(lines.last().unwrap(), "No virtual services.");
    assert!(
        lines[1].contains("0 services, 0 real servers"),
        "{lines:#?}"
    );
}

#[test]
fn tiny_terminals_do_not_panic() {
    let rows = sample_rows();
    for (w, h) in [(0, 0), (1, 1), (5, 2), (10, 3), (20, 4)] {
        let lines = render(&rows, &header(Some(2.0)), Some(w), Some(h));
        assert!(lines.len() <= h, "{w}x{h}: {lines:#?}");
        assert!(lines.iter().all(|l| l.chars().count() <= w));
    }
}

#[test]
fn fwmark_and_ipv6_labels() {
    use crate::model::AddressFamily;
    let fwm = VirtualService::new(Service::new(
        ServiceKey::fwmark(AddressFamily::Inet6, 7),
        "sh",
    ));
    let udp = VirtualService::new(Service::new(
        ServiceKey::udp("2001:db8::1".parse().unwrap(), 53),
        "rr",
    ));
    let labels: Vec<String> = rows(&[fwm, udp], None)
        .into_iter()
        .map(|r| r.label)
        .collect();
    assert_eq!(labels, ["FWM 7 IPv6", "UDP [2001:db8::1]:53"]);
}
