# Hand-written part of rsipvsadm's bash completion (completions/hooks/rsipvsadm.bash),
# added by the generator (tests/completion) to clap's script, which completes options,
# verbs and fixed values. This part completes what is only known when Tab is pressed:
# live virtual services, interface names, network namespaces, and the next word of a
# comma-separated list.
# _rsipvsadm_values, generated from the option table, says which option takes what.

# The virtual services of protocol $1 (TCP, UDP, SCTP, or FWM for fwmarks) in the
# kernel's table, from /proc/net/ip_vs, which any user may read ($RSIPVSADM_PROC_IP_VS
# names another file, for tests). Where the command line names a namespace
# ($_rsipvsadm_netns, from --netns), those of that namespace, which only root can list:
# rsipvsadm --netns NAMESPACE -S -n. Nothing, silently, without IPVS or the right.
_rsipvsadm_services() {
	if [[ -n ${_rsipvsadm_netns-} ]]; then
		rsipvsadm --netns "$_rsipvsadm_netns" -S -n 2>/dev/null |
			awk -v proto="$1" '@SAVED_SERVICES_AWK@' 2>/dev/null
		return 0
	fi
	local file=${RSIPVSADM_PROC_IP_VS:-/proc/net/ip_vs}
	[[ -r $file ]] || return 0
	awk -v proto="$1" '@SERVICES_AWK@' "$file" 2>/dev/null
}

# The named network namespaces (--netns), as `ip netns list` names them: the files in
# /run/netns ($RSIPVSADM_NETNS_DIR names another directory, for tests).
_rsipvsadm_namespaces() {
	local file
	for file in "${RSIPVSADM_NETNS_DIR:-/run/netns}"/*; do
		[[ -e $file ]] && printf '%s\n' "${file##*/}"
	done
}

# The network interfaces (--mcast-interface).
_rsipvsadm_interfaces() {
	local dir
	for dir in /sys/class/net/*; do
		[[ -e $dir ]] && printf '%s\n' "${dir##*/}"
	done
}

# $1 is what was typed of a comma-separated list (-b sh-fallback,); the other arguments
# are the words of the list. Prints the list with each word not yet in it added.
_rsipvsadm_list() {
	local typed=$1 word
	shift
	local done=${typed%"${typed##*,}"}
	for word; do
		[[ ,$done == *,"$word",* ]] || printf '%s\n' "$done$word"
	done
}

# The completion function of rsipvsadm and ipvsadm: an option's value that
# _rsipvsadm_values knows is completed here, anything else by clap's _rsipvsadm.
_rsipvsadm_complete() {
	local line=${COMP_LINE:0:COMP_POINT} words option value candidates candidate
	read -ra words <<<"$line"
	[[ $line == *[[:space:]] ]] && words+=("")
	if ((${#words[@]} < 2)); then
		_rsipvsadm "$@"
		return
	fi
	value=${words[-1]}
	option=${words[-2]}
	# The namespace the command will run in (the last --netns before the word).
	local _rsipvsadm_netns= i
	for ((i = 1; i < ${#words[@]} - 1; i++)); do
		case ${words[i]} in
		--netns=*) _rsipvsadm_netns=${words[i]#--netns=} ;;
		--netns) _rsipvsadm_netns=${words[i + 1]} ;;
		esac
	done
	if [[ $value == --*=* ]]; then
		option=${value%%=*}
		value=${value#*=}
	fi
	candidates=$(_rsipvsadm_values "$option" "$value") || {
		_rsipvsadm "$@"
		return
	}
	# Readline replaces only the text after the last word-break character (the : of an
	# address): what comes before it is dropped from the candidates.
	local breaks=${COMP_WORDBREAKS-$' \t\n"\'><=;|&(:'}
	local before=${value%"${value##*["$breaks"]}"}
	COMPREPLY=()
	while IFS= read -r candidate; do
		[[ -n $candidate && $candidate == "$value"* ]] && COMPREPLY+=("${candidate#"$before"}")
	done <<<"$candidates"
	# Nothing fits: keep what was typed, rather than let -o default offer file names.
	((${#COMPREPLY[@]})) || COMPREPLY=("${value#"$before"}")
}
