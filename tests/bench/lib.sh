# shellcheck shell=bash
# Shared by tests/bench/run and tests/run (its smoke run of the benchmark): source it
# after tests/vm/lib.sh (die, sh_quote).

# The cargo invocation that builds the benchmark executable: the same features as
# tests/run's kernel tests, so that both share one build of the crate.
BENCH_CARGO_TEST=(cargo test --release --features kernel-tests,vm-bench --no-run)

# Compiles the lower-bound probe (tests/bench/genl-batch.c) into DIR/bin/genl-batch:
# static, so that the VM needs no C library for it.
bench_build_probe() {
	local dir=$1 repo
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	mkdir -p "$dir/bin"
	gcc -O2 -static -o "$dir/bin/genl-batch" "$repo/tests/bench/genl-batch.c" ||
		die "gcc -O2 -static tests/bench/genl-batch.c failed (needs gcc and libc6-dev)"
}

# Prints the VM-side shell lines that run the benchmark executable /opt/payload/BENCH
# (a path inside the payload) under vm-watchdog with LIMIT seconds, in smoke mode if
# SMOKE is 1; they set $status to its exit status.
bench_run_lines() {
	local bench=$1 limit=$2 smoke=$3
	cat <<-EOF
		export RSIPVSADM_BIN=/opt/payload/bin/rsipvsadm IPVSADM_BIN=/usr/sbin/ipvsadm
		export GENL_BATCH_BIN=/opt/payload/bin/genl-batch RSIPVSADM_IN_VM=1
		export RSIPVSADM_BENCH_SMALL=$smoke
		limit=$limit
		vm-watchdog "\$limit" /opt/payload/$bench
		status=\$?
		[ "\$status" -ne 124 ] || echo "bench: killed after \${limit}s (RSIPVSADM_BENCH_TIMEOUT)"
	EOF
}
