//! Every committed fuzz input, replayed on the stable toolchain through the entry points
//! the fuzz targets call (`rsipvsadm::fuzzing`): `fuzz/corpus/TARGET/` (the minimised
//! corpora) and `fuzz/regressions/TARGET/` (inputs that once failed). A crash found by
//! `bash tests/fuzz/run` stays fixed once its input is committed.
//!
//! `RSIPVSADM_WRITE_FUZZ_SEEDS=1 cargo test --test fuzz_replay write_seed_corpora` writes
//! the seed inputs into `fuzz/seeds/` (from the differential cases, the rule and JSON files of the tests,
//! and kernel replies as the codec frames them); `tests/fuzz/run --seed` minimises them
//! into the corpora.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rsipvsadm::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files_of(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_committed_input_runs_clean() {
    let mut failures = Vec::new();
    for (name, target) in TARGETS {
        let corpus = files_of(&fuzz_dir().join("corpus").join(name));
        assert!(!corpus.is_empty(), "fuzz/corpus/{name} has no input");
        let regressions = files_of(&fuzz_dir().join("regressions").join(name));
        for file in corpus.iter().chain(&regressions) {
            let data = fs::read(file).expect("a corpus file");
            if catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "inputs that fail: {failures:#?}");
}

#[test]
fn every_target_has_a_fuzz_target_file() {
    for (name, _) in TARGETS {
        let file = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            text.contains(&format!("rsipvsadm::fuzzing::{name}(")),
            "{} does not call rsipvsadm::fuzzing::{name}",
            file.display()
        );
    }
}

mod seeds {
    //! The seed inputs, built by `write_seed_corpora` below.

    use std::fs;
    use std::path::Path;

    use rsipvsadm::Request;
    use rsipvsadm::model::{
        AddressFamily, DaemonState, Destination, FwdMethod, Netmask, Service, ServiceFlags,
        ServiceKey, Stats, SyncDaemon, TunnelFlags, TunnelType,
    };
    use rsipvsadm::netlink::attrs::{CmdAttr, DaemonAttr, DestAttr, InfoAttr, IpvsCmd, SvcAttr};
    use rsipvsadm::netlink::codec::{daemon_attrs, dest_attrs, ipvs_message, service_attrs};
    use rsipvsadm::netlink::message::NLM_F_MULTI;
    use rsipvsadm::netlink::nla::{self, Nla};

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    fn stats(n: u64) -> Stats {
        Stats {
            conns: n,
            inpkts: n * 10,
            outpkts: n * 9,
            inbytes: n * 1000,
            outbytes: n * 900,
            ..Stats::default()
        }
    }

