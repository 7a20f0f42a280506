// placeholder: the benchmark lands here (tests/bench/run runs it in the VM)
fn main() {}
