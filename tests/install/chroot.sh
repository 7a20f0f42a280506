# shellcheck shell=bash
# A disposable Debian 12 root for tests/install/run: `debootstrap --variant=minbase
# bookworm` with the packages the README's steps meet on a real director, built once and
# cached (like the VM's kernel in tests/vm), copied afresh for every run.
# Source it after tests/vm/lib.sh (log, die, vm_mktemp_dir).

CHROOT_SUITE=bookworm
CHROOT_MIRROR=${RSIPVSADM_CHROOT_MIRROR:-http://deb.debian.org/debian}
# ipvsadm: the package being replaced (its .deb is kept, to upgrade it under the
# diversion); bash-completion, zsh, fish: the shells whose completion loaders the
# README's file names must satisfy; man-db: `man` finds the page; systemd: systemctl
# enable and systemd-analyze verify on the unit; sudo, cron: their PATHs.
CHROOT_PACKAGES="ipvsadm,bash-completion,zsh,fish,man-db,systemd,sudo,cron"
# Bump when the cached root's contents change; an entry with another stamp is rebuilt.
CHROOT_CACHE_FORMAT="3 $CHROOT_SUITE $CHROOT_PACKAGES"
CHROOT_CACHE=${RSIPVSADM_CHROOT_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/rsipvsadm-chroot}

# Prints the cached root, building it first if it is missing or stale (a minute or two
# with a network; nothing afterwards). Builds into a temporary directory and renames it,
# so an interrupted build leaves no half root behind.
chroot_cached_root() {
	local root=$CHROOT_CACHE/$CHROOT_SUITE-minbase
	if [ -f "$root.stamp" ] && [ "$(cat "$root.stamp")" = "$CHROOT_CACHE_FORMAT" ] && [ -d "$root" ]; then
		printf '%s\n' "$root"
		return
	fi
	mkdir -p "$CHROOT_CACHE"
	rm -rf "$root" "$root.stamp" "$root.new"
	log "debootstrap --variant=minbase --include=$CHROOT_PACKAGES $CHROOT_SUITE (cached in $CHROOT_CACHE)"
	debootstrap --variant=minbase --include="$CHROOT_PACKAGES" "$CHROOT_SUITE" "$root.new" "$CHROOT_MIRROR" >"$CHROOT_CACHE/debootstrap.log" 2>&1 ||
		die "debootstrap failed; see $CHROOT_CACHE/debootstrap.log"
	find "$root.new/var/cache/apt/archives" -name '*.deb' ! -name 'ipvsadm_*' -delete
	mv "$root.new" "$root"
	printf '%s\n' "$CHROOT_CACHE_FORMAT" >"$root.stamp"
	printf '%s\n' "$root"
}
