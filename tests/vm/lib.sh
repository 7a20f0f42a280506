# shellcheck shell=bash
# Shared functions of the test VM scripts (tests/vm/prepare, run, exec; tests/run).
# Source it; it defines functions and settings, and installs an EXIT trap for cleanup.
#
# The host kernel has no IPVS, so kernel tests run in a small qemu VM booting Debian's
# cloud kernel (which has ip_vs as modules) from an initramfs built on the fly:
#   vm_prepare          -> kernel + module closure cached under $VM_CACHE/<kver>/
#                          (RSIPVSADM_VM_RELEASE picks the Debian release; see below)
#   vm_build_initramfs  -> busybox, iproute2 ip, ipvsadm, modules, /etc files, payload
#   vm_boot             -> qemu under a timeout, console streamed live, payload status
# Facts behind the choices: /work/shared/vm-recipe.md.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_CACHE=${RSIPVSADM_VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/rsipvsadm-vm}
# Host-side limit for one VM run, in seconds (boot + payload + poweroff).
VM_TIMEOUT=${RSIPVSADM_VM_TIMEOUT:-1200}

# The Debian release whose cloud kernel the VM boots (bullseye, bookworm, trixie, sid):
# empty means the machine's own package lists (bookworm on the project's machines).
# A named release is read through an apt configuration of our own under
# $VM_CACHE/apt/<release>/ (APT_CONFIG), never through the machine's sources.
VM_RELEASE=${RSIPVSADM_VM_RELEASE:-}
VM_RELEASES="bullseye bookworm trixie sid"

# Modules the VM needs besides everything in net/netfilter/ipvs/; their dependency
# closure (modinfo depends) is added automatically. Tunnel modules let tests build
# real servers that decapsulate IPVS tunnel-mode traffic (ipip, gre, gue; v4 and v6).
VM_EXTRA_MODULES="veth dummy ipip ip_gre fou ip6_tunnel ip6_gre"
# Modules taken where the kernel has them: nfnetlink_hook (5.14+) shows the netfilter
# hooks, by which a listing learns that IPVS has no IPv6 service (src/nfhooks.rs); on a
# host the kernel loads it on first use, as it does here.
VM_OPTIONAL_MODULES="nfnetlink_hook"
# Bump when the cache layout or the module selection logic changes: a cache entry
# with another stamp is rebuilt.
VM_CACHE_FORMAT="2 $VM_EXTRA_MODULES $VM_OPTIONAL_MODULES"

# Host packages the scripts use, as "command-or-file:package".
VM_HOST_NEEDS="qemu-system-x86_64:qemu-system-x86 cpio:cpio depmod:kmod modinfo:kmod gcc:gcc
/usr/lib/x86_64-linux-gnu/libc.a:libc6-dev
/usr/sbin/ip:iproute2 /usr/sbin/ipvsadm:ipvsadm /etc/services:netbase
/etc/protocols:netbase flock:util-linux jq:jq groff:groff-base zsh:zsh fish:fish awk:mawk
debootstrap:debootstrap systemd-analyze:systemd promtool:prometheus"

log() { printf 'vm: %s\n' "$*" >&2; }
die() {
	printf 'vm: ERROR: %s\n' "$*" >&2
	exit 1
}

# Temporary directories and background processes are registered here and removed /
# stopped when the script exits, however it exits (error, Ctrl-C, CI cancel).
VM_CLEANUP_DIRS=()
VM_CLEANUP_PIDS=()
vm_cleanup() {
	local pid
	for pid in "${VM_CLEANUP_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	rm -rf "${VM_CLEANUP_DIRS[@]}"
}
trap vm_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Creates a temporary directory under PARENT (default $TMPDIR or /tmp), removed at exit;
# sets VM_TMP to it (a global: registering from a $(...) subshell would be lost).
vm_mktemp_dir() {
	local parent=${1:-${TMPDIR:-/tmp}}
	VM_TMP=$(mktemp -d "$parent/rsipvsadm-vm.XXXXXX") || die "mktemp -d in $parent failed"
	VM_CLEANUP_DIRS+=("$VM_TMP")
}

# ---------------------------------------------------------------------------------------
# Host packages

