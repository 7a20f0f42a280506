//! Connection synchronisation: a master and a backup director, the master's connections
//! replicated into the backup, and a client connection that survives the failover.
//!
//! ```text
//!                 10.99.1.0/24  master  10.99.3.0/24
//!   client  -----------------  (VIP)  ----------------  rs
//!   10.99.0.2 (lo)               | 10.99.9.0/24 (sync)    10.99.0.10 (lo)
//!             -----------------  backup ----------------
//!                 10.99.2.0/24          10.99.4.0/24
//! ```
//!
//! Without a bridge module in the VM, "taking over the VIP" is: the VIP moves from the
//! master's lo to the backup's, and the client's route to the VIP and the real server's
//! default route move to the backup's links (what a gratuitous ARP does on a shared LAN).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::serial;
use crate::topology::{IO_TIMEOUT, Topology, conns_to, counts, fetch_counts, in_ns, poll};

const VIP: &str = "10.99.100.1";
const CLIENT: &str = "10.99.0.2";
const RIP: &str = "10.99.0.10";
const ECHO_PORT: u16 = 7;
const SYNC_ID: &str = "42";

struct SyncLab {
    topo: Topology,
    client: String,
    master: String,
    backup: String,
    rs: String,
}

impl SyncLab {
    fn new() -> Self {
        let mut topo = Topology::new("sync");
        let client = topo.add_ns("c");
        let master = topo.add_director("m");
        let backup = topo.add_director("b");
        let rs = topo.add_ns("rs");
        topo.link(&client, "m0", "10.99.1.2/24", &master, "c0", "10.99.1.1/24");
        topo.link(&client, "b0", "10.99.2.2/24", &backup, "c0", "10.99.2.1/24");
        topo.link(&rs, "m0", "10.99.3.2/24", &master, "r0", "10.99.3.1/24");
        topo.link(&rs, "b0", "10.99.4.2/24", &backup, "r0", "10.99.4.1/24");
        topo.link(&master, "s0", "10.99.9.1/24", &backup, "s0", "10.99.9.2/24");
        topo.ip(
            &client,
            &format!("addr add {CLIENT}/32 dev lo\nroute add {VIP}/32 via 10.99.1.1 src {CLIENT}"),
        );
        topo.ip(
            &rs,
            &format!("addr add {RIP}/32 dev lo\nroute add default via 10.99.3.1 src {RIP}"),
        );
        topo.ip(&master, &format!("addr add {VIP}/32 dev lo"));
        // Each director reaches the client and the real server over its own links.
        for (director, client_net, rs_net) in [(&master, 1, 3), (&backup, 2, 4)] {
            topo.ip(
                director,
                &format!(
                    "route add {CLIENT}/32 via 10.99.{client_net}.2\n\
                     route add {RIP}/32 via 10.99.{rs_net}.2"
                ),
            );
        }
        for ns in [&client, &master, &backup, &rs] {
            topo.sysctl(
                ns,
                &[
                    ("net/ipv4/conf/all/rp_filter", "0"),
                    ("net/ipv4/conf/default/rp_filter", "0"),
                ],
            );
        }
        topo.httpd(&rs, &format!("{RIP}:80"), "rs");
        // The same virtual services on both directors, as a failover pair has them.
        for director in [&master, &backup] {
            for port in ["80", &ECHO_PORT.to_string()] {
                let vs = format!("{VIP}:{port}");
                topo.ipvsadm(director, &["-A", "-t", &vs, "-s", "rr"]);
                topo.ipvsadm(
                    director,
                    &["-a", "-t", &vs, "-r", &format!("{RIP}:{port}"), "-m"],
                );
            }
        }
        let mcast = ["--mcast-interface", "s0", "--syncid", SYNC_ID];
        topo.ipvsadm(
            &master,
            &[&["--start-daemon", "master"][..], &mcast].concat(),
        );
        topo.ipvsadm(
            &backup,
            &[&["--start-daemon", "backup"][..], &mcast].concat(),
        );
        SyncLab {
            topo,
            client,
            master,
            backup,
            rs,
        }
    }