    pub fn services() -> Vec<Service> {
        let mut web = Service::new(ServiceKey::tcp(ip("192.0.2.10"), 80), "wrr").persistent(300);
        web.netmask = Netmask::V4("255.255.255.0".parse().unwrap());
        web.pe_name = Some("sip".into());
        let mut mark = Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 0x8000_0001), "mh");
        mark.flags.0 |= ServiceFlags::SCHED1 | ServiceFlags::SCHED2;
        vec![
            web,
            Service::new(ServiceKey::udp(ip("2001:db8::1"), 53), "rr"),
            Service::new(ServiceKey::sctp(ip("10.0.0.1"), 5060), "sh"),
            mark,
        ]
    }

    pub fn dests() -> Vec<Destination> {
        let mut gue = Destination::new(ip("10.0.0.3"), 80, FwdMethod::Tunnel);
        gue.tun_type = TunnelType::Gue;
        gue.tun_port = 6080;
        gue.tun_flags = TunnelFlags(TunnelFlags::REMCSUM);
        let mut nat = Destination::new(ip("10.0.0.2"), 8080, FwdMethod::Masq).weight(3);
        nat.u_threshold = 100;
        nat.l_threshold = 50;
        vec![
            nat,
            gue,
            Destination::new(ip("2001:db8::2"), 53, FwdMethod::Route),
            Destination::new(ip("127.0.0.1"), 80, FwdMethod::Local).weight(0),
        ]
    }

    fn attrs<A: Nla>(attrs: &[A]) -> Vec<u8> {
        let mut buf = Vec::new();
        nla::emit_all(attrs, &mut buf).unwrap();
        buf
    }

    /// A service as the kernel lists it: configuration, kernel flags, both stats.
    pub fn service_reply(svc: &Service) -> CmdAttr {
        let mut nest = service_attrs(svc);
        for a in &mut nest {
            if let SvcAttr::Flags(f) = a {
                f.flags |= ServiceFlags::HASHED;
            }
        }
        nest.push(SvcAttr::Stats(stats(3)));
        nest.push(SvcAttr::Stats64(stats(3)));
        CmdAttr::Service(nest)
    }

    pub fn dest_reply(dest: &Destination) -> CmdAttr {
        let mut nest = dest_attrs(dest);
        nest.extend([
            DestAttr::ActiveConns(2),
            DestAttr::InactConns(1),
            DestAttr::PersistConns(0),
            DestAttr::Stats(stats(2)),
            DestAttr::Stats64(stats(2)),
        ]);
        CmdAttr::Dest(nest)
    }

    pub fn daemons() -> Vec<SyncDaemon> {
        let mut backup = SyncDaemon::new(DaemonState::Backup, "eth1");
        backup.sync_id = 9;
        backup.sync_maxlen = 1400;
        backup.mcast_group = Some(ip("ff02::81"));
        backup.mcast_port = 8849;
        backup.mcast_ttl = 3;
        let mut master = SyncDaemon::new(DaemonState::Master, "rs0");
        master.mcast_group = Some(ip("224.0.0.81"));
        vec![master, backup]
    }

    fn message<A: Nla>(cmd: IpvsCmd, body: Vec<A>, flags: u16, seq: u32) -> Vec<u8> {
        let mut buf = Vec::new();
        ipvs_message(cmd, body)
            .emit(&mut buf, 0x1c, flags, seq)
            .unwrap();
        buf
    }

    fn control(kind: i32, seq: u32, body: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        buf.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        buf.extend_from_slice(&(kind as u16).to_ne_bytes());
        buf.extend_from_slice(&NLM_F_MULTI.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(body);
        buf
    }

    /// Dump datagrams: whole ones, one cut short, one with a length past its end, an
    /// error, a family lookup answer of another family.
    pub fn dump_streams() -> Vec<Vec<u8>> {
        let done = control(libc::NLMSG_DONE, 7, &0i32.to_ne_bytes());
        let mut services = Vec::new();
        for svc in services_list() {
            services.extend(message(IpvsCmd::NewService, vec![svc], NLM_F_MULTI, 7));
        }
        services.extend(&done);
        let mut dests = Vec::new();
        for dest in super::seeds::dests() {
            dests.extend(message(
                IpvsCmd::NewDest,
                vec![dest_reply(&dest)],
                NLM_F_MULTI,
                7,
            ));
        }
        dests.extend(&done);
        let mut daemons = Vec::new();
        for d in daemons_list() {
            daemons.extend(message(IpvsCmd::NewDaemon, vec![d], NLM_F_MULTI, 7));
        }
        daemons.extend(&done);
        let info = message(
            IpvsCmd::GetInfo,
            vec![InfoAttr::Version(0x010201), InfoAttr::ConnTabSize(4096)],
            0,
            7,
        );
        let config = message(
            IpvsCmd::GetConfig,
            vec![
                CmdAttr::TimeoutTcp(900),
                CmdAttr::TimeoutTcpFin(120),
                CmdAttr::TimeoutUdp(300),
            ],
            0,
            7,
        );
        let mut error = control(libc::NLMSG_ERROR, 7, &(-3i32).to_ne_bytes());
        error.extend_from_slice(&[0; 16]);
        let mut cut = services.clone();
        cut.truncate(services.len() / 2 + 3);
        let mut bad_length = dests.clone();
        bad_length[0] = 0xff;
        bad_length[1] = 0x7f;
        vec![
            services, dests, daemons, info, config, error, cut, bad_length,
        ]
    }

    fn services_list() -> Vec<CmdAttr> {
        services().iter().map(service_reply).collect()
    }

    fn daemons_list() -> Vec<CmdAttr> {
        daemons()
            .iter()
            .map(|d| CmdAttr::Daemon(daemon_attrs(d)))
            .collect()
    }

    /// Bash words of one command of a case line: blanks separate, quotes group.
    fn words(command: &str) -> Vec<Vec<u8>> {
        let mut words = Vec::new();
        let mut word: Option<Vec<u8>> = None;
        let mut quote: Option<char> = None;
        for c in command.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word
                    .get_or_insert_with(Vec::new)
                    .extend(c.to_string().bytes()),
                (None, '"' | '\'') => {
                    quote = Some(c);
                    word.get_or_insert_with(Vec::new);
                }
                (None, ' ' | '\t') => words.extend(word.take()),
                (None, c) => word
                    .get_or_insert_with(Vec::new)
                    .extend(c.to_string().bytes()),
            }
        }
        words.extend(word);
        words
    }

    /// Bash's `$'...'` text (the escapes the cases use).
    fn ansi_c(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.extend(c.to_string().bytes());
                continue;
            }
            match chars.next() {
                Some('n') => out.push(b'\n'),
                Some('t') => out.push(b'\t'),
                Some('r') => out.push(b'\r'),
                Some('0') => out.push(0),
                Some('x') => {
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?'));
                }
                Some(other) => out.extend(other.to_string().bytes()),
                None => out.push(b'\\'),
            }
        }
        out
    }

    /// The command lines and `-R` inputs of the differential cases.
    pub fn from_cases(cases: &Path) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let (mut argvs, mut inputs) = (Vec::new(), Vec::new());
        let mut files: Vec<_> = fs::read_dir(cases)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            if file.extension().is_some_and(|e| e == "rules") {
                inputs.push(text.into_bytes());
                continue;
            }
            if file.extension().is_none_or(|e| e != "cases") {
                continue;
            }
            for line in text.lines() {
                let Some((_, commands)) = line.split_once(": ") else {
                    continue;
                };
                if line.starts_with('#') {
                    continue;
                }
                for command in commands.split(" ; ") {
                    if let Some((_, input)) = command.split_once("<<< ") {
                        let input = input.trim();
                        if let Some(text) =
                            input.strip_prefix("$'").and_then(|t| t.strip_suffix('\''))
                        {
                            inputs.push(ansi_c(text));
                        } else {
                            inputs.push(input.trim_matches('\'').as_bytes().to_vec());
                        }
                        continue;
                    }
                    let argv = words(command.split(" < ").next().unwrap());
                    argvs.push(argv.join(&0u8));
                }
            }
        }
        (argvs, inputs)
    }

    pub fn reply_seeds() -> Vec<(&'static str, Vec<u8>)> {
        let mut seeds = Vec::new();
        for svc in services() {
            seeds.push(("service_reply", attrs(&[service_reply(&svc)])));
        }
        for dest in dests() {
            let family = u8::from(dest.addr.is_ipv6());
            let mut seed = vec![family];
            seed.extend(attrs(&[dest_reply(&dest)]));
            seeds.push(("dest_reply", seed));
        }
        // Before 3.18: no address family in the reply.
        let old: Vec<DestAttr> = dest_attrs(&dests()[0])
            .into_iter()
            .filter(|a| !matches!(a, DestAttr::AddrFamily(_)))
            .collect();
        let mut seed = vec![0];
        seed.extend(attrs(&[CmdAttr::Dest(old)]));
        seeds.push(("dest_reply", seed));
        for d in daemons() {
            seeds.push(("daemon_reply", attrs(&[CmdAttr::Daemon(daemon_attrs(&d))])));
        }
        seeds.push((
            "daemon_reply",
            attrs(&[CmdAttr::Daemon(vec![
                DaemonAttr::State(1),
                DaemonAttr::McastIfn("eth0".into()),
                DaemonAttr::SyncId(0),
                DaemonAttr::McastGroup([224, 0, 0, 81]),
                DaemonAttr::McastGroup6([0xff; 16]),
            ])]),
        ));
        seeds.push((
            "info_reply",
            attrs(&[InfoAttr::Version(0x010201), InfoAttr::ConnTabSize(4096)]),
        ));
        seeds.push((
            "info_reply",
            attrs(&[InfoAttr::Version(0x010201), InfoAttr::ConnTabSize(0)]),
        ));
        let config = Request::SetTimeouts(rsipvsadm::model::Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        })
        .to_message();
        seeds.push(("config_reply", attrs(&config.attrs)));
        for stream in dump_streams() {
            seeds.push(("dump_stream", stream));
        }
        seeds
    }

    /// Planner inputs: a few byte patterns (the fuzzer finds the rest quickly).
    pub fn planner_seeds() -> Vec<Vec<u8>> {
        vec![
            vec![],
            vec![
                4, 0, 3, 0, 2, 0, 0, 0, 1, 0, 2, 1, 5, 3, 1, 0, 0, 1, 0, 3, 1, 1, 1, 2,
            ],
            (0..64).collect(),
            (0..64).map(|i: u8| i.wrapping_mul(37)).collect(),
            vec![7; 48],
        ]
    }
}

