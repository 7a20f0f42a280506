//! `rsipvsadm metrics`: printed once, equal to what the listings say; served over HTTP
//! from the director, counting the requests sent through the balancer as they go.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::common::{Exit, rsipvsadm_bin, run_with_timeout};
use crate::serial;
use crate::topology::{IO_TIMEOUT, Lab, fetch_counts, in_ns, poll};

/// A series: metric name, and its labels with the values in `name="value"` form.
type Series = (String, BTreeMap<String, String>);

/// The samples of an exposition (comment lines left out).
fn samples(text: &str) -> BTreeMap<Series, u64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, rest) = line.split_once('{').expect("labels");
        let (labels, value) = rest.rsplit_once("} ").expect("value");
        // The label values here (addresses, numbers, words) hold no quote or comma.
        let labels = labels
            .split(',')
            .map(|pair| {
                let (k, v) = pair.split_once('=').expect("label");
                (k.to_string(), v.trim_matches('"').to_string())
            })
            .collect();
        let value = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
        assert!(
            out.insert((name.to_string(), labels), value).is_none(),
            "{line} twice"
        );
    }
    out
}

/// A line of an `-Ln` listing: the service (`TCP 10.0.0.1:80`, `FWM 100 IPv6`) and, for a
/// real server line, its address.
type Line = (String, Option<String>);

/// The numbers of each line of an `-Ln` listing with `--stats --exact` or
/// `--persistent-conn` (the scheduler name of a service line left out).
fn listing_numbers(listing: &str) -> BTreeMap<Line, Vec<u64>> {
    let mut out = BTreeMap::new();
    let mut service = String::new();
    for line in listing.lines().skip(3) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (key, numbers) = if fields[0] == "->" {
            ((service.clone(), Some(fields[1].to_string())), &fields[2..])
        } else {
            let width = if fields[0] == "FWM" && fields.get(2) == Some(&"IPv6") {
                3
            } else {
                2
            };
            service = fields[..width].join(" ");
            ((service.clone(), None), &fields[width..])
        };
        out.insert(key, numbers.iter().filter_map(|n| n.parse().ok()).collect());
    }
    out
}

/// The listing line a series is about, from its labels.
fn line_of(labels: &BTreeMap<String, String>) -> Line {
    let endpoint = |addr: &str, port: &str| {
        if addr.contains(':') {
            format!("[{addr}]:{port}")
        } else {
            format!("{addr}:{port}")
        }
    };
    let proto = &labels["proto"];
    let service = if proto == "FWM" {
        let mark = u32::from_str_radix(&labels["local_mark"], 16).expect("hex mark");
        let v6 = if labels["family"] == "ipv6" {
            " IPv6"
        } else {
            ""
        };
        format!("FWM {mark}{v6}")
    } else {
        format!(
            "{proto} {}",
            endpoint(&labels["local_address"], &labels["local_port"])
        )
    };
    let dest = labels
        .get("remote_address")
        .map(|addr| endpoint(addr, &labels["remote_port"]));
    (service, dest)
}

