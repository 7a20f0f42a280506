//! The parser against the reference behaviour (behaviour notes §1–5, §8.1; most cases
//! were also run against the reference ipvsadm in the test VM).

use std::net::{IpAddr, Ipv4Addr};

use super::{Dialect, ParseError, parse, parse_bytes};
use crate::cli::{Command, ListOptions, RestoreMode};
use crate::model::{
    AddressFamily, DaemonState, DestKey, Destination, FwdMethod, Netmask, Protocol, Service,
    ServiceFlags, ServiceKey, SyncDaemon, Timeouts, TunnelFlags, TunnelType,
};

fn argv(args: &[&str]) -> Vec<Vec<u8>> {
    std::iter::once("ipvsadm")
        .chain(args.iter().copied())
        .map(|a| a.as_bytes().to_vec())
        .collect()
}

fn run(args: &[&str]) -> Result<Command, ParseError> {
    parse_bytes(&argv(args), false, Dialect::CommandLine)
}

fn ok(args: &[&str]) -> Command {
    run(args).unwrap_or_else(|e| panic!("{args:?} refused: {e:?}"))
}

/// The stderr text and exit status of a refused command line.
fn err(args: &[&str]) -> (String, i32) {
    match run(args) {
        Ok(cmd) => panic!("{args:?} accepted: {cmd:?}"),
        Err(e) => (
            String::from_utf8(e.message).expect("UTF-8 message"),
            e.exit_code,
        ),
    }
}

/// A validation failure: the message (without its newline), exit 2.
fn invalid(args: &[&str]) -> String {
    let (message, code) = err(args);
    assert_eq!(code, 2, "{args:?}: {message}");
    message
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("no newline: {message:?}"))
        .to_string()
}

/// A popt error or the "Try" line: the message (without its newline), exit 255.
fn popt(args: &[&str]) -> String {
    let (message, code) = err(args);
    assert_eq!(code, 255, "{args:?}: {message}");
    message.strip_suffix('\n').unwrap().to_string()
}

const TRY: &str = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.";

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn tcp(addr: IpAddr, port: u16) -> ServiceKey {
    ServiceKey::tcp(addr, port)
}

fn add_service(args: &[&str]) -> Service {
    match ok(args) {
        Command::AddService(s) | Command::EditService(s) => s,
        other => panic!("{args:?}: {other:?}"),
    }
}

fn add_server(args: &[&str]) -> (ServiceKey, Destination) {
    match ok(args) {
        Command::AddServer(k, d) | Command::EditServer(k, d) => (k, d),
        other => panic!("{args:?}: {other:?}"),
    }
}

fn list(args: &[&str]) -> ListOptions {
    match ok(args) {
        Command::List(l) => l,
        other => panic!("{args:?}: {other:?}"),
    }
}

// ---- program flow, popt ----------------------------------------------------------------

#[test]
fn no_arguments_lists() {
    assert_eq!(run(&[]), Ok(Command::List(ListOptions::default())));
    assert_eq!(
        parse(&["ipvsadm".into()]),
        Ok(Command::List(ListOptions::default()))
    );
    assert_eq!(parse(&[]), Ok(Command::List(ListOptions::default())));
}

#[test]
fn first_option_must_be_a_command() {
    for args in [
        &[""][..],
        &["-n", "-L"],
        &["-nL"],
        &["-V"],
        &["--bogus"],
        &["--list=foo"],
        &["-L="],
        &["--start-daemon"],
        &["foo"],
        &["--", "-L"],
        &["--add"],
    ] {
        assert_eq!(popt(args), TRY, "{args:?}");
    }
}

#[test]
fn try_line_uses_argv0_verbatim() {
    let argv = vec![b"/usr/sbin/x y".to_vec(), b"-n".to_vec()];
    let e = parse_bytes(&argv, false, Dialect::CommandLine).unwrap_err();
    assert_eq!(
        e.message,
        b"Try `/usr/sbin/x y -h' or '/usr/sbin/x y --help' for more information.\n"
    );
    assert_eq!(e.exit_code, 255);
}

#[test]
fn help_and_version_stop_at_once() {
    assert_eq!(run(&["-h", "--bogus"]), Ok(Command::Help));
    assert_eq!(run(&["--help"]), Ok(Command::Help));
    assert_eq!(run(&["-v", "-x"]), Ok(Command::Version));
    assert_eq!(run(&["--version"]), Ok(Command::Version));
    assert_eq!(run(&["-hL"]), Ok(Command::Help));
    assert_eq!(run(&["junk", "-v"]), Ok(Command::Version));
}

#[test]
fn popt_errors_in_argv_order() {
    assert_eq!(
        popt(&["-A", "-t", "10.0.0.1:80", "--bogus"]),
        "--bogus: unknown option"
    );
    assert_eq!(
        popt(&["-A", "--bogus", "-t", "80"]),
        "--bogus: unknown option"
    );
    assert_eq!(
        invalid(&["-A", "-t", "80", "--bogus"]),
        "illegal virtual server address[:port] specified"
    );
    assert_eq!(popt(&["-Lz"]), "-Lz: unknown option");
    assert_eq!(
        popt(&["-L", "-n=5"]),
        "-n=5: option does not take an argument"
    );
    assert_eq!(
        popt(&["-Ln=foo"]),
        "-Ln=foo: option does not take an argument"
    );
    assert_eq!(
        popt(&["-Ln==x"]),
        "-Ln==x: option does not take an argument"
    );
    assert_eq!(
        popt(&["-L", "--numeric=foo"]),
        "--numeric=foo: option does not take an argument"
    );
    assert_eq!(
        popt(&["-A", "-t", "10.0.0.1:80", "--pe"]),
        "--pe: missing argument"
    );
    assert_eq!(
        popt(&["-A", "-t", "10.0.0.1:80", "-s"]),
        "-s: missing argument"
    );
    assert_eq!(popt(&["--set", "-1", "2", "3"]), "-1: unknown option");
}

