//! Placeholder command line; replaced by the real ipvsadm-compatible parser.
pub fn run() -> i32 {
    eprintln!("rsipvsadm: not implemented yet");
    2
}