/// Whether the metrics of every listing line equal its numbers, in the listings' column
/// order: Conns InPkts OutPkts InBytes OutBytes (`--stats --exact`), then for real
/// servers Weight PersistConn ActiveConn InActConn (`--persistent-conn`); `Err` lists the
/// lines that differ.
fn compare(metrics: &str, stats: &str, conns: &str) -> Result<(), String> {
    let samples = samples(metrics);
    let mut by_line: BTreeMap<Line, BTreeMap<String, u64>> = BTreeMap::new();
    for ((name, labels), value) in &samples {
        by_line
            .entry(line_of(labels))
            .or_default()
            .insert(name.clone(), *value);
    }
    let mut expected: BTreeMap<Line, Vec<u64>> = listing_numbers(stats);
    for (line, numbers) in listing_numbers(conns) {
        if line.1.is_some() {
            expected
                .get_mut(&line)
                .expect("line in both listings")
                .extend(numbers);
        }
    }
    let mut found = BTreeMap::new();
    for (line, values) in &by_line {
        let kind = if line.1.is_some() {
            "backend"
        } else {
            "service"
        };
        let mut names: Vec<String> = ["connections", "incoming_packets", "outgoing_packets"]
            .iter()
            .chain(&["incoming_bytes", "outgoing_bytes"])
            .map(|n| format!("ipvs_{kind}_{n}_total"))
            .collect();
        if line.1.is_some() {
            names.extend(
                ["weight", "connections_persistent", "connections_active"]
                    .iter()
                    .chain(&["connections_inactive"])
                    .map(|n| format!("ipvs_backend_{n}")),
            );
        }
        let numbers = names
            .iter()
            .map(|n| values.get(n).copied().ok_or(format!("no {n} for {line:?}")))
            .collect::<Result<Vec<u64>, String>>()?;
        found.insert(line.clone(), numbers);
    }
    let lines: BTreeSet<&Line> = found.keys().chain(expected.keys()).collect();
    let differences: Vec<String> = lines
        .into_iter()
        .filter(|line| found.get(*line) != expected.get(*line))
        .map(|line| {
            format!(
                "{line:?}: metrics {:?}, listings {:?}",
                found.get(line),
                expected.get(line)
            )
        })
        .collect();
    if differences.is_empty() {
        Ok(())
    } else {
        Err(differences.join("\n"))
    }
}

/// Metric `name` of the one series whose labels include all of `with` (`None`: no such
/// series; several is a mistake of the test).
fn value(samples: &BTreeMap<Series, u64>, name: &str, with: &[(&str, &str)]) -> Option<u64> {
    let found: Vec<u64> = samples
        .iter()
        .filter(|((n, labels), _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, v)| *v)
        .collect();
    assert!(found.len() <= 1, "{name} {with:?}: several series");
    found.first().copied()
}

#[test]
fn traffic_metrics_once_equal_the_listings() {
    let _serial = serial();
    let lab = Lab::nat("metrics1", 84, &["-s", "wrr"], [3, 2, 1]);
    // Services of every kind, without traffic: their labels and zeros.
    for rule in [
        "-A -u 10.84.100.1:53 -p 60",
        "-a -u 10.84.100.1:53 -r 10.84.1.2:53 -m",
        "-A --sctp-service 10.84.100.1:5060",
        "-A -t [2001:db8::1]:80",
        "-a -t [2001:db8::1]:80 -r [2001:db8::2]:8080 -m -w 7",
        "-A -f 100",
        "-a -f 100 -r 10.84.2.2 -g",
        "-A -f 100 -6",
        "-a -f 100 -6 -r 2001:db8::7 -g -w 0",
    ] {
        lab.ipvsadm(&rule.split(' ').collect::<Vec<_>>());
    }
    let answers = lab.fetch(30);
    assert_eq!(answers.values().sum::<usize>(), 30, "{answers:?}");

    // The kernel folds its per-CPU counters every 2 s; the listings and the metrics are
    // read one after the other: wait until all three agree, with the 30 connections.
    let read = || {
        (
            lab.ipvsadm(&["metrics"]),
            lab.ipvsadm(&["-Ln", "--stats", "--exact"]),
            lab.ipvsadm(&["-Ln", "--persistent-conn"]),
        )
    };
    let metrics = poll(
        Duration::from_secs(10),
        "metrics equal to the listings, with 30 connections",
        || {
            let (metrics, stats, conns) = read();
            let served = value(
                &samples(&metrics),
                "ipvs_service_connections_total",
                &[("local_address", "10.84.100.1"), ("local_port", "80")],
            );
            (served == Some(30) && compare(&metrics, &stats, &conns).is_ok()).then_some(metrics)
        },
        || {
            let (metrics, stats, conns) = read();
            compare(&metrics, &stats, &conns).err().unwrap_or_default()
        },
    );
    let parsed = samples(&metrics);
    for (i, name) in ["rs1", "rs2", "rs3"].iter().enumerate() {
        let rip = format!("10.84.{}.2", i + 1);
        assert_eq!(
            value(
                &parsed,
                "ipvs_backend_connections_total",
                &[("proto", "TCP"), ("remote_address", &rip)]
            ),
            Some(answers[*name] as u64),
            "{name}: {answers:?}\n{metrics}"
        );
    }
    let fwm6 = [
        ("proto", "FWM"),
        ("family", "ipv6"),
        ("local_mark", "00000064"),
    ];
    assert_eq!(value(&parsed, "ipvs_service_backends", &fwm6), Some(1));
    assert_eq!(value(&parsed, "ipvs_backend_weight", &fwm6), Some(0));
    let sctp = [
        ("proto", "SCTP"),
        ("local_port", "5060"),
        ("local_mark", ""),
    ];
    assert_eq!(value(&parsed, "ipvs_service_backends", &sctp), Some(0));

    let services_only = lab.ipvsadm(&["metrics", "--no-destinations"]);
    assert!(!services_only.contains("ipvs_backend_"), "{services_only}");
    assert!(!services_only.contains("remote_address"), "{services_only}");
    assert_eq!(
        value(
            &samples(&services_only),
            "ipvs_service_connections_total",
            &[("local_address", "10.84.100.1"), ("local_port", "80")]
        ),
        Some(30)
    );
}