#[test]
fn clusters_and_attached_values() {
    let expect = Service::new(tcp(v4(10, 0, 0, 1), 80), "wlc");
    for args in [
        &["-At", "10.0.0.1:80"][..],
        &["-At10.0.0.1:80"],
        &["-A", "-t10.0.0.1:80"],
        &["-A", "-t=10.0.0.1:80"],
        &["-A", "--tcp-service=10.0.0.1:80"],
        &["--add-service", "--tcp-service", "10.0.0.1:80"],
        &["-A", "-t", "10.0.0.1:80", "-s="],
        &["-A", "-t", "10.0.0.1:80", "--scheduler="],
    ] {
        assert_eq!(add_service(args), expect, "{args:?}");
    }
    assert_eq!(
        add_service(&["-A", "-t", "10.0.0.1:80", "-s=rr"]).scheduler,
        "rr"
    );
    assert_eq!(
        add_service(&["-A", "-t", "10.0.0.1:80", "-srr"]).scheduler,
        "rr"
    );
    assert_eq!(
        add_service(&["-A", "-t", "10.0.0.1:80", "-s==rr"]).scheduler,
        "=rr"
    );
    let l = list(&["-Lnc"]);
    assert!(l.numeric && l.connection);
    let l = list(&["-LnX"]);
    assert!(l.numeric && l.exact);
}

#[test]
fn values_may_look_like_options() {
    assert_eq!(
        add_service(&["-A", "-t", "10.0.0.1:80", "-s", "-n"]).scheduler,
        "-n"
    );
    assert_eq!(
        invalid(&["-A", "-t", "-n"]),
        "illegal virtual server address[:port] specified"
    );
}

#[test]
fn single_dash_long_is_a_cluster() {
    assert_eq!(
        invalid(&["-list"]),
        "Illegal 'scheduler' option with the 'list' command"
    );
}

#[test]
fn double_dash_and_lone_dash_are_positional() {
    assert_eq!(invalid(&["-L", "--", "-n"]), "unexpected argument -n");
    assert_eq!(invalid(&["-L", "-"]), "unexpected argument -");
    assert_eq!(invalid(&["-L", ""]), "unexpected argument ");
    assert_eq!(invalid(&["-L", "-n", "foo"]), "unexpected argument foo");
    assert_eq!(
        invalid(&["-A", "-t", "10.0.0.1:80", "--", "-x"]),
        "unexpected argument -x"
    );
    assert_eq!(invalid(&["foo", "-L"]), "unexpected argument foo");
}

#[test]
fn posixly_correct_stops_at_first_positional() {
    let e = parse_bytes(&argv(&["-L", "foo", "-n"]), true, Dialect::CommandLine).unwrap_err();
    assert_eq!(e.message, b"unexpected argument foo\n");
    let e = parse_bytes(&argv(&["-L", "--bogus", "foo"]), true, Dialect::CommandLine).unwrap_err();
    assert_eq!(e.message, b"--bogus: unknown option\n");
    let e = parse_bytes(&argv(&["-L", "foo", "--bogus"]), true, Dialect::CommandLine).unwrap_err();
    assert_eq!(e.message, b"unexpected argument foo\n");
}

#[test]
fn expansion_of_next_argument() {
    // popt's "!#:+": the next non-option argument is pulled into the value.
    let s = add_service(&["-A", "-t", "10.0.0.1:80", "-s", "a!#:+", "b"]);
    assert_eq!(s.scheduler, "ab");
    let s = add_service(&["-A", "-t", "10.0.0.1:80", "-s", "a!#:+!#:+", "b"]);
    assert_eq!(s.scheduler, "abb");
    let s = add_service(&["-A", "-t", "10.0.0.1:80", "-s", "a!#:+"]);
    assert_eq!(s.scheduler, "a!#:+");
}

#[test]
fn invalid_option_names_last_element_consumed() {
    assert_eq!(invalid(&["-L", "-A"]), "invalid option `-A'");
    assert_eq!(invalid(&["-LA"]), "invalid option `-LA'");
    assert_eq!(invalid(&["-L", "-h"]), "invalid option `-h'");
    assert_eq!(invalid(&["-L", "--set"]), "invalid option `--set'");
    assert_eq!(
        invalid(&["--start-daemon", "master", "--stop-daemon", "master"]),
        "invalid option `master'"
    );
    assert_eq!(
        invalid(&["--start-daemon", "master", "--stop-daemon=backup"]),
        "invalid option `--stop-daemon=backup'"
    );
}

#[test]
fn duplicates() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["-A", "-t", "10.0.0.1:80", "-u", "10.0.0.1:80"],
            "service-address",
        ),
        (&["-A", "-t", "10.0.0.1:80", "-f", "1"], "service-address"),
        (
            &["-A", "-t", "10.0.0.1:80", "-s", "rr", "-s", "wlc"],
            "scheduler",
        ),
        (&["-A", "-t", "10.0.0.1:80", "-p", "-p"], "persistent"),
        (
            &["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-g", "-m"],
            "forwarding-method",
        ),
        (&["-a", "-t", "10.0.0.1:80", "-w", "1", "-w", "2"], "weight"),
        (&["-Lnn"], "numeric"),
        (&["-L", "--stats", "--stats"], "stats"),
        (&["-L", "--syncid", "1", "--syncid", "x"], "syncid"),
    ];
    for (args, name) in cases {
        assert_eq!(
            invalid(args),
            format!("multiple '{name}' options specified"),
            "{args:?}"
        );
    }
    // -6 and --sort are not tracked.
    ok(&["-L", "--sort", "--sort"]);
    let s = add_service(&["-A", "-f", "1", "-6", "-6"]);
    assert_eq!(s.key, ServiceKey::fwmark(AddressFamily::Inet6, 1));
}

// ---- services ------------------------------------------------------------------------

#[test]
fn add_service_defaults() {
    let s = add_service(&["-A", "-t", "10.0.0.1:80"]);
    assert_eq!(s, Service::new(tcp(v4(10, 0, 0, 1), 80), "wlc"));
    assert_eq!(s.netmask, Netmask::V4(Ipv4Addr::BROADCAST));
    assert_eq!(s.flags, ServiceFlags(0));
    assert_eq!(s.timeout, 0);
    assert_eq!(s.pe_name, None);
    match ok(&["-E", "-u", "10.0.0.1:53"]) {
        Command::EditService(s) => {
            assert_eq!(s, Service::new(ServiceKey::udp(v4(10, 0, 0, 1), 53), "wlc"))
        }
        other => panic!("{other:?}"),
    }
    let s = add_service(&["-A", "--sctp-service", "10.0.0.1:80"]);
    assert_eq!(s.key, ServiceKey::sctp(v4(10, 0, 0, 1), 80));
}

