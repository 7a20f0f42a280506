#!/bin/sh
# vm-watchdog SECONDS COMMAND [ARGS...]  (installed in the VM as /usr/bin/vm-watchdog)
# Runs COMMAND. If it is still running after SECONDS, prints where its threads are
# blocked in the kernel (/proc/PID/task/*/stack, and the kernel's list of blocked tasks),
# then kills it and exits 124. Otherwise exits with COMMAND's status. A hung test then
# says where it hangs instead of only eating the VM's time.
limit=$1
shift
flag=/tmp/vm-watchdog.$$
"$@" &
pid=$!
(
	i=0
	while [ "$i" -lt "$limit" ]; do
		sleep 1
		kill -0 "$pid" 2>/dev/null || exit 0
		i=$((i + 1))
	done
	: >"$flag"
	echo "vm-watchdog: $1 still running after ${limit}s; kernel stacks of its threads:"
	for task in /proc/"$pid"/task/*; do
		echo "-- thread $(cat "$task/comm" 2>/dev/null) (${task##*/}), waiting in $(cat "$task/wchan" 2>/dev/null)"
		cat "$task/stack" 2>/dev/null
	done
	echo "vm-watchdog: tasks blocked in the kernel (sysrq w):"
	echo w >/proc/sysrq-trigger
	dmesg | sed -n '/sysrq: Show Blocked State/,$p'
	kill "$pid" 2>/dev/null
	sleep 5
	kill -9 "$pid" 2>/dev/null
) &
watchdog=$!
wait "$pid"
status=$?
kill "$watchdog" 2>/dev/null
if [ -e "$flag" ]; then
	echo "vm-watchdog: killed $1 after ${limit}s"
	exit 124
fi
exit "$status"