/// `rsipvsadm metrics --listen` in a namespace, killed when dropped if still running.
struct Served(Child);

impl Served {
    fn start(ns: &str, listen: &str) -> Self {
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(rsipvsadm_bin())
            .args(["metrics", "--listen", listen])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start rsipvsadm metrics --listen");
        Served(child)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.0 GET of `path` from namespace `ns`: the status line and the body.
fn get(ns: &str, addr: SocketAddr, path: &str) -> Result<(String, String), String> {
    in_ns(ns, || {
        let mut stream =
            TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| format!("connect: {e}"))?;
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: director\r\n\r\n")
            .map_err(|e| format!("send: {e}"))?;
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .map_err(|e| format!("receive: {e}"))?;
        let (head, body) = response
            .split_once("\r\n\r\n")
            .ok_or(format!("not HTTP: {response:?}"))?;
        let status = head.lines().next().unwrap_or_default().to_string();
        Ok((status, body.to_string()))
    })
}

/// Each real server's `ipvs_backend_connections_total` (rs1, rs2, rs3), and the service's.
fn connections(metrics: &str, net: u8) -> ([u64; 3], u64) {
    let samples = samples(metrics);
    let backend = |i: usize| {
        let rip = format!("10.{net}.{i}.2");
        value(
            &samples,
            "ipvs_backend_connections_total",
            &[("remote_address", &rip)],
        )
        .unwrap_or_else(|| panic!("no series for {rip} in\n{metrics}"))
    };
    let service = value(
        &samples,
        "ipvs_service_connections_total",
        &[("proto", "TCP")],
    )
    .unwrap_or_else(|| panic!("no service series in\n{metrics}"));
    ([backend(1), backend(2), backend(3)], service)
}

#[test]
fn traffic_metrics_served_count_the_requests_as_they_go() {
    let _serial = serial();
    let net = 85;
    let lab = Lab::nat("metrics2", net, &["-s", "wrr"], [3, 2, 1]);
    let vip = lab.vip();
    let listen: SocketAddr = format!("10.{net}.0.1:9850").parse().unwrap();
    let mut served = Served::start(&lab.director, &listen.to_string());
    // Prometheus's place: the client's namespace, across the network.
    let scrape = || match get(&lab.client, listen, "/metrics") {
        Ok((status, body)) if status.contains(" 200 ") => Ok(body),
        Ok((status, body)) => Err(format!("{status}: {body}")),
        Err(e) => Err(e),
    };
    let first = poll(
        Duration::from_secs(10),
        "the metrics served",
        || scrape().ok(),
        || format!("{:?}", scrape()),
    );
    assert_eq!(connections(&first, net), ([0, 0, 0], 0), "{first}");

    // wrr with weights 3, 2, 1: 30 requests are 15, 10 and 5.
    let settled = |expected: [u64; 3]| {
        let total = expected.iter().sum::<u64>();
        poll(
            Duration::from_secs(10),
            &format!("scraped counters {expected:?}"),
            || {
                scrape()
                    .ok()
                    .filter(|m| connections(m, net) == (expected, total))
            },
            || scrape().unwrap_or_else(|e| e),
        )
    };
    assert_eq!(lab.fetch(30).values().sum::<usize>(), 30);
    settled([15, 10, 5]);

    // 60 more while scraping: every scrape sees each counter where the last left it or
    // higher, never past the end.
    let mut during = 0;
    thread::scope(|scope| {
        let traffic = scope.spawn(|| fetch_counts(&lab.client, vip.parse().unwrap(), 60));
        let mut last = [15, 10, 5];
        while !traffic.is_finished() {
            let metrics = scrape().unwrap_or_else(|e| panic!("scrape during traffic: {e}"));
            let (now, _) = connections(&metrics, net);
            for i in 0..3 {
                assert!(
                    last[i] <= now[i] && now[i] <= [45, 30, 15][i],
                    "rs{}: {} then {}",
                    i + 1,
                    last[i],
                    now[i]
                );
            }
            last = now;
            during += 1;
            thread::sleep(Duration::from_millis(50));
        }
        let answers = traffic.join().unwrap();
        assert_eq!(answers.values().sum::<usize>(), 60, "{answers:?}");
    });
    assert!(during > 0, "no scrape while the traffic flowed");
    let metrics = settled([45, 30, 15]);

    let parsed = samples(&metrics);
    for (i, weight) in [3, 2, 1].iter().enumerate() {
        let rip = format!("10.{net}.{}.2", i + 1);
        let of = |name: &str| value(&parsed, name, &[("remote_address", &rip)]).unwrap();
        let conns = of("ipvs_backend_connections_total");
        assert_eq!(of("ipvs_backend_weight"), *weight, "{rip}");
        // Each connection: SYN, ACK, request, FIN in; SYN-ACK, answer, FIN out (NAT).
        assert!(
            of("ipvs_backend_incoming_packets_total") >= 4 * conns,
            "{rip}"
        );
        assert!(
            of("ipvs_backend_outgoing_packets_total") >= 3 * conns,
            "{rip}"
        );
        assert!(of("ipvs_backend_incoming_bytes_total") > 0, "{rip}");
        assert!(of("ipvs_backend_outgoing_bytes_total") > 0, "{rip}");
        // Closed, in TIME_WAIT for two minutes: inactive.
        let open = of("ipvs_backend_connections_active") + of("ipvs_backend_connections_inactive");
        assert_eq!(open, conns, "{rip}");
    }
    assert_eq!(
        value(&parsed, "ipvs_service_backends", &[("proto", "TCP")]),
        Some(3)
    );

    // What was served passes promtool (copied into the VM by tests/vm/lib.sh).
    let checked = run_with_timeout(
        Command::new("promtool").args(["check", "metrics"]),
        Some(metrics.as_bytes()),
        Duration::from_secs(20),
    );
    assert!(
        checked.exit == Exit::Code(0) && checked.stdout.is_empty() && checked.stderr.is_empty(),
        "promtool check metrics: {}\n{}{}",
        checked.exit,
        checked.stdout_lossy(),
        checked.stderr_lossy()
    );

    let (status, body) = get(&lab.client, listen, "/").unwrap();
    assert!(status.contains(" 404 "), "{status}");
    assert!(body.contains("/metrics"), "{body}");

    // A second server on the same address: cause, fix, exit 2.
    let second = run_with_timeout(
        Command::new("ip")
            .args(["netns", "exec", &lab.director])
            .arg(rsipvsadm_bin())
            .args(["metrics", "--listen", &listen.to_string()]),
        None,
        Duration::from_secs(20),
    );
    assert_eq!(second.exit, Exit::Code(2), "{}", second.stderr_lossy());
    let said = second.stderr_lossy();
    assert!(
        said.contains("in use") && said.contains("ss -ltnp"),
        "{said}"
    );

    // SIGTERM ends it cleanly.
    let pid = Pid::from_raw(served.0.id() as i32);
    kill(pid, Signal::SIGTERM).expect("SIGTERM");
    let status = poll(
        Duration::from_secs(10),
        "metrics --listen ending on SIGTERM",
        || served.0.try_wait().unwrap(),
        String::new,
    );
    assert!(status.success(), "{status}");
    let mut said = String::new();
    served
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    assert_eq!(
        said,
        format!("rsipvsadm metrics: serving http://{listen}/metrics\n")
    );
}