#[test]
fn service_address_forms() {
    let key = |args: &[&str]| add_service(args).key;
    let cases: &[(&str, IpAddr, u16)] = &[
        ("10.1:80", v4(10, 0, 0, 1), 80),
        ("1.2.3:80", v4(1, 2, 0, 3), 80),
        ("0x0a000003:80", v4(10, 0, 0, 3), 80),
        ("010.0.0.4:80", v4(8, 0, 0, 4), 80),
        ("167772161:80", v4(10, 0, 0, 1), 80),
        ("8080:80", v4(0, 0, 31, 144), 80),
        ("10.0.0.1: 80", v4(10, 0, 0, 1), 80),
        ("10.0.0.1:+80", v4(10, 0, 0, 1), 80),
        ("10.0.0.1:080", v4(10, 0, 0, 1), 80),
        ("10.0.0.1:http", v4(10, 0, 0, 1), 80),
        ("10.0.0.1:www", v4(10, 0, 0, 1), 80),
        ("localhost:80", v4(127, 0, 0, 1), 80),
        ("10.0.0.1 x:80", v4(10, 0, 0, 1), 80),
        ("[2001:db8::1]:80", v6("2001:db8::1"), 80),
        ("[::1]:http", v6("::1"), 80),
    ];
    for (text, addr, port) in cases {
        assert_eq!(key(&["-A", "-t", text]), tcp(*addr, *port), "{text}");
    }
    // Without a port: port 0, which needs persistence.
    for (text, addr) in [
        ("::1", v6("::1")),
        ("2001:db8::1:80", v6("2001:db8::1:80")),
        ("[10.0.0.6]:80", v4(10, 0, 0, 6)),
        ("10.0.0.6", v4(10, 0, 0, 6)),
    ] {
        assert_eq!(key(&["-A", "-t", text, "-p"]), tcp(addr, 0), "{text}");
    }
    for text in [
        "",
        "80",
        "[::1]",
        "[2001:db8::3]80",
        "[::1",
        "[::1]:",
        "10.0.0.1:",
        "10.0.0.1:HTTP",
        "10.0.0.1:65536",
        "10.0.0.1:-1",
        "fe80::1%eth0",
        "no-such-host.invalid:80",
        "10.0.0.1:nosuchservice",
        "10.0.0.256:80",
    ] {
        assert_eq!(
            invalid(&["-A", "-t", text]),
            "illegal virtual server address[:port] specified",
            "{text:?}"
        );
    }
    // Port names are looked up for the protocol of the option.
    assert_eq!(
        add_service(&["-A", "-u", "10.0.0.1:domain"]).key,
        ServiceKey::udp(v4(10, 0, 0, 1), 53)
    );
}

#[test]
fn ipv6_service_gets_prefix_mask() {
    let s = add_service(&["-A", "-t", "[2001:db8::1]:80"]);
    assert_eq!(s.netmask, Netmask::V6(128));
    let s = add_service(&["-A", "-t", "[2001:db8::7]:80", "-p", "-M", "64"]);
    assert_eq!(s.netmask, Netmask::V6(64));
    // -M before the IPv6 address is read as IPv4, then reset.
    let s = add_service(&["-A", "-M", "64", "-t", "[2001:db8::7]:80", "-p"]);
    assert_eq!(s.netmask, Netmask::V6(128));
}

