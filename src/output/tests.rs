//! Whole-format tests with the examples of shared/ipvsadm-behaviour.md §6–7.

use std::net::Ipv4Addr;

use super::names::fake::FakeLookup;
use super::{ListOptions, list, save};
use crate::model::{
    AddressFamily, DestObserved, Destination, FwdMethod, Info, Netmask, RealServer, Service,
    ServiceFlags, ServiceKey, Stats, TunnelFlags, TunnelType, VirtualService,
};

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::tcp(addr.parse().unwrap(), port)
}

fn dest(addr: &str, port: u16, fwd: FwdMethod, weight: u32) -> Destination {
    Destination::new(addr.parse().unwrap(), port, fwd).weight(weight)
}

fn entry(service: Service, dests: Vec<Destination>) -> VirtualService {
    dests
        .into_iter()
        .fold(VirtualService::new(service), VirtualService::with_dest)
}

fn listing(entries: &[VirtualService], opts: &ListOptions) -> String {
    let mut out = Vec::new();
    list::write_title(&mut out, opts).unwrap();
    for entry in entries {
        list::write_service(&mut out, entry, opts, &mut FakeLookup::typical()).unwrap();
    }
    String::from_utf8(out).unwrap()
}

fn numeric() -> ListOptions {
    ListOptions {
        numeric: true,
        ..ListOptions::default()
    }
}

fn title(opts: ListOptions) -> String {
    listing(&[], &opts)
}

#[test]
fn version_line() {
    let info = Info {
        version: 0x010201,
        conn_tab_size: 4096,
    };
    let mut out = Vec::new();
    list::write_version_line(&mut out, &info).unwrap();
    assert_eq!(out, b"IP Virtual Server version 1.2.1 (size=4096)\n");
}

#[test]
fn titles() {
    let d = ListOptions::default;
    let remote = "  -> RemoteAddress:Port\n";
    assert_eq!(
        title(d()),
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
    );
    assert_eq!(
        title(ListOptions {
            tun_info: true,
            ..d()
        }),
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n"
    );
    assert_eq!(
        title(ListOptions { stats: true, ..d() }),
        format!(
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n{remote}"
        )
    );
    assert_eq!(
        title(ListOptions { rate: true, ..d() }),
        format!(
            "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n{remote}"
        )
    );
    assert_eq!(
        title(ListOptions {
            thresholds: true,
            ..d()
        }),
        format!(
            "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n{remote}"
        )
    );
    assert_eq!(
        title(ListOptions {
            persistent_conn: true,
            ..d()
        }),
        format!(
            "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n{remote}"
        )
    );
    // Priority: stats > rate > thresholds > persistent-conn > tun-info.
    let all = ListOptions {
        stats: true,
        rate: true,
        thresholds: true,
        persistent_conn: true,
        tun_info: true,
        ..d()
    };
    assert_eq!(title(all), title(ListOptions { stats: true, ..d() }));
    let some = ListOptions {
        thresholds: true,
        tun_info: true,
        ..d()
    };
    assert_eq!(
        title(some),
        title(ListOptions {
            thresholds: true,
            ..d()
        })
    );
}

#[test]
fn default_service_and_destination_lines() {
    let svc = Service::new(tcp("10.0.0.1", 80), "rr");
    let entry = entry(svc, vec![dest("192.168.1.2", 8080, FwdMethod::Masq, 3)]);
    let out = listing(&[entry], &numeric());
    let lines: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(
        lines,
        [
            "TCP  10.0.0.1:80 rr",
            "  -> 192.168.1.2:8080             Masq    3      0          0         "
        ]
    );
}

#[test]
fn scheduler_details() {
    let mut sh =
        Service::new(ServiceKey::udp("10.0.0.2".parse().unwrap(), 53), "sh").persistent(60);
    sh.flags.0 |= ServiceFlags::SCHED1 | ServiceFlags::SCHED2 | ServiceFlags::ONEPACKET;
    let mut pe = Service::new(tcp("10.0.0.9", 80), "wlc").persistent(100);
    pe.pe_name = Some("sip".into());
    let mut fwm6 = Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 3), "wlc").persistent(360);
    fwm6.netmask = Netmask::V6(64);
    let mut masked = Service::new(tcp("10.0.0.3", 80), "wlc").persistent(360);
    masked.netmask = Netmask::V4(Ipv4Addr::new(0, 0, 0, 24));
    // The engine shows only for persistent services.
    let mut pe_only = Service::new(tcp("10.0.0.4", 80), "rr");
    pe_only.pe_name = Some("sip".into());
    let big_mark = Service::new(
        ServiceKey::fwmark(AddressFamily::Inet, 3_000_000_000),
        "wlc",
    );
    let entries: Vec<VirtualService> = [sh, pe, fwm6, masked, pe_only, big_mark]
        .into_iter()
        .map(|s| entry(s, vec![]))
        .collect();
    let out = listing(&entries, &numeric());
    let lines: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(
        lines,
        [
            "UDP  10.0.0.2:53 sh (sh-fallback,sh-port) persistent 60 ops",
            "TCP  10.0.0.9:80 wlc persistent 100 pe sip",
            "FWM  3 IPv6 wlc persistent 360 mask 64",
            "TCP  10.0.0.3:80 wlc persistent 360 mask 0.0.0.24",
            "TCP  10.0.0.4:80 rr",
            "FWM  -1294967296 wlc",
        ]
    );
}

