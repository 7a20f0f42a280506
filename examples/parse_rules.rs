//! Parses `-R` input from stdin exactly as `rsipvsadm -R` does, without a kernel: the
//! rule reader and the ipvsadm-compatible parser only (with `--encode`, the added
//! services and real servers are also encoded as the netlink requests `-R` sends, in
//! batches of 1024, and dropped). Prints how many lines parsed and how many were
//! refused. For measuring the parse alone, e.g. its instruction count:
//!
//! ```text
//! cargo build --release --example parse_rules
//! valgrind --tool=callgrind target/release/examples/parse_rules < rules
//! ```

use std::io;

use rsipvsadm::Request;
use rsipvsadm::cli::Command;
use rsipvsadm::cli::args::RuleArgv;
use rsipvsadm::cli::rules::{RuleLine, RuleReader};
use rsipvsadm::netlink::socket::EncodedBatch;

fn main() {
    let encode = std::env::args().any(|a| a == "--encode");
    let argv = RuleArgv::new(b"ipvsadm");
    let (mut parsed, mut refused) = (0usize, 0usize);
    let mut reader = RuleReader::new(io::BufReader::with_capacity(64 * 1024, io::stdin()));
    let mut line = RuleLine::default();
    // Any family id: nothing is sent.
    let mut batch = EncodedBatch::new(0x20);
    while reader.read_into(&mut line) {
        match argv.parse(&line) {
            Ok(command) => {
                parsed += 1;
                let request = match command {
                    Command::AddService(svc) if encode => Request::AddService(svc),
                    Command::AddServer(key, dest) if encode => Request::AddDest(key, dest),
                    _ => continue,
                };
                if batch.len() == 1024 {
                    batch = EncodedBatch::new(0x20);
                }
                let _ = batch.push_request(&request);
            }
            Err(_) => refused += 1,
        }
    }
    println!("{parsed} parsed, {refused} refused");
}