/// The seeds are built on every run (into a scratch directory), so that their sources
/// stay readable; `RSIPVSADM_WRITE_FUZZ_SEEDS=1` writes them into `fuzz/seeds/` instead.
#[test]
fn write_seed_corpora() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = if std::env::var_os("RSIPVSADM_WRITE_FUZZ_SEEDS").is_some_and(|v| v == "1") {
        fuzz_dir().join("seeds")
    } else {
        std::env::temp_dir().join(format!("rsipvsadm-fuzz-seeds-{}", std::process::id()))
    };
    let _ = fs::remove_dir_all(&out);
    let write = |target: &str, data: &[u8]| {
        let dir = out.join(target);
        fs::create_dir_all(&dir).unwrap();
        let n = fs::read_dir(&dir).unwrap().count();
        fs::write(dir.join(format!("seed-{n:04}")), data).unwrap();
    };
    let (argvs, inputs) = seeds::from_cases(&root.join("tests/differential/cases"));
    for argv in &argvs {
        write("cli_args", argv);
    }
    for input in &inputs {
        write("restore_input", input);
        // Each rule line is a command line too.
        for line in input.split(|&b| b == b'\n') {
            let words: Vec<&[u8]> = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .collect();
            if !words.is_empty() {
                write("cli_args", &words.join(&0u8));
            }
        }
    }
    for (target, data) in seeds::reply_seeds() {
        write(target, &data);
    }
    write(
        "json_state",
        &fs::read(root.join("tests/data/state-v1.json")).unwrap(),
    );
    write("json_state", br#"{"schema_version": 1, "services": []}"#);
    let state = rsipvsadm::model::State {
        services: seeds::services()
            .into_iter()
            .map(|svc| {
                let mut vs = rsipvsadm::model::VirtualService::new(svc);
                for dest in seeds::dests() {
                    vs = vs.with_dest(dest);
                }
                vs
            })
            .collect(),
        ..Default::default()
    };
    write(
        "json_state",
        rsipvsadm::json::state_document(&state).as_bytes(),
    );
    // Replies of a real kernel (printed by tests/kernel/raw_codec.rs).
    let captured = fs::read_to_string(fuzz_dir().join("kernel-replies.txt")).unwrap();
    for line in captured
        .lines()
        .filter_map(|l| l.strip_prefix("fuzz-seed "))
    {
        let (target, hex) = line.split_once(' ').expect("fuzz-seed TARGET HEX");
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        write(target, &bytes);
    }
    for seed in seeds::planner_seeds() {
        write("planner", &seed);
    }
    // Every target gets one seed at least.
    for (name, _) in TARGETS {
        assert!(out.join(name).is_dir(), "no seed for {name}");
    }
    if !out.starts_with(fuzz_dir()) {
        let _ = fs::remove_dir_all(&out);
    }
}
