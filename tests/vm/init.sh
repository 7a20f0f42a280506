#!/bin/sh
# /init (PID 1) of the test VM; tests/vm/lib.sh copies it into the initramfs.
# Mounts the basics, loads the IPVS and network modules, runs /opt/payload/run.sh with
# its output on the serial console, prints the end marker the host waits for
# ("RSIPVSADM-VM-END <nonce> status=<N>"), and powers off.

# iproute2's ip (/usr/sbin) must win over busybox's ip (/bin) for programs that search
# PATH. busybox sh itself runs its own applets first whatever PATH says; see ip() below.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Pseudo-terminals, for the tests that drive `rsipvsadm top` as on a terminal.
mkdir -p /dev/pts
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run # ip netns keeps its mount points here

# The initramfs has no /dev/console node (making one needs mknod on the host), so the
# kernel may give us no stdio at all: take the serial console explicitly. No stdin.
exec </dev/null >/dev/ttyS0 2>&1
# No CR before each LF: the host would have to strip them from the payload's output.
stty -F /dev/ttyS0 -onlcr 2>/dev/null

# In the payload, "ip" means iproute2's ip (see PATH above). A nested "sh -c" would
# get busybox's again; call /usr/sbin/ip there.
ip() { /usr/sbin/ip "$@"; }

nonce=none
# shellcheck disable=SC2013 # words wanted: the command line is one line
for word in $(cat /proc/cmdline); do
	case $word in
	rsipvsadm.nonce=*) nonce=${word#*=} ;;
	esac
done

ip link set lo up

# ip_vs and every module next to it (schedulers, ftp helper, sip persistence engine),
# then the interface kinds tests build real servers with. Absent ones are reported,
# not fatal: a test that needs one fails on its own with a clearer message.
kver=$(uname -r)
modules="ip_vs"
for f in /lib/modules/"$kver"/kernel/net/netfilter/ipvs/*.ko*; do
	m=${f##*/}
	m=${m%%.ko*}
	[ "$m" = ip_vs ] || modules="$modules $m"
done
modules="$modules veth dummy ipip ip_gre fou"
missing=""
for m in $modules; do
	opts=""
	# No dummy0 in the initial namespace: tests make their own interfaces.
	[ "$m" = dummy ] && opts="numdummies=0"
	# shellcheck disable=SC2086 # no options must be no argument
	modprobe "$m" $opts 2>/dev/null || missing="$missing $m"
done
echo "vm: kernel $kver, modules: $modules"
[ -z "$missing" ] || echo "vm: WARNING: modules that did not load:$missing"

echo "vm: up $(cut -d' ' -f1 /proc/uptime)s; running /opt/payload/run.sh"
cd /opt/payload || exit 1
# A subshell, so that the payload's "exit" or "set -e" ends the payload, not /init.
# shellcheck source=/dev/null
(. ./run.sh)
status=$?

echo "RSIPVSADM-VM-END $nonce status=$status"
poweroff -f
# Should poweroff fail, leaving /init (PID 1) would panic the kernel: reboot instead,
# which -no-reboot turns into qemu exiting.
echo b >/proc/sysrq-trigger
sleep 10