# Debian's busybox package (dynamic, fewer applets) can be installed instead of
# busybox-static and both provide /bin/busybox, so ask dpkg, not the file system.
have_static_busybox() {
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'
}

have_need() {
	local what=$1
	case $what in
	/*) [ -e "$what" ] ;;
	*) command -v "$what" >/dev/null 2>&1 ;;
	esac
}

apt_updated=""
apt_update_once() {
	[ -n "$apt_updated" ] && return 0
	log "apt-get update"
	apt-get update -qq || die "apt-get update failed"
	apt_updated=1
}

# ---------------------------------------------------------------------------------------
# Package lists of the kernel's release

# Runs an apt command on the lists of VM_RELEASE: the machine's own ones, or (for a named
# release) our own apt configuration, written by kernel_apt_setup.
kernel_apt() {
	if [ -n "$VM_RELEASE" ]; then
		APT_CONFIG=$VM_APT_DIR/apt.conf "$@"
	else
		"$@"
	fi
}

# Writes $VM_CACHE/apt/<release>/: apt.conf, sources/debian.sources naming the release
# (with its -updates and -security suites; sid has neither) and a lists directory.
# The machine's /etc/apt/apt.conf.d still applies; its sources do not.
kernel_apt_setup() {
	local suites security=""
	case " $VM_RELEASES " in
	*" $VM_RELEASE "*) ;;
	*) die "unknown Debian release '$VM_RELEASE' (RSIPVSADM_VM_RELEASE or --kernel): one of $VM_RELEASES" ;;
	esac
	VM_APT_DIR=$VM_CACHE/apt/$VM_RELEASE
	mkdir -p "$VM_APT_DIR/sources" "$VM_APT_DIR/lists/partial" ||
		die "cannot create $VM_APT_DIR"
	suites=$VM_RELEASE
	if [ "$VM_RELEASE" != sid ]; then
		suites="$VM_RELEASE $VM_RELEASE-updates"
		security=$VM_RELEASE-security
	fi
	{
		printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\n' "$suites"
		printf 'Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
		if [ -n "$security" ]; then
			printf '\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: %s\n' "$security"
			printf 'Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
		fi
	} >"$VM_APT_DIR/sources/debian.sources"
	# Sandbox::User root: _apt cannot write into a cache directory under root's home.
	cat >"$VM_APT_DIR/apt.conf" <<-EOF
		Dir::Etc::SourceList "/dev/null";
		Dir::Etc::SourceParts "$VM_APT_DIR/sources";
		Dir::State::Lists "$VM_APT_DIR/lists";
		APT::Sandbox::User "root";
	EOF
	# Fetched here, in this shell, not in vm_resolve_kver's subshell (which would fetch
	# them again before the download); again after a week, to follow security updates.
	# (apt dates the lists by the archive's clock, so our own stamp says when.)
	if [ -z "$(find "$VM_APT_DIR/updated" -mtime -7 2>/dev/null)" ]; then
		kernel_apt_update_once
	fi
}

kernel_apt_updated=""
kernel_apt_update_once() {
	[ -n "$kernel_apt_updated" ] && return 0
	if [ -z "$VM_RELEASE" ]; then
		apt_update_once
	else
		log "apt-get update ($VM_RELEASE lists in $VM_APT_DIR)"
		kernel_apt apt-get update -qq || die "apt-get update of the $VM_RELEASE lists failed"
		touch "$VM_APT_DIR/updated"
	fi
	kernel_apt_updated=1
}

# Installs whatever of VM_HOST_NEEDS (and busybox-static) is missing. Fresh CI machines
# have none of it; a developer machine usually has all of it and pays nothing.
vm_ensure_host_packages() {
	local need pkg missing=()
	for need in $VM_HOST_NEEDS; do
		pkg=${need#*:}
		have_need "${need%%:*}" || missing+=("$pkg")
	done
	have_static_busybox || missing+=(busybox-static)
	[ ${#missing[@]} -eq 0 ] && return 0
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	[ "$(id -u)" -eq 0 ] || die "missing host packages (${missing[*]}); install them as root: apt-get install --no-install-recommends ${missing[*]}"
	apt_update_once
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install ${missing[*]} failed"
	for need in $VM_HOST_NEEDS; do
		have_need "${need%%:*}" || die "${need%%:*} still missing after installing ${need#*:}"
	done
}

# ---------------------------------------------------------------------------------------
# Kernel and modules (cached)

# Prints the ABI name of the current Debian cloud kernel, e.g. 6.1.0-56-cloud-amd64:
# the meta package depends on linux-image-<kver>, and the NN changes with every
# security update, so it is looked up, never written down.
vm_resolve_kver() {
	if [ -n "${RSIPVSADM_VM_KVER:-}" ]; then
		printf '%s\n' "$RSIPVSADM_VM_KVER"
		return
	fi
	local kver
	kver=$(kver_from_package_lists)
	if [ -z "$kver" ]; then
		# A fresh machine (or a release's fresh lists directory) may have no lists.
		kernel_apt_update_once
		kver=$(kver_from_package_lists)
	fi
	[ -n "$kver" ] || die "cannot resolve the kernel: 'apt-cache depends linux-image-cloud-amd64' names no linux-image-*-cloud-amd64${VM_RELEASE:+ in $VM_RELEASE} (set RSIPVSADM_VM_KVER to pin one)"
	printf '%s\n' "$kver"
}

# Empty output (not failure) when the lists do not know the meta package.
kver_from_package_lists() {
	{ kernel_apt apt-cache depends linux-image-cloud-amd64 2>/dev/null || true; } |
		sed -n 's/^ *Depends: linux-image-\(.*-cloud-amd64\)$/\1/p' | head -n 1
}

# Downloads the packages PKG... into DIR.
download_debs() {
	local dir=$1
	shift
	# APT::Sandbox::User=root: _apt cannot write into our private temp directory.
	(cd "$dir" && kernel_apt apt-get download -q -o APT::Sandbox::User=root "$@" >&2) ||
		die "apt-get download $* failed"
}

# Unpacks linux-image-KVER, and the packages holding the kernel itself where
# linux-image-KVER is only a meta package (sid from 7.x: linux-binary-KVER with
# usr/lib/modules/KVER/vmlinuz, linux-modules-KVER, linux-base-KVER with modules.builtin
# and modules.order), into DIR/x; prints the path of vmlinuz.
unpack_kernel() {
	local kver=$1 dir=$2 parts deb f
	download_debs "$dir" "linux-image-$kver"
	mkdir -p "$dir/debs"
	mv "$dir"/linux-image-*.deb "$dir/debs/"
	# Not "grep -q": under pipefail, dpkg-deb's broken pipe would fail the test.
	if ! dpkg-deb -c "$dir"/debs/linux-image-*.deb | grep '/vmlinuz' >/dev/null; then
		mapfile -t parts < <(kernel_apt apt-cache depends "linux-image-$kver" |
			awk -v k="$kver" '$1 == "Depends:" && $2 ~ /^linux-/ && substr($2, length($2) - length(k)) == "-" k { print $2 }')
		[ ${#parts[@]} -gt 0 ] || die "linux-image-$kver has no vmlinuz and depends on no linux-*-$kver package"
		log "linux-image-$kver is a meta package: fetching ${parts[*]}"
		download_debs "$dir/debs" "${parts[@]}"
	fi
	for deb in "$dir"/debs/*.deb; do
		dpkg -x "$deb" "$dir/x" || die "dpkg -x $deb failed"
	done
	for f in "$dir/x/boot/vmlinuz-$kver" "$dir/x/usr/lib/modules/$kver/vmlinuz" "$dir/x/lib/modules/$kver/vmlinuz"; do
		if [ -f "$f" ]; then
			printf '%s\n' "$f"
			return 0
		fi
	done
	die "no vmlinuz in the packages of kernel $kver (looked in boot/ and lib/modules/$kver/)"
}

# Prints the paths (relative to MODDIR) of the modules the VM needs: everything in
# net/netfilter/ipvs plus VM_EXTRA_MODULES (and VM_OPTIONAL_MODULES where present),
# closed under modinfo's "depends".
module_closure() {
	local moddir=$1
	declare -A path_of=() seen=()
	local f name queue=() m dep deps
	while IFS= read -r f; do
		name=${f##*/}
		name=${name%%.ko*}
		path_of[${name//-/_}]=$f
	done < <(cd "$moddir" && find kernel -name '*.ko*')
	while IFS= read -r f; do
		name=${f##*/}
		queue+=("${name%%.ko*}")
	done < <(cd "$moddir" && find kernel/net/netfilter/ipvs -name '*.ko*')
	[ ${#queue[@]} -gt 0 ] || die "no IPVS modules in $moddir/kernel/net/netfilter/ipvs"
	# shellcheck disable=SC2206 # word splitting wanted
	queue+=($VM_EXTRA_MODULES)
	for m in $VM_OPTIONAL_MODULES; do
		[ -z "${path_of[$m]:-}" ] || queue+=("$m")
	done
	while [ ${#queue[@]} -gt 0 ]; do
		m=${queue[0]//-/_}
		queue=("${queue[@]:1}")
		[ -n "${seen[$m]:-}" ] && continue
		seen[$m]=1
		[ -n "${path_of[$m]:-}" ] || die "module $m not found in the kernel package"
		printf '%s\n' "${path_of[$m]}"
		deps=$(modinfo -F depends "$moddir/${path_of[$m]}") || die "modinfo failed on ${path_of[$m]}"
		for dep in ${deps//,/ }; do
			queue+=("$dep")
		done
	done
}

# Fetches and unpacks the kernel into $VM_CACHE/<kver>/ unless already there:
#   vmlinuz
#   root/lib/modules/<kver>/...   (only the module closure, with depmod's files)
#   stamp                         (VM_CACHE_FORMAT; a mismatch means rebuild)
# Sets VM_KVER and VM_KDIR.
vm_prepare() {
	vm_ensure_host_packages
	[ -z "$VM_RELEASE" ] || kernel_apt_setup
	VM_KVER=$(vm_resolve_kver)
	VM_KDIR=$VM_CACHE/$VM_KVER
	if [ "$(cat "$VM_KDIR/stamp" 2>/dev/null)" = "$VM_CACHE_FORMAT" ]; then
		return 0
	fi
	# Not cached: about to download anyway, so refresh the package lists first (as root;
	# apt-get download itself works without): stale lists may name a kernel that the
	# mirror has already replaced.
	if [ "$(id -u)" -eq 0 ] && [ -z "${RSIPVSADM_VM_KVER:-}" ]; then
		kernel_apt_update_once
		VM_KVER=$(vm_resolve_kver)
		VM_KDIR=$VM_CACHE/$VM_KVER
	fi
	mkdir -p "$VM_CACHE" || die "cannot create the cache directory $VM_CACHE"
	# Two runs at once (a developer's exec next to tests/run) must not both unpack.
	exec {lockfd}>"$VM_CACHE/.lock"
	flock "$lockfd"
	if [ "$(cat "$VM_KDIR/stamp" 2>/dev/null)" != "$VM_CACHE_FORMAT" ]; then
		fill_kernel_cache
	fi
	exec {lockfd}>&-
}

fill_kernel_cache() {
	local tmp x vmlinuz moddir f
	log "preparing kernel $VM_KVER${VM_RELEASE:+ ($VM_RELEASE)} in $VM_KDIR"
	vm_mktemp_dir "$VM_CACHE"
	tmp=$VM_TMP
	vmlinuz=$(unpack_kernel "$VM_KVER" "$tmp")
	x=$tmp/x
	for moddir in "$x/lib/modules/$VM_KVER" "$x/usr/lib/modules/$VM_KVER" ""; do
		[ -d "$moddir" ] && break
	done
	[ -n "$moddir" ] || die "no lib/modules/$VM_KVER in the kernel package"

	mkdir -p "$tmp/out/root/lib/modules/$VM_KVER"
	cp "$vmlinuz" "$tmp/out/vmlinuz"
	# modules.builtin* tell modprobe which "dependencies" need no file.
	cp "$moddir"/modules.builtin* "$moddir"/modules.order "$tmp/out/root/lib/modules/$VM_KVER/"
	module_closure "$moddir" >"$tmp/modules.list"
	while IFS= read -r f; do
		mkdir -p "$tmp/out/root/lib/modules/$VM_KVER/${f%/*}"
		cp "$moddir/$f" "$tmp/out/root/lib/modules/$VM_KVER/$f"
	done <"$tmp/modules.list"
	depmod -b "$tmp/out/root" "$VM_KVER" || die "depmod failed"
	printf '%s\n' "$VM_CACHE_FORMAT" >"$tmp/out/stamp"

	rm -rf "$VM_KDIR"
	mv "$tmp/out" "$VM_KDIR" || die "cannot move the kernel into $VM_KDIR"
	log "kernel $VM_KVER ready ($(wc -l <"$VM_KDIR/root/lib/modules/$VM_KVER/modules.dep") modules)"
}

# ---------------------------------------------------------------------------------------
# Initramfs

# Copies FILE into ROOT at the same path, following symlinks (the host is usrmerged;
# the image need not be).
copy_to_root() {
	local root=$1 file=$2
	mkdir -p "$root$(dirname "$file")"
	cp -L "$file" "$root$file" || die "cannot copy $file into the image"
}

is_elf() {
	[ -f "$1" ] && [ "$(head -c 4 "$1" | tr -d '\0')" = $'\x7fELF' ]
}

# Copies the shared libraries (and the loader) that the ELF file FILE needs, as `ldd`
# resolves them on the host, into ROOT at the same paths. Static files need nothing.
copy_libs_for() {
	local root=$1 file=$2 out lib
	out=$(ldd "$file" 2>&1) || {
		case $out in
		*"not a dynamic executable"* | *"statically linked"*) return 0 ;;
		*) die "ldd $file failed: $out" ;;
		esac
	}
	case $out in
	*"not found"*) die "ldd $file: a library is missing on the host: $out" ;;
	esac
	# Lines are "libx.so => /path (addr)", "/lib64/ld-linux-x86-64.so.2 (addr)" or
	# "linux-vdso.so.1 (addr)" (in the kernel, no file).
	for lib in $(printf '%s\n' "$out" | sed -n 's/.*=> \(\/[^ ]*\) (.*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
		[ -e "$root$lib" ] || copy_to_root "$root" "$lib"
	done
}

# Writes the /etc files that ipvsadm's name lookups (NSS) and ip need.
write_etc() {
	local etc=$1/etc
	mkdir -p "$etc"
	cp /etc/services /etc/protocols "$etc/"
	[ -d /etc/iproute2 ] && cp -r /etc/iproute2 "$etc/"
	cat >"$etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
# Names for tests of ipvsadm's non-numeric listing (-L without -n).
10.0.0.1	web1.test
10.0.0.2	web2.test
10.0.0.3	web3.test
192.168.0.1	lb.test
2001:db8::1	web6.test
2001:db8::2	web6b.test
EOF
	cat >"$etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files
services: files
protocols: files
networks: files
EOF
	echo 'root:x:0:0:root:/root:/bin/sh' >"$etc/passwd"
	echo 'root:x:0:' >"$etc/group"
	printf 'vm\n' >"$etc/hostname"
}

# Builds the initramfs OUT (uncompressed newc cpio) from the cached kernel modules, the
# host's busybox-static, iproute2 ip and ipvsadm, and the payload directory PAYLOAD
# (copied to /opt/payload; it must contain run.sh).
vm_build_initramfs() {
	local payload=$1 out=$2 root f applet
	[ -f "$payload/run.sh" ] || die "payload $payload has no run.sh"
	vm_mktemp_dir
	root=$VM_TMP
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,opt,var,mnt}
	ln -s ../run "$root/var/run"

	# busybox: the static one, every applet linked in /bin (modprobe also in /sbin,
	# where the kernel's request_module looks for it).
	have_static_busybox || die "busybox-static is not installed"
	cp "$(dpkg -L busybox-static | grep -m1 '/bin/busybox$')" "$root/bin/busybox"
	for applet in $("$root/bin/busybox" --list); do
		[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
	done
	ln -s ../bin/busybox "$root/sbin/modprobe"

	# Debian's ip (busybox's has no netns), the reference ipvsadm, and promtool (checks
	# what `rsipvsadm metrics` serves).
	for f in /usr/sbin/ip /usr/sbin/ipvsadm /usr/bin/promtool; do
		copy_to_root "$root" "$f"
		copy_libs_for "$root" "$f"
	done

	mkdir -p "$root/lib"
	cp -a "$VM_KDIR/root/lib/modules" "$root/lib/" || die "cannot copy the modules"
	write_etc "$root"
	install -m 0755 "$VM_DIR/init.sh" "$root/init"
	install -D -m 0755 "$VM_DIR/watchdog.sh" "$root/usr/bin/vm-watchdog"

	cp -a "$payload" "$root/opt/payload" || die "cannot copy the payload $payload"
	while IFS= read -r -d '' f; do
		is_elf "$f" && copy_libs_for "$root" "$f"
	done < <(find "$root/opt/payload" -type f -print0)

	# mktemp made the root and payload directories 0700: tests also run as other users.
	chmod 0755 "$root" "$root/opt/payload"
	(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --quiet -o -0 -H newc -R 0:0) >"$out" ||
		die "cpio failed"
	rm -rf "$root" # now, not at exit: the VM may run for many minutes
}

# ---------------------------------------------------------------------------------------
# Boot

# Boots the VM with INITRD, streams its console to stdout live (CR stripped) and returns
# the payload's exit status. If the end marker never shows (boot failure, panic,
# timeout), says so and returns 1: never a silent pass.
vm_boot() {
	local initrd=$1 work nonce accel firmware qpid status line
	vm_mktemp_dir
	work=$VM_TMP
	nonce=$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
	accel=(-accel tcg -cpu max)
	if [ "${RSIPVSADM_VM_KVM:-0}" = 1 ]; then
		accel=(-accel kvm -cpu host)
	fi
	# qboot (qemu-system-data) boots -kernel quietly; the default SeaBIOS would print
	# its banner and terminal escapes on the serial console. -nic none: no iPXE either.
	firmware=()
	[ -e /usr/share/qemu/qboot.rom ] && firmware=(-bios qboot.rom)
	mkfifo "$work/console"
	# timeout forwards TERM/INT to qemu, so killing qpid stops the VM; -k: qemu stuck.
	# loglevel=2: the console shows a panic's and an oops's first lines (KERN_EMERG and
	# KERN_ALERT) and nothing else of the kernel's: with loglevel=0 a panic stopped the
	# VM without a word (once, trixie, differential tests, 2026-11-26; not seen again).
	# softlockup_panic=1: a CPU stuck in the kernel for 20 s stops the VM at once, with
	# "BUG: soft lockup ... [task]" and the panic on the console, instead of leaving a
	# test nobody can kill to the timeout (tests/traffic/main.rs, keep_ipvs_hooks).
	timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 "${accel[@]}" -smp 2 -m 2048 \
		-nographic -no-reboot -nic none "${firmware[@]}" -kernel "$VM_KDIR/vmlinuz" -initrd "$initrd" \
		-append "console=ttyS0 quiet loglevel=2 panic=-1 softlockup_panic=1 rsipvsadm.nonce=$nonce" \
		</dev/null >"$work/console" 2>&1 &
	qpid=$!
	VM_CLEANUP_PIDS+=("$qpid")
	sed -u 's/\r$//' <"$work/console" | tee "$work/console.log"
	status=0
	wait "$qpid" || status=$?

	line=$(grep -a "^RSIPVSADM-VM-END $nonce status=" "$work/console.log" | tail -n 1 || true)
	if [ -z "$line" ]; then
		case $status in
		124 | 137) log "VM did not finish: timed out after ${VM_TIMEOUT}s (RSIPVSADM_VM_TIMEOUT)" ;;
		0) log "VM did not finish: it stopped without the payload's end marker (kernel panic or /init failure; see the console above)" ;;
		*) log "VM did not finish: qemu exited with status $status before the payload's end marker (see above)" ;;
		esac
		return 1
	fi
	status=${line##*status=}
	log "payload exit status $status"
	return "$status"
}

# Quotes each argument for a POSIX shell (busybox sh in the VM).
sh_quote() {
	local a out=()
	for a in "$@"; do
		out+=("'${a//\'/\'\\\'\'}'")
	done
	printf '%s' "${out[*]}"
}