    /// Waits until the backup's `-Lnc` has a line for which `wanted` holds; returns it.
    fn wait_in_backup(&self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let listing = || self.topo.ipvsadm(&self.backup, &["-Lnc"]);
        poll(
            Duration::from_secs(10),
            what,
            || listing().lines().find(|l| wanted(l)).map(str::to_string),
            listing,
        )
    }
}

/// An echo server on `port` in `ns` for one connection, on a thread of its own; gives up
/// after a minute without a client.
fn echo_server(ns: &str, port: u16) -> thread::JoinHandle<()> {
    let listener = in_ns(ns, || TcpListener::bind(("0.0.0.0", port)))
        .unwrap_or_else(|e| panic!("bind port {port} in {ns}: {e}"));
    listener.set_nonblocking(true).unwrap();
    thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                Err(_) => return,
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut buf = [0u8; 512];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 || stream.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    })
}

/// Sends `line` on `stream` and expects it back.
fn echo(stream: &mut TcpStream, line: &str) -> Result<(), String> {
    let message = format!("{line}\n");
    stream
        .write_all(message.as_bytes())
        .map_err(|e| format!("send {line:?}: {e}"))?;
    let mut back = vec![0u8; message.len()];
    stream
        .read_exact(&mut back)
        .map_err(|e| format!("receive {line:?}: {e}"))?;
    if back == message.as_bytes() {
        Ok(())
    } else {
        Err(format!(
            "sent {line:?}, got {:?}",
            String::from_utf8_lossy(&back)
        ))
    }
}

#[test]
fn traffic_sync_replicates_connections_and_survives_failover() {
    let _serial = serial();
    let lab = SyncLab::new();
    let topo = &lab.topo;

    // Short connections through the master show up in the backup's table.
    let http: SocketAddr = format!("{VIP}:80").parse().unwrap();
    assert_eq!(fetch_counts(&lab.client, http, 5), counts(&[("rs", 5)]));
    let rip_http = format!("{RIP}:80");
    lab.wait_in_backup(
        "the master's HTTP connections in the backup's -Lnc",
        |line| {
            conns_to(line, &rip_http).len() == 1
                && line.contains(&format!(" {CLIENT}:"))
                && line.contains(&format!(" {VIP}:80 "))
        },
    );

    // A long-lived connection through the master, replicated as ESTABLISHED.
    let server = echo_server(&lab.rs, ECHO_PORT);
    let echo_vip: SocketAddr = format!("{VIP}:{ECHO_PORT}").parse().unwrap();
    let mut stream = in_ns(&lab.client, || {
        TcpStream::connect_timeout(&echo_vip, IO_TIMEOUT)
    })
    .unwrap_or_else(|e| panic!("connect to {echo_vip} through the master: {e}"));
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    echo(&mut stream, "through the master").unwrap();
    let source = stream.local_addr().unwrap().to_string();
    let rip_echo = format!("{RIP}:{ECHO_PORT}");
    lab.wait_in_backup(
        "the echo connection ESTABLISHED in the backup's -Lnc",
        |line| {
            line.contains("ESTABLISHED")
                && line.contains(&format!(" {source} "))
                && conns_to(line, &rip_echo).len() == 1
        },
    );

    // Failover: the master stops syncing and loses the VIP and its links; the backup
    // takes the VIP, the client and the real server turn to it.
    topo.ipvsadm(&lab.master, &["--stop-daemon", "master"]);
    topo.ip(
        &lab.master,
        &format!("addr del {VIP}/32 dev lo\nlink set c0 down\nlink set r0 down"),
    );
    topo.ip(&lab.backup, &format!("addr add {VIP}/32 dev lo"));
    topo.ip(
        &lab.client,
        &format!("route replace {VIP}/32 via 10.99.2.1 src {CLIENT}"),
    );
    topo.ip(
        &lab.rs,
        &format!("route replace default via 10.99.4.1 src {RIP}"),
    );

    echo(&mut stream, "through the backup").unwrap_or_else(|e| {
        panic!(
            "the established connection broke after the failover: {e}\nbackup -Lnc:\n{}",
            topo.ipvsadm(&lab.backup, &["-Lnc"])
        )
    });
    echo(&mut stream, "still through the backup").unwrap();
    drop(stream);
    drop(server); // it ends with the connection

    // New connections go through the backup as well.
    assert_eq!(fetch_counts(&lab.client, http, 3), counts(&[("rs", 3)]));
}