#[test]
fn fwmark_values() {
    let mark = |v: &str| match add_service(&["-A", "-f", v]).key {
        ServiceKey::Fwmark { af, mark } => {
            assert_eq!(af, AddressFamily::Inet);
            mark
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(mark("1"), 1);
    assert_eq!(mark("+7"), 7);
    assert_eq!(mark(" 8"), 8);
    assert_eq!(mark("010"), 10);
    assert_eq!(mark("4294967295"), 4294967295);
    for v in [
        "0",
        "-1",
        "-0",
        "4294967296",
        "1x",
        "0x10",
        "",
        " ",
        "99999999999999999999",
    ] {
        assert_eq!(
            invalid(&["-A", "-f", v]),
            format!("invalid fwmark value `{v}' specified")
        );
    }
}

#[test]
fn ipv6_flag() {
    let s = add_service(&["-A", "-f", "1", "-6"]);
    assert_eq!(s.key, ServiceKey::fwmark(AddressFamily::Inet6, 1));
    assert_eq!(s.netmask, Netmask::V6(128));
    let s = add_service(&["-A", "-f", "1", "-p", "-M", "64", "-6"]);
    assert_eq!(s.netmask, Netmask::V6(128));
    let s = add_service(&["-A", "-f", "1", "-6", "-p", "-M", "64"]);
    assert_eq!(s.netmask, Netmask::V6(64));
    for args in [
        &["-Ln", "-6"][..],
        &["-C", "-6"],
        &["-Z", "-6"],
        &["-A", "-t", "10.0.0.1:80", "-6"],
        &["-A", "-6", "-f", "1"],
    ] {
        let (message, code) = err(args);
        assert_eq!(
            (message.as_str(), code),
            ("-6 used before -f\n\n", 2),
            "{args:?}"
        );
    }
    // -6 is in no matrix row.
    let l = list(&["-L", "-f", "3", "-6"]);
    assert_eq!(l.service, Some(ServiceKey::fwmark(AddressFamily::Inet6, 3)));
}

#[test]
fn scheduler() {
    let s = add_service(&[
        "-A",
        "-t",
        "10.0.0.1:80",
        "-s",
        "abcdefghijklmnopqrstuvwxyz",
    ]);
    assert_eq!(s.scheduler, "abcdefghijklmno");
    let s = add_service(&["-A", "-t", "10.0.0.1:80", "-s", ""]);
    assert_eq!(s.scheduler, "wlc");
    let s = add_service(&["-A", "-t", "10.0.0.1:80", "--scheduler", "RR"]);
    assert_eq!(s.scheduler, "RR");
}

#[test]
fn persistence() {
    let p = |args: &[&str]| {
        let s = add_service(args);
        assert!(s.flags.contains(ServiceFlags::PERSISTENT));
        s.timeout
    };
    let base = ["-A", "-t", "10.0.0.1:80"];
    let with = |extra: &[&'static str]| {
        let mut v: Vec<&str> = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    assert_eq!(p(&with(&["-p"])), 360);
    assert_eq!(p(&with(&["-p", "600"])), 600);
    assert_eq!(p(&with(&["-p600"])), 600);
    assert_eq!(p(&with(&["-p=5"])), 5);
    assert_eq!(p(&with(&["--persistent", "800"])), 800);
    assert_eq!(p(&with(&["--persistent=700"])), 700);
    assert_eq!(p(&with(&["-p", "-s", "rr"])), 360);
    assert_eq!(p(&with(&["-p", "2678400"])), 2678400);
    assert_eq!(p(&["-Ap", "-t", "10.0.0.1:80"]), 360);
    assert_eq!(popt(&with(&["-p", "-5"])), "-5: unknown option");
    for (args, v) in [
        (with(&["-p", "rr"]), "rr"),
        (with(&["-p", ""]), ""),
        (with(&["--persistent="]), ""),
        (with(&["-p", "0"]), "0"),
        (with(&["-p", "2678401"]), "2678401"),
        (with(&["-pn"]), "n"),
    ] {
        assert_eq!(
            invalid(&args),
            format!("invalid timeout value `{v}' specified")
        );
    }
}

#[test]
fn ipv4_netmask() {
    let mask = |m: &str| add_service(&["-A", "-t", "10.0.0.1:80", "-p", "-M", m]).netmask;
    assert_eq!(
        mask("255.255.255.0"),
        Netmask::V4(Ipv4Addr::new(255, 255, 255, 0))
    );
    assert_eq!(mask("24"), Netmask::V4(Ipv4Addr::new(0, 0, 0, 24)));
    assert_eq!(
        mask("0.255.0.255"),
        Netmask::V4(Ipv4Addr::new(0, 255, 0, 255))
    );
    assert_eq!(mask("localhost"), Netmask::V4(Ipv4Addr::LOCALHOST));
    for m in ["255.255.255.0x", "", "no-such-host.invalid", "4294967360"] {
        assert_eq!(
            invalid(&["-A", "-t", "10.0.0.1:80", "-M", m]),
            "illegal virtual server persistent mask specified",
            "{m:?}"
        );
    }
    // Accepted and stored without -p.
    assert_eq!(
        add_service(&["-A", "-t", "10.0.0.1:80", "-M", "255.0.0.0"]).netmask,
        Netmask::V4(Ipv4Addr::new(255, 0, 0, 0))
    );
}

#[test]
fn ipv6_netmask_uses_atoi() {
    let mask = |m: &str| add_service(&["-A", "-f", "1", "-6", "-p", "-M", m]).netmask;
    assert_eq!(mask("64"), Netmask::V6(64));
    assert_eq!(mask("64abc"), Netmask::V6(64));
    assert_eq!(mask(" +128"), Netmask::V6(128));
    assert_eq!(mask("4294967360"), Netmask::V6(64));
    for m in [
        "0",
        "129",
        "ffff::",
        "-0",
        "",
        "-64",
        "99999999999999999999",
    ] {
        assert_eq!(
            invalid(&["-A", "-f", "1", "-6", "-M", m]),
            "illegal ipv6 netmask specified",
            "{m:?}"
        );
    }
}

#[test]
fn pe_ops_and_sched_flags() {
    let s = add_service(&["-A", "-t", "10.0.0.1:80", "--pe", "sip"]);
    assert_eq!(s.pe_name.as_deref(), Some("sip"));
    let s = add_service(&["-A", "-t", "10.0.0.1:80", "--pe", "abcdefghijklmnopqrs"]);
    assert_eq!(s.pe_name.as_deref(), Some("abcdefghijklmnop"));
    assert_eq!(
        add_service(&["-A", "-t", "10.0.0.1:80", "--pe="]).pe_name,
        None
    );

    let s = add_service(&["-A", "-u", "10.0.0.1:53", "-o"]);
    assert_eq!(s.flags, ServiceFlags(ServiceFlags::ONEPACKET));
    let s = add_service(&["-A", "-f", "1", "--ops"]);
    assert_eq!(s.flags, ServiceFlags(ServiceFlags::ONEPACKET));
    assert_eq!(
        invalid(&["-A", "-t", "10.0.0.1:80", "-o"]),
        "One-Packet Scheduling is only for UDP virtual services"
    );
    // Zero port is checked before -o.
    assert_eq!(
        invalid(&["-A", "-t", "10.0.0.1", "-o"]),
        "Zero port specified for non-persistent service"
    );

    let flags = |extra: &[&str]| {
        let mut args = vec!["-A", "-t", "10.0.0.1:80"];
        args.extend_from_slice(extra);
        add_service(&args).flags.0
    };
    assert_eq!(flags(&["-b", "flag-1,,flag-3"]), 0x08 | 0x20);
    assert_eq!(flags(&["-b", ",flag-2,"]), 0x10);
    assert_eq!(flags(&["-b", ""]), 0);
    assert_eq!(flags(&["-b", "sh-port", "-s", "sh"]), 0x10);
    assert_eq!(flags(&["-s", "sh", "-b", "sh-fallback,sh-port"]), 0x18);
    assert_eq!(flags(&["-s", "mh", "-b", "mh-fallback", "-p"]), 0x09);
}

#[test]
fn sched_flag_errors() {
    let b = |extra: &[&str]| {
        let mut args = vec!["-A", "-t", "10.0.0.1:80"];
        args.extend_from_slice(extra);
        invalid(&args)
    };
    assert_eq!(
        b(&["-b", "sh-port"]),
        "incompatible scheduler flag `sh-port'"
    );
    assert_eq!(
        b(&["-s", "mh", "-b", "sh-port"]),
        "incompatible scheduler flag `sh-port'"
    );
    assert_eq!(
        b(&["-s", "sh", "-b", "mh-port"]),
        "incompatible scheduler flag `mh-port'"
    );
    assert_eq!(
        b(&["-s=", "-b", "sh-port"]),
        "incompatible scheduler flag `sh-port'"
    );
    assert_eq!(
        b(&["-b", "flag-1,bogus,sh-port"]),
        "invalid scheduler flag `bogus'"
    );
    assert_eq!(
        b(&["-b", "flag-1,sh-port,bogus"]),
        "incompatible scheduler flag `sh-port'"
    );
    // The reference crashes on an empty list; here it is an invalid flag.
    assert_eq!(b(&["-b", ","]), "invalid scheduler flag `,'");
    assert_eq!(b(&["-b", ",,"]), "invalid scheduler flag `,,'");
    // Flags are parsed before the matrix.
    assert_eq!(
        invalid(&["-D", "-t", "10.0.0.1:80", "-b", "sh-port"]),
        "incompatible scheduler flag `sh-port'"
    );
    assert_eq!(
        invalid(&["-D", "-t", "10.0.0.1:80", "-b", "flag-1"]),
        "Illegal 'sched-flags' option with the 'delete-service' command"
    );
}

#[test]
fn zero_port_needs_persistence() {
    assert_eq!(
        invalid(&["-A", "-t", "10.0.0.1:0"]),
        "Zero port specified for non-persistent service"
    );
    assert_eq!(
        invalid(&["-E", "-t", "10.0.0.1"]),
        "Zero port specified for non-persistent service"
    );
    let s = add_service(&["-A", "-t", "10.0.0.1:0", "-p", "100"]);
    assert_eq!(
        s,
        Service::new(tcp(v4(10, 0, 0, 1), 0), "wlc").persistent(100)
    );
    add_service(&["-A", "-f", "9"]);
}

#[test]
fn full_service() {
    let s = add_service(&[
        "-A",
        "-t",
        "10.0.0.1:80",
        "-s",
        "rr",
        "-p",
        "300",
        "-M",
        "255.255.255.0",
        "--pe",
        "sip",
        "-b",
        "flag-1",
    ]);
    let mut expect = Service::new(tcp(v4(10, 0, 0, 1), 80), "rr").persistent(300);
    expect.flags.0 |= ServiceFlags::SCHED1;
    expect.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
    expect.pe_name = Some("sip".into());
    assert_eq!(s, expect);
}

// ---- destinations ----------------------------------------------------------------------

#[test]
fn add_server_defaults_and_port_forcing() {
    let (k, d) = add_server(&["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2"]);
    assert_eq!(k, tcp(v4(10, 0, 0, 1), 80));
    assert_eq!(d, Destination::new(v4(10, 0, 0, 2), 80, FwdMethod::Route));
    assert_eq!(d.weight, 1);
    // -g and -i force the service port; -m keeps its own.
    let (_, d) = add_server(&["-a", "-t", "10.0.0.1:80", "-r", "192.168.1.4:8080", "-i"]);
    assert_eq!((d.port, d.fwd), (80, FwdMethod::Tunnel));
    let (_, d) = add_server(&["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:8080", "-g"]);
    assert_eq!((d.port, d.fwd), (80, FwdMethod::Route));
    let (_, d) = add_server(&["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:8080", "-m"]);
    assert_eq!((d.port, d.fwd), (8080, FwdMethod::Masq));
    let (_, d) = add_server(&[
        "-e",
        "-t",
        "10.0.0.1:80",
        "-r",
        "10.0.0.2",
        "--masquerading",
    ]);
    assert_eq!((d.port, d.fwd), (80, FwdMethod::Masq));
    // fwmark services keep the given port (default 0).
    let (k, d) = add_server(&["-a", "-f", "5", "-r", "10.0.0.2:8080"]);
    assert_eq!(k, ServiceKey::fwmark(AddressFamily::Inet, 5));
    assert_eq!(d.port, 8080);
    let (_, d) = add_server(&["-a", "-f", "5", "-r", "10.0.0.2"]);
    assert_eq!(d.port, 0);
}

#[test]
fn real_server_before_service() {
    // Protocol unknown yet: port names fail, no port means 0.
    assert_eq!(
        invalid(&["-a", "-r", "10.0.0.3:http", "-t", "10.0.0.1:80"]),
        "illegal real server address[:port] specified"
    );
    let (_, d) = add_server(&["-a", "-r", "10.0.0.2", "-t", "10.0.0.1:80", "-m"]);
    assert_eq!(d.port, 0);
    let (_, d) = add_server(&["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.3:http", "-m"]);
    assert_eq!(d.port, 80);
    let (_, d) = add_server(&["-a", "-f", "1", "-r", "10.0.0.3:http"]);
    assert_eq!(d.port, 80);
    let (_, d) = add_server(&["-a", "-u", "10.0.0.1:53", "-r", "10.0.0.3:domain", "-m"]);
    assert_eq!(d.port, 53);
    for text in ["", "80", "10.0.0.1:", "[::1]", "no-such-host.invalid"] {
        assert_eq!(
            invalid(&["-a", "-t", "10.0.0.1:80", "-r", text]),
            "illegal real server address[:port] specified"
        );
    }
}

#[test]
fn weights_and_thresholds() {
    let (_, d) = add_server(&[
        "-a",
        "-t",
        "10.0.0.1:80",
        "-r",
        "10.0.0.2",
        "-w",
        "2147483647",
        "-x",
        " +5",
        "-y",
        "010",
    ]);
    assert_eq!(
        (d.weight, d.u_threshold, d.l_threshold),
        (2147483647, 5, 10)
    );
    let (_, d) = add_server(&["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-w", "0"]);
    assert_eq!(d.weight, 0);
    let base = ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2"];
    for (opt, v, msg) in [
        ("-w", "2147483648", "illegal weight specified"),
        ("-w", "-1", "illegal weight specified"),
        ("-w", "0x10", "illegal weight specified"),
        ("--weight", "", "illegal weight specified"),
        ("-x", "-1", "illegal u_threshold specified"),
        ("-y", "1x", "illegal l_threshold specified"),
    ] {
        let mut args = base.to_vec();
        args.extend([opt, v]);
        assert_eq!(invalid(&args), msg, "{opt} {v:?}");
    }
}

#[test]
fn address_family_mismatch() {
    assert_eq!(
        invalid(&["-a", "-t", "10.0.0.1:80", "-r", "[2001:db8::1]:80", "-m"]),
        "Different address family is allowed only for tunneling servers"
    );
    assert_eq!(
        invalid(&["-e", "-f", "1", "-6", "-r", "10.0.0.2"]),
        "Different address family is allowed only for tunneling servers"
    );
    let (k, d) = add_server(&["-a", "-t", "10.0.0.1:80", "-r", "2001:db8::1", "-i"]);
    assert_eq!(k.af(), AddressFamily::Inet);
    assert_eq!((d.addr, d.port), (v6("2001:db8::1"), 80));
    // -d does not check the family.
    match ok(&["-d", "-t", "10.0.0.1:80", "-r", "[2001:db8::1]:81"]) {
        Command::DeleteServer(k, d) => {
            assert_eq!(k, tcp(v4(10, 0, 0, 1), 80));
            assert_eq!(
                d,
                DestKey {
                    addr: v6("2001:db8::1"),
                    port: 81
                }
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn delete_server_keeps_port() {
    let del = |args: &[&str]| match ok(args) {
        Command::DeleteServer(k, d) => (k, d),
        other => panic!("{other:?}"),
    };
    let (_, d) = del(&["-d", "-t", "10.0.0.1:80", "-r", "10.0.0.2:8080"]);
    assert_eq!(d.port, 8080);
    let (_, d) = del(&["-d", "-t", "10.0.0.1:80", "-r", "10.0.0.2"]);
    assert_eq!(d.port, 80);
    assert_eq!(
        invalid(&["-d", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-m"]),
        "Illegal 'forwarding-method' option with the 'delete-server' command"
    );
}

#[test]
fn tunnels() {
    let base = ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2"];
    let tun = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let ok_tun = |extra: &[&str]| {
        let args = tun(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        add_server(&args).1
    };
    let bad_tun = |extra: &[&str]| {
        let args = tun(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        invalid(&args)
    };
    let d = ok_tun(&["-i"]);
    assert_eq!(
        (d.tun_type, d.tun_port, d.tun_flags),
        (TunnelType::Ipip, 0, TunnelFlags(0))
    );
    let d = ok_tun(&["-i", "--tun-type", "ipip"]);
    assert_eq!(d.tun_type, TunnelType::Ipip);
    let d = ok_tun(&[
        "-i",
        "--tun-type",
        "gue",
        "--tun-port",
        "6080",
        "--tun-csum",
    ]);
    assert_eq!(
        (d.tun_type, d.tun_port, d.tun_flags),
        (TunnelType::Gue, 6080, TunnelFlags(1))
    );
    let d = ok_tun(&["-i", "--tun-type=gue", "--tun-port=6081", "--tun-remcsum"]);
    assert_eq!(d.tun_flags, TunnelFlags(2));
    let d = ok_tun(&["-i", "--tun-type", "gue", "--tun-port", "1", "--tun-nocsum"]);
    assert_eq!(d.tun_flags, TunnelFlags(0));
    let d = ok_tun(&["-i", "--tun-type", "gre", "--tun-csum"]);
    assert_eq!((d.tun_type, d.tun_flags), (TunnelType::Gre, TunnelFlags(1)));
    let d = ok_tun(&["-i", "--tun-type", "gue", "--tun-port", "65535"]);
    assert_eq!(d.tun_port, 65535);

    let cases: &[(&[&str], &str)] = &[
        (&["--tun-type", "vxlan"], "illegal tunnel type specified"),
        (&["--tun-type", "GUE"], "illegal tunnel type specified"),
        (&["--tun-port", "0"], "illegal tunnel port specified"),
        (&["--tun-port", "65536"], "illegal tunnel port specified"),
        (
            &["--tun-port", "1"],
            "Tunnel options conflict with forward method",
        ),
        (
            &["-m", "--tun-type", "ipip"],
            "Tunnel options conflict with forward method",
        ),
        (
            &["--tun-nocsum", "-g"],
            "Tunnel options conflict with forward method",
        ),
        (
            &["--tun-port", "1", "-i"],
            "Illegal 'tun-port' option with the 'ipip' tunnel type",
        ),
        (
            &["--tun-csum", "-i"],
            "Illegal 'tun-csum' option with the 'ipip' tunnel type",
        ),
        (
            &["--tun-type", "gue", "-i", "--tun-remcsum"],
            "You need to supply the 'tun-port' option for the 'gue' tunnel type",
        ),
        (
            &[
                "--tun-type",
                "gue",
                "-i",
                "--tun-port",
                "1",
                "--tun-remcsum",
                "--tun-csum",
            ],
            "The option 'tun-remcsum' conflicts with the 'tun-csum' option in the 'gue' tunnel type",
        ),
        (
            &["--tun-type", "gre", "--tun-csum", "-i", "--tun-nocsum"],
            "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gre' tunnel type",
        ),
        (
            &["--tun-type", "gre", "-i", "--tun-port", "5"],
            "Illegal 'tun-port' option with the 'gre' tunnel type",
        ),
        (
            &["--tun-type", "gre", "-i", "--tun-remcsum"],
            "Illegal 'tun-remcsum' option with the 'gre' tunnel type",
        ),
        (
            &["--tun-type", "gue", "--tun-type", "gre"],
            "multiple 'tun-type' options specified",
        ),
    ];
    for (extra, msg) in cases {
        assert_eq!(bad_tun(extra), *msg, "{extra:?}");
    }
    // The family check comes before the tunnel checks.
    assert_eq!(
        invalid(&[
            "-a",
            "-t",
            "10.0.0.1:80",
            "-r",
            "2001:db8::1",
            "--tun-port",
            "1"
        ]),
        "Different address family is allowed only for tunneling servers"
    );
    assert_eq!(
        invalid(&[
            "-d",
            "-t",
            "10.0.0.1:80",
            "-r",
            "10.0.0.2",
            "--tun-type",
            "gue"
        ]),
        "Illegal 'tun-type' option with the 'delete-server' command"
    );
}

// ---- matrix --------------------------------------------------------------------------

#[test]
fn matrix_messages() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["-a", "-r", "1.1.1.1", "-s", "rr"],
            "You need to supply the 'service-address' option for the 'add-server' command",
        ),
        (
            &["-a", "-s", "rr", "-r", "1.1.1.1", "-t", "10.0.0.1:80"],
            "Illegal 'scheduler' option with the 'add-server' command",
        ),
        (
            &["-a", "-t", "10.0.0.1:80"],
            "You need to supply the 'real-server' option for the 'add-server' command",
        ),
        (
            &["-A"],
            "You need to supply the 'service-address' option for the 'add-service' command",
        ),
        (
            &["-A", "-n"],
            "Illegal 'numeric' option with the 'add-service' command",
        ),
        (
            &["-D"],
            "You need to supply the 'service-address' option for the 'delete-service' command",
        ),
        (
            &["-C", "-t", "10.0.0.1:80"],
            "Illegal 'service-address' option with the 'flush' command",
        ),
        (
            &["-R", "-n"],
            "Illegal 'numeric' option with the 'restore' command",
        ),
        (
            &["-S", "-c"],
            "Illegal 'connection' option with the 'save' command",
        ),
        (
            &["-Z", "-n"],
            "Illegal 'numeric' option with the 'zero' command",
        ),
        (
            &["--set", "1", "2", "3", "-n"],
            "Illegal 'numeric' option with the 'set' command",
        ),
        (
            &["--stop-daemon", "master", "--mcast-interface", "eth1"],
            "Illegal 'mcast-interface' option with the 'stop-daemon' command",
        ),
        (
            &["--start-daemon", "backup", "-n"],
            "Illegal 'numeric' option with the 'start-daemon' command",
        ),
        (
            &["-L", "--daemon", "--timeout"],
            "The option 'daemon' conflicts with the 'timeout' option in the 'list' command",
        ),
        (
            &["-L", "-c", "-t", "10.0.0.1:80"],
            "The option 'service-address' conflicts with the 'connection' option in the 'list' command",
        ),
        (
            &["-L", "-t", "10.0.0.1:80", "--timeout"],
            "The option 'timeout' conflicts with the 'service-address' option in the 'list' command",
        ),
        (
            &["-L", "-o"],
            "Illegal 'ops' option with the 'list' command",
        ),
        (
            &["-L", "--mcast-ttl", "5"],
            "Illegal 'mcast-ttl' option with the 'list' command",
        ),
        (
            &["-e", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--tun-info"],
            "Illegal 'tun-info' option with the 'edit-server' command",
        ),
    ];
    for (args, msg) in cases {
        assert_eq!(invalid(args), *msg, "{args:?}");
    }
}

#[test]
fn list_options() {
    let l = list(&[
        "-l",
        "-c",
        "--persistent-conn",
        "--tun-info",
        "-X",
        "--nosort",
        "-n",
        "--sort",
        "--sort",
    ]);
    assert_eq!(
        l,
        ListOptions {
            connection: true,
            persistent_conn: true,
            tun_info: true,
            exact: true,
            nosort: true,
            numeric: true,
            ..Default::default()
        }
    );
    let l = list(&[
        "--list",
        "--stats",
        "--rate",
        "--thresholds",
        "--exact",
        "--syncid",
        "7",
    ]);
    assert!(l.stats && l.rate && l.thresholds && l.exact);
    let l = list(&["-L", "--timeout"]);
    assert!(l.timeout);
    let l = list(&["-L", "--daemon"]);
    assert!(l.daemon);
    let l = list(&["-Ln", "-u", "10.0.0.1:53"]);
    assert_eq!(l.service, Some(ServiceKey::udp(v4(10, 0, 0, 1), 53)));
    let l = list(&["-L", "-t", "10.0.0.1"]);
    assert_eq!(l.service, Some(tcp(v4(10, 0, 0, 1), 0)));
    for args in [
        &["-L", "--timeout", "--persistent-conn"][..],
        &["-L", "--daemon", "--persistent-conn"],
        &["-L", "-c", "--stats"],
        &["-L", "--timeout", "--rate"],
        &["-L", "--daemon", "--thresholds"],
    ] {
        assert_eq!(
            invalid(args),
            "options conflicts in the list command",
            "{args:?}"
        );
    }
    assert_eq!(
        invalid(&["-L", "--syncid", "256"]),
        "illegal syncid specified"
    );
}

// ---- other commands ---------------------------------------------------------------------

#[test]
fn simple_commands() {
    assert_eq!(ok(&["-C"]), Command::Clear);
    assert_eq!(ok(&["--clear"]), Command::Clear);
    assert_eq!(ok(&["-R"]), Command::Restore(RestoreMode::Compatible));
    assert_eq!(ok(&["-R", "--test"]), Command::Restore(RestoreMode::Test));
    assert_eq!(
        ok(&["-R", "--strict"]),
        Command::Restore(RestoreMode::Strict)
    );
    assert_eq!(
        invalid(&["-R", "--test", "--strict"]),
        "The option 'strict' conflicts with the 'test' option in the 'restore' command"
    );
    assert_eq!(
        invalid(&["-L", "--test"]),
        "Illegal 'test' option with the 'list' command"
    );
    assert_eq!(ok(&["-S"]), Command::Save { numeric: false });
    assert_eq!(ok(&["-Sn"]), Command::Save { numeric: true });
    assert_eq!(
        ok(&["--save", "--numeric"]),
        Command::Save { numeric: true }
    );
    assert_eq!(ok(&["-Z"]), Command::Zero(None));
    assert_eq!(
        ok(&["-Z", "-t", "10.0.0.1:80"]),
        Command::Zero(Some(tcp(v4(10, 0, 0, 1), 80)))
    );
    assert_eq!(
        ok(&["-D", "-u", "10.0.0.1:53"]),
        Command::DeleteService(ServiceKey::udp(v4(10, 0, 0, 1), 53))
    );
    assert_eq!(
        ok(&["--delete-service", "--fwmark-service", "3", "-6"]),
        Command::DeleteService(ServiceKey::fwmark(AddressFamily::Inet6, 3))
    );
    assert_eq!(
        ok(&["-D", "-t", "10.0.0.1"]),
        Command::DeleteService(tcp(v4(10, 0, 0, 1), 0))
    );
}

#[test]
fn set_timeouts() {
    assert_eq!(
        ok(&["--set", "1", "2", "3"]),
        Command::SetTimeouts(Timeouts {
            tcp: 1,
            tcp_fin: 2,
            udp: 3
        })
    );
    assert_eq!(
        ok(&["--set", "0", "+0", "2678400"]),
        Command::SetTimeouts(Timeouts {
            tcp: 0,
            tcp_fin: 0,
            udp: 2678400
        })
    );
    // Positional values may be interleaved with options (none is legal, though).
    assert_eq!(
        ok(&["5", "--set", "6", "--", "7"]),
        Command::SetTimeouts(Timeouts {
            tcp: 5,
            tcp_fin: 6,
            udp: 7
        })
    );
    assert_eq!(
        invalid(&["--set"]),
        "--set option requires 3 timeout values"
    );
    assert_eq!(
        invalid(&["--set", "1", "2"]),
        "--set option requires 3 timeout values"
    );
    assert_eq!(
        invalid(&["--set", "1", "2", "3", "4"]),
        "unexpected argument 4"
    );
    assert_eq!(
        invalid(&["--set", "1", "x", "3", "4"]),
        "invalid timeout value `x' specified"
    );
    assert_eq!(
        invalid(&["--set", "x", "y", "z"]),
        "invalid timeout value `x' specified"
    );
    assert_eq!(
        invalid(&["--set", "1", "2", "2678401"]),
        "invalid timeout value `2678401' specified"
    );
    assert_eq!(
        invalid(&["--set", "1", "2", "3", "-s", "rr"]),
        "Illegal 'scheduler' option with the 'set' command"
    );
}

#[test]
fn daemons() {
    let mut expect = SyncDaemon::new(DaemonState::Master, "eth0");
    assert_eq!(
        ok(&["--start-daemon", "master"]),
        Command::StartDaemon(expect.clone())
    );
    assert_eq!(
        ok(&["--start-daemon=master"]),
        Command::StartDaemon(expect.clone())
    );
    expect = SyncDaemon::new(DaemonState::Backup, "abcdefghijklmno");
    expect.sync_id = 255;
    expect.sync_maxlen = 65507;
    expect.mcast_group = Some(v6("ff02::1"));
    expect.mcast_port = 65535;
    expect.mcast_ttl = 255;
    assert_eq!(
        ok(&[
            "--start-daemon",
            "backup",
            "--mcast-interface",
            "abcdefghijklmnopq",
            "--syncid",
            "255",
            "--sync-maxlen",
            "65507",
            "--mcast-group",
            "ff02::1",
            "--mcast-port",
            "65535",
            "--mcast-ttl",
            "255",
        ]),
        Command::StartDaemon(expect)
    );
    match ok(&["--start-daemon", "master", "--mcast-group", "239.1.2.3"]) {
        Command::StartDaemon(d) => assert_eq!(d.mcast_group, Some(v4(239, 1, 2, 3))),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ok(&["--stop-daemon", "backup", "--syncid", "9"]),
        Command::StopDaemon {
            state: DaemonState::Backup,
            sync_id: 9
        }
    );
    assert_eq!(
        ok(&["--stop-daemon", "master"]),
        Command::StopDaemon {
            state: DaemonState::Master,
            sync_id: 0
        }
    );
    let start = |extra: &[&str]| {
        let mut args = vec!["--start-daemon", "master"];
        args.extend_from_slice(extra);
        invalid(&args)
    };
    assert_eq!(
        invalid(&["--start-daemon", "Master"]),
        "illegal start-daemon parameter specified"
    );
    assert_eq!(
        invalid(&["--start-daemon="]),
        "illegal start-daemon parameter specified"
    );
    assert_eq!(
        invalid(&["--stop-daemon", "x"]),
        "illegal start_daemon specified"
    );
    assert_eq!(
        start(&["--mcast-group", "10.0.0.1"]),
        "invalid IPv4 mcast-group `10.0.0.1'"
    );
    assert_eq!(
        start(&["--mcast-group", "224.1"]),
        "invalid IPv4 mcast-group `224.1'"
    );
    assert_eq!(
        start(&["--mcast-group", "ff02::1x"]),
        "invalid IPv6 mcast-group `ff02::1x'"
    );
    assert_eq!(
        start(&["--mcast-group", "2001:db8::1"]),
        "invalid IPv6 mcast-group `2001:db8::1'"
    );
    assert_eq!(
        start(&["--mcast-port", "0"]),
        "illegal mcast-port specified"
    );
    assert_eq!(
        start(&["--mcast-ttl", "256"]),
        "illegal mcast-ttl specified"
    );
    assert_eq!(
        start(&["--sync-maxlen", "65508"]),
        "illegal sync-maxlen specified"
    );
    assert_eq!(start(&["--syncid", "-1"]), "illegal syncid specified");
    // The value check comes first: popt has the whole first option before ipvsadm looks.
    assert_eq!(popt(&["--start-daemon"]), TRY);
}

#[test]
fn non_utf8_never_panics() {
    let weird: &[&[u8]] = &[
        b"\xff",
        b"-\xff",
        b"--\xff",
        b"-A\xff",
        b"-t\xff:80",
        b"\xff=\xff",
    ];
    for first in [&b"-A"[..], b"-L", b"--set", b"-a", b"\xff"] {
        for w in weird {
            let argv = vec![b"ipvsadm".to_vec(), first.to_vec(), w.to_vec(), w.to_vec()];
            let _ = parse_bytes(&argv, false, Dialect::CommandLine);
        }
    }
    let argv = vec![
        b"ipvsadm".to_vec(),
        b"-A".to_vec(),
        b"-t".to_vec(),
        b"1.2.3.4:80".to_vec(),
        b"-s".to_vec(),
        b"r\xffr".to_vec(),
    ];
    match parse_bytes(&argv, false, Dialect::CommandLine) {
        Ok(Command::AddService(s)) => assert_eq!(s.scheduler, "r\u{fffd}r"),
        other => panic!("{other:?}"),
    }
    // Messages quote arguments byte for byte, as ipvsadm does.
    let argv = vec![b"ipvsadm".to_vec(), b"-L".to_vec(), b"\xff".to_vec()];
    assert_eq!(
        parse_bytes(&argv, false, Dialect::CommandLine)
            .unwrap_err()
            .message,
        b"unexpected argument \xff\n"
    );
    let argv = vec![
        b"ipvsadm".to_vec(),
        b"-A".to_vec(),
        b"-f".to_vec(),
        b"\xfe".to_vec(),
    ];
    assert_eq!(
        parse_bytes(&argv, false, Dialect::CommandLine)
            .unwrap_err()
            .message,
        b"invalid fwmark value `\xfe' specified\n"
    );
    let argv = vec![b"ipvsadm".to_vec(), b"-L".to_vec(), b"--b\xfd".to_vec()];
    assert_eq!(
        parse_bytes(&argv, false, Dialect::CommandLine)
            .unwrap_err()
            .message,
        b"--b\xfd: unknown option\n"
    );
}

#[test]
fn protocol_field_of_keys() {
    match add_service(&["-A", "--sctp-service", "[::1]:80"]).key {
        ServiceKey::Addr { protocol, .. } => assert_eq!(protocol, Protocol::Sctp),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rules_accept_the_negative_fwmarks_ipvsadm_saves() {
    let rule = |args: &[&str]| parse_bytes(&argv(args), false, Dialect::Rule);
    let key = |mark| {
        Some(ServiceKey::Fwmark {
            af: AddressFamily::Inet,
            mark,
        })
    };
    match rule(&["-A", "-f", "-1294967296", "-s", "wlc"]).unwrap() {
        Command::AddService(svc) => assert_eq!(Some(svc.key), key(3_000_000_000)),
        other => panic!("{other:?}"),
    }
    match rule(&["-Z", "-f", "-2147483648"]).unwrap() {
        Command::Zero(k) => assert_eq!(k, key(2_147_483_648)),
        other => panic!("{other:?}"),
    }
    assert!(rule(&["-A", "-f", "-2147483649"]).is_err());
    assert!(rule(&["-A", "-f", "0"]).is_err());
    assert_eq!(
        invalid(&["-A", "-f", "-1294967296"]),
        "invalid fwmark value `-1294967296' specified"
    );
}