#[test]
fn names_and_cuts() {
    let svc = Service::new(tcp("192.168.100.200", 5599), "wlc");
    let dests = vec![
        dest("192.168.100.201", 5599, FwdMethod::Route, 1),
        dest("2001:db8::1234:5678:9abc", 5599, FwdMethod::Tunnel, 1),
    ];
    let out = listing(&[entry(svc, dests)], &ListOptions::default());
    let lines: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(
        lines,
        [
            "TCP  192.168.100.200:clc-build-da wlc",
            "  -> 192.168.100.201:clc-build-da Route   1      0          0         ",
            "  -> [2001:db8::1234:5678:9abc]:clc-build-daemon Tunnel  1      0          0         ",
        ]
    );
    // IPv6 services are never cut; fwmark destinations keep numeric ports.
    let v6 = Service::new(tcp("2001:db8::1234:5678:9abc", 5599), "wlc");
    let fwm = Service::new(ServiceKey::fwmark(AddressFamily::Inet, 1), "wlc");
    let out = listing(
        &[
            entry(v6, vec![]),
            entry(fwm, vec![dest("10.0.0.1", 80, FwdMethod::Route, 1)]),
        ],
        &ListOptions::default(),
    );
    let lines: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(
        lines,
        [
            "TCP  [2001:db8::1234:5678:9abc]:clc-build-daemon wlc",
            "FWM  1 wlc",
            "  -> web1.test:80                 Route   1      0          0         ",
        ]
    );
}

#[test]
fn stats_line_example() {
    let mut svc = VirtualService::new(Service::new(tcp("10.0.0.1", 80), "wlc"));
    svc.observed.stats = Stats {
        conns: 123456789,
        inpkts: 1234567890,
        outpkts: 12345678901,
        inbytes: 123456789012345,
        outbytes: 1234567890123456,
        ..Stats::default()
    }
    .into();
    let opts = ListOptions {
        stats: true,
        ..numeric()
    };
    let out = listing(&[svc], &opts);
    assert_eq!(
        out.lines().nth(2).unwrap(),
        "TCP  10.0.0.1:80                   123456K    1234M   12345M     123T    1234T"
    );
}

#[test]
fn destination_counters_keep_low_32_bits() {
    let svc = Service::new(tcp("10.0.0.1", 80), "wlc");
    let d = dest("10.0.0.2", 80, FwdMethod::Route, 1);
    let observed = DestObserved {
        stats: Stats {
            conns: (1 << 32) + 7,
            outpkts: 12345678901,
            inbytes: 123456789012345,
            cps: (1 << 32) + 5,
            inpps: 123456789,
            inbps: 12345678901,
            ..Stats::default()
        }
        .into(),
        ..DestObserved::default()
    };
    let mut vs = VirtualService::new(svc);
    vs.dests.push(RealServer { dest: d, observed });
    let stats = ListOptions {
        stats: true,
        ..numeric()
    };
    let out = listing(std::slice::from_ref(&vs), &stats);
    assert_eq!(
        out.lines().nth(3).unwrap(),
        "  -> 10.0.0.2:80                         7        0    3755M     123T        0"
    );
    // Rates: cps/inpps/outpps never abbreviated, byte rates are.
    let rate = ListOptions {
        rate: true,
        ..numeric()
    };
    let out = listing(std::slice::from_ref(&vs), &rate);
    assert_eq!(
        out.lines().nth(3).unwrap(),
        "  -> 10.0.0.2:80                         5 123456789        0    3755M        0"
    );
    let exact = ListOptions {
        exact: true,
        ..rate
    };
    let out = listing(&[vs], &exact);
    assert_eq!(
        out.lines().nth(3).unwrap(),
        "  -> 10.0.0.2:80                         5 123456789        0 3755744309        0"
    );
}

