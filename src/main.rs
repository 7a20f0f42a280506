fn main() {
    std::process::exit(rsipvsadm::cli::run());
}
