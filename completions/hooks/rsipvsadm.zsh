# Hand-written part of rsipvsadm's zsh completion (completions/hooks/rsipvsadm.zsh),
# added by the generator (tests/completion) to clap's script, which completes options,
# verbs and fixed values. This part completes what is only known when Tab is pressed:
# live virtual services and interface names. _rsipvsadm_values, generated from the
# option table, says which option takes what.

# The virtual services of protocol $1 (TCP, UDP, SCTP, or FWM for fwmarks) in the
# kernel's table, from /proc/net/ip_vs, which any user may read ($RSIPVSADM_PROC_IP_VS
# names another file, for tests). Nothing, silently, without IPVS.
_rsipvsadm_services() {
	local file=${RSIPVSADM_PROC_IP_VS:-/proc/net/ip_vs} expl
	[[ -r $file ]] || return 1
	local -a services
	services=(${(f)"$(awk -v proto="$1" '@SERVICES_AWK@' "$file" 2>/dev/null)"})
	_wanted services expl 'virtual service' compadd -a services
}

# The network interfaces (--mcast-interface).
_rsipvsadm_interfaces() {
	local expl
	local -a interfaces
	interfaces=(/sys/class/net/*(N:t))
	_wanted interfaces expl 'network interface' compadd -a interfaces
}