#[test]
fn other_destination_formats() {
    let svc = Service::new(tcp("10.0.0.1", 80), "wlc");
    let mut d = dest("10.0.0.2", 80, FwdMethod::Tunnel, u32::MAX);
    d.u_threshold = 10;
    d.l_threshold = 5;
    d.tun_type = TunnelType::Gue;
    d.tun_port = 6080;
    d.tun_flags = TunnelFlags(1);
    let observed = DestObserved {
        active_conns: 1,
        inact_conns: 2,
        persist_conns: 3,
        ..DestObserved::default()
    };
    let mut vs = VirtualService::new(svc.clone());
    vs.dests.push(RealServer { dest: d, observed });
    let line = |opts: ListOptions| {
        let out = listing(std::slice::from_ref(&vs), &opts);
        out.lines().nth(3).unwrap().to_string()
    };
    let n = numeric;
    assert_eq!(
        line(ListOptions {
            thresholds: true,
            ..n()
        }),
        "  -> 10.0.0.2:80                  10         5          1          2         "
    );
    assert_eq!(
        line(ListOptions {
            persistent_conn: true,
            ..n()
        }),
        "  -> 10.0.0.2:80                  4294967295 3           1          2         "
    );
    assert_eq!(
        line(ListOptions {
            tun_info: true,
            ..n()
        }),
        "  -> 10.0.0.2:80                  Tunnel  gue:6080:+c   -1     1          2         "
    );
    assert_eq!(
        line(n()),
        "  -> 10.0.0.2:80                  Tunnel  -1     1          2         "
    );
    // thresholds/persistent-conn/tun-info services look like default ones.
    let out = listing(
        &[entry(svc.clone(), vec![])],
        &ListOptions {
            tun_info: true,
            ..n()
        },
    );
    assert_eq!(out.lines().nth(2).unwrap(), "TCP  10.0.0.1:80 wlc");
}

fn save_text(table: &[VirtualService], numeric: bool) -> String {
    let mut out = Vec::new();
    save::write_save(&mut out, table, numeric, &mut FakeLookup::typical()).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn save_example() {
    let mut wrr = Service::new(tcp("10.0.0.1", 80), "wrr").persistent(120);
    wrr.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
    let mut gue = dest("192.168.1.3", 80, FwdMethod::Tunnel, 1);
    gue.tun_type = TunnelType::Gue;
    gue.tun_port = 6080;
    let mut sh = Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 42), "sh");
    sh.flags.0 |= ServiceFlags::ONEPACKET | ServiceFlags::SCHED2;
    let table = vec![
        entry(
            wrr,
            vec![dest("192.168.1.2", 8080, FwdMethod::Masq, 7), gue],
        ),
        entry(sh, vec![]),
    ];
    assert_eq!(
        save_text(&table, true),
        "\
-A -t 10.0.0.1:80 -s wrr -p 120 -M 255.255.255.0
-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 7
-a -t 10.0.0.1:80 -r 192.168.1.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
-A -f 42 -6 -s sh -o -b sh-port
"
    );
}

#[test]
fn save_details() {
    let mut pe = Service::new(ServiceKey::udp("127.0.0.1".parse().unwrap(), 53), "rr");
    pe.pe_name = Some("sip".into());
    pe.flags.0 |= ServiceFlags::SCHED3;
    let mut v6 = Service::new(tcp("2001:db8::1", 80), "wlc").persistent(360);
    v6.netmask = Netmask::V6(64);
    let mut ipip = dest("10.0.0.2", 80, FwdMethod::Tunnel, 2);
    ipip.u_threshold = 9;
    let mut gre = dest("10.0.0.3", 80, FwdMethod::Tunnel, 2);
    gre.tun_type = TunnelType::Gre;
    gre.tun_flags = TunnelFlags(2);
    let mut sh3 = Service::new(ServiceKey::fwmark(AddressFamily::Inet, 3_000_000_000), "sh");
    sh3.flags.0 |= ServiceFlags::SCHED3;
    let sctp = Service::new(ServiceKey::sctp("10.0.0.1".parse().unwrap(), 80), "rr");
    let table = vec![
        entry(pe, vec![dest("10.0.0.1", 53, FwdMethod::Local, 0)]),
        entry(v6, vec![ipip, gre]),
        entry(sh3, vec![dest("10.0.0.1", 80, FwdMethod::Route, 1)]),
        entry(sctp, vec![]),
    ];
    assert_eq!(
        save_text(&table, false),
        "\
-A -u localhost:domain -s rr --pe sip -b flag-3
-a -u localhost:domain -r web1.test:domain -g -w 0
-A -t [web6.test]:http -s wlc -p 360 -M 64
-a -t [web6.test]:http -r web2.test:http -i -w 2 --tun-type ipip
-a -t [web6.test]:http -r 10.0.0.3:http -i -w 2 --tun-type gre --tun-remcsum
-A -f -1294967296 -s sh -b 
-a -f -1294967296 -r web1.test:80 -g -w 1
-A --sctp-service web1.test:80 -s rr
"
    );
}
