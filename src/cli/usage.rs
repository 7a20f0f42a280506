//! The `-h` text (ipvsadm's, for compatibility) and the version line (rsipvsadm's own).

/// The name rsipvsadm goes by: `ipvsadm` when started through a link of that name (a
/// drop-in install), else `rsipvsadm`.
pub fn own_name(argv0: &[u8]) -> &'static str {
    let base = argv0.rsplit(|&b| b == b'/').next().unwrap_or(argv0);
    if base == b"ipvsadm" {
        "ipvsadm"
    } else {
        "rsipvsadm"
    }
}

/// `-v`: ipvsadm's layout (`ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)`)
/// with rsipvsadm's name and version.
pub fn version_line(argv0: &[u8]) -> String {
    format!(
        "{} v{} (rsipvsadm, compiled with netlink and IPVS v1.2.1)\n",
        own_name(argv0),
        env!("CARGO_PKG_VERSION")
    )
}

/// `-h`: the version line, then ipvsadm 1.31's usage text with `argv[0]` as it was given,
/// then what rsipvsadm adds (after everything ipvsadm prints, so that nothing moves).
pub fn usage(argv0: &[u8]) -> Vec<u8> {
    let mut text = version_line(argv0).into_bytes();
    let mut parts = USAGE.split("{p}");
    text.extend_from_slice(parts.next().unwrap_or_default().as_bytes());
    for part in parts {
        text.extend_from_slice(argv0);
        text.extend_from_slice(part.as_bytes());
    }
    text.extend_from_slice(ADDITIONS.as_bytes());
    text
}

const ADDITIONS: &str = "rsipvsadm additions (see rsipvsadm(8)):
  --netns NAME|PATH COMMAND...        run COMMAND in a network namespace: NAME as
                                      `ip netns` names it, or a file (/proc/PID/ns/net)
  -R --test                           check every rule on stdin, report each bad line,
                                      change nothing
  -R --strict                         apply nothing unless every rule is good; report
                                      each rule the kernel refuses with its line number
  -L --json                           the state (or -c, or one service) as JSON
  apply [--dry-run] [--scope SCOPE]... [--drain SECONDS] [FILE|-]
                                      make the live table equal to FILE, no flush
  diff [--scope SCOPE]... [FILE|-]    print what apply would do; exit 1 if it differs
  metrics [--listen ADDR:PORT] [--no-destinations]
                                      the table as Prometheus metrics, or served
  top [--interval SECONDS] [--batch [--iterations N]]
                                      live view: rates per service and real server
";

const USAGE: &str = "Usage:
  {p} -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]
  {p} -D virtual-service
  {p} -C
  {p} -R
  {p} -S [-n]
  {p} -a|e virtual-service -r server-address [options]
  {p} -d virtual-service -r server-address
  {p} -L|l [virtual-service] [options]
  {p} -Z [virtual-service]
  {p} --set tcp tcpfin udp
  {p} --start-daemon {master|backup} [daemon-options]
  {p} --stop-daemon {master|backup}
  {p} -h

Commands:
Either long or short options are allowed.
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values
  --start-daemon              start connection sync daemon
  --stop-daemon               stop connection sync daemon
  --help            -h        display this help message

virtual-service:
  --tcp-service|-t  service-address   service-address is host[:port]
  --udp-service|-u  service-address   service-address is host[:port]
  --sctp-service    service-address   service-address is host[:port]
  --fwmark-service|-f fwmark          fwmark is an integer greater than zero

Options:
  --ipv6         -6                   fwmark entry uses IPv6
  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,
                                      the default scheduler is wlc.
  --pe            engine              alternate persistence engine may be sip,
                                      not set by default.
  --persistent   -p [timeout]         persistent service
  --netmask      -M netmask           persistent granularity mask
  --real-server  -r server-address    server-address is host (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --tun-type      type                one of ipip|gue|gre,
                                      the default tunnel type is ipip.
  --tun-port      port                tunnel destination port
  --tun-nocsum                        tunnel encapsulation without checksum
  --tun-csum                          tunnel encapsulation with checksum
  --tun-remcsum                       tunnel encapsulation with remote checksum
  --weight       -w weight            capacity of real server
  --u-threshold  -x uthreshold        upper threshold of connections
  --l-threshold  -y lthreshold        lower threshold of connections
  --connection   -c                   output of current IPVS connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --daemon                            output of daemon information
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact                             expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --tun-info                          output of tunnel information
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --ops          -o                   one-packet scheduling
  --numeric      -n                   numeric output of addresses and ports
  --sched-flags  -b flags             scheduler flags (comma-separated)
Daemon Options:
  --syncid sid                        syncid for connection sync (default=255)
  --sync-maxlen length                Max sync message length (default=1472)
  --mcast-interface interface         multicast interface for connection sync
  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)
  --mcast-port port                   UDP port (default=8848)
  --mcast-ttl ttl                     Multicast TTL (default=1)
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_follows_the_link_it_was_started_through() {
        assert_eq!(own_name(b"/usr/sbin/ipvsadm"), "ipvsadm");
        assert_eq!(own_name(b"ipvsadm"), "ipvsadm");
        assert_eq!(own_name(b"/usr/local/bin/rsipvsadm"), "rsipvsadm");
        assert!(version_line(b"ipvsadm").starts_with("ipvsadm v"));
        assert!(version_line(b"./rsipvsadm").starts_with("rsipvsadm v"));
    }

    #[test]
    fn usage_uses_argv0_verbatim() {
        let text = String::from_utf8(usage(b"/sbin/ipvsadm")).unwrap();
        assert!(text.contains("\n  /sbin/ipvsadm -A|E virtual-service"));
        assert!(text.contains("Multicast TTL (default=1)\nrsipvsadm additions"));
        assert!(text.ends_with("rates per service and real server\n"));
    }
}
