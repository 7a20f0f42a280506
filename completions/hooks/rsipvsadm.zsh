# Hand-written part of rsipvsadm's zsh completion (completions/hooks/rsipvsadm.zsh),
# added by the generator (tests/completion) to clap's script, which completes options,
# verbs and fixed values. This part completes what is only known when Tab is pressed:
# live virtual services, interface names and network namespaces. _rsipvsadm_values,
# generated from the option table, says which option takes what.

# The virtual services of protocol $1 (TCP, UDP, SCTP, or FWM for fwmarks) in the
# kernel's table, from /proc/net/ip_vs, which any user may read ($RSIPVSADM_PROC_IP_VS
# names another file, for tests). Where the command line names a namespace (the last
# --netns before the word), those of that namespace, which only root can list:
# rsipvsadm --netns NAMESPACE -S -n. Nothing, silently, without IPVS or the right.
_rsipvsadm_services() {
	local file=${RSIPVSADM_PROC_IP_VS:-/proc/net/ip_vs} expl netns i
	for ((i = 2; i < CURRENT; i++)); do
		case $words[i] in
		(--netns=*) netns=${words[i]#--netns=} ;;
		(--netns) netns=$words[i+1] ;;
		esac
	done
	local -a services
	if [[ -n $netns ]]; then
		services=(${(f)"$(rsipvsadm --netns "$netns" -S -n 2>/dev/null |
			awk -v proto="$1" '@SAVED_SERVICES_AWK@' 2>/dev/null)"})
	else
		[[ -r $file ]] || return 1
		services=(${(f)"$(awk -v proto="$1" '@SERVICES_AWK@' "$file" 2>/dev/null)"})
	fi
	_wanted services expl 'virtual service' compadd -a services
}

# The named network namespaces (--netns), as `ip netns list` names them: the files in
# /run/netns ($RSIPVSADM_NETNS_DIR names another directory, for tests).
_rsipvsadm_namespaces() {
	local expl
	local -a namespaces
	namespaces=(${RSIPVSADM_NETNS_DIR:-/run/netns}/*(N:t))
	_wanted namespaces expl 'network namespace' compadd -a namespaces
}

# The network interfaces (--mcast-interface).
_rsipvsadm_interfaces() {
	local expl
	local -a interfaces
	interfaces=(/sys/class/net/*(N:t))
	_wanted interfaces expl 'network interface' compadd -a interfaces
}
