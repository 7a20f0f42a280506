# Generated from src/cli/spec.rs and completions/hooks/ by tests/docs.rs:
# RSIPVSADM_UPDATE_COMPLETIONS=1 cargo test --test docs
_rsipvsadm() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="rsipvsadm"
                ;;
            rsipvsadm,apply)
                cmd="rsipvsadm__subcmd__apply"
                ;;
            rsipvsadm,diff)
                cmd="rsipvsadm__subcmd__diff"
                ;;
            rsipvsadm,metrics)
                cmd="rsipvsadm__subcmd__metrics"
                ;;
            rsipvsadm,top)
                cmd="rsipvsadm__subcmd__top"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        rsipvsadm)
            opts="-A -E -D -C -l -L -Z -a -e -d -h -v -R -S -t -u -f -s -p -M -r -m -i -g -w -x -y -n -c -X -6 -o -b --add-service --edit-service --delete-service --clear --list --zero --add-server --edit-server --delete-server --set --help --version --restore --save --start-daemon --stop-daemon --tcp-service --udp-service --sctp-service --fwmark-service --scheduler --persistent --netmask --real-server --masquerading --ipip --gatewaying --weight --u-threshold --l-threshold --numeric --connection --mcast-interface --syncid --timeout --daemon --stats --rate --thresholds --persistent-conn --nosort --sort --exact --ipv6 --ops --pe --sched-flags --mcast-group --mcast-port --mcast-ttl --sync-maxlen --tun-info --tun-type --tun-port --tun-nocsum --tun-csum --tun-remcsum --test --strict --json --netns apply diff metrics top"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --start-daemon)
                    COMPREPLY=($(compgen -W "master backup" -- "${cur}"))
                    return 0
                    ;;
                --stop-daemon)
                    COMPREPLY=($(compgen -W "master backup" -- "${cur}"))
                    return 0
                    ;;
                --tcp-service)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                -t)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --udp-service)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                -u)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --sctp-service)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --fwmark-service)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                -f)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --scheduler)
                    COMPREPLY=($(compgen -W "rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh" -- "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -W "rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh" -- "${cur}"))
                    return 0
                    ;;
                --persistent)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                -p)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --netmask)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                -M)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --real-server)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                -r)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --weight)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                -w)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --u-threshold)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                -x)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --l-threshold)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                -y)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --mcast-interface)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --syncid)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --pe)
                    COMPREPLY=($(compgen -W "sip" -- "${cur}"))
                    return 0
                    ;;
                --sched-flags)
                    COMPREPLY=($(compgen -W "sh-fallback sh-port mh-fallback mh-port flag-1 flag-2 flag-3" -- "${cur}"))
                    return 0
                    ;;
                -b)
                    COMPREPLY=($(compgen -W "sh-fallback sh-port mh-fallback mh-port flag-1 flag-2 flag-3" -- "${cur}"))
                    return 0
                    ;;
                --mcast-group)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --mcast-port)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --mcast-ttl)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --sync-maxlen)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --tun-type)
                    COMPREPLY=($(compgen -W "ipip gue gre" -- "${cur}"))
                    return 0
                    ;;
                --tun-port)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --netns)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        rsipvsadm__subcmd__apply)
            opts="-h --dry-run --scope --drain --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --scope)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --drain)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        rsipvsadm__subcmd__diff)
            opts="-h --scope --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --scope)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        rsipvsadm__subcmd__metrics)
            opts="-h --listen --no-destinations --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --listen)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        rsipvsadm__subcmd__top)
            opts="-h --interval --batch --iterations --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --interval)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                --iterations)
                    COMPREPLY=("${cur}")
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o nospace
                    fi
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}


_rsipvsadm_values() {
	case $1 in
	-t | --tcp-service)
		_rsipvsadm_services TCP
		;;
	-u | --udp-service)
		_rsipvsadm_services UDP
		;;
	--sctp-service)
		_rsipvsadm_services SCTP
		;;
	-f | --fwmark-service)
		_rsipvsadm_services FWM
		;;
	--mcast-interface)
		_rsipvsadm_interfaces
		;;
	-b | --sched-flags)
		_rsipvsadm_list "$2" 'sh-fallback' 'sh-port' 'mh-fallback' 'mh-port' 'flag-1' 'flag-2' 'flag-3'
		;;
	--netns)
		_rsipvsadm_namespaces
		;;
	*) return 1 ;;
	esac
}

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
			awk -v proto="$1" '# The virtual services of one protocol (proto: TCP, UDP, SCTP, or FWM for fwmarks) in
# the rules `rsipvsadm -S -n` prints, one per line, as the command line writes them:
# the word after the protocol option of each -A line. Embedded in the completion of
# each shell, so: no single quotes, no backslashes.
BEGIN {
	flag = proto == "TCP" ? "-t" : proto == "UDP" ? "-u" : proto == "SCTP" ? "--sctp-service" : "-f"
}
$1 == "-A" && $2 == flag { print $3 }' 2>/dev/null
		return 0
	fi
	local file=${RSIPVSADM_PROC_IP_VS:-/proc/net/ip_vs}
	[[ -r $file ]] || return 0
	awk -v proto="$1" '# The virtual services of one protocol in /proc/net/ip_vs, one per line, as the command
# line writes them: 10.0.0.1:80, [2001:db8::1]:443, or a fwmark in decimal (proto=FWM).
# The file is readable without root, unlike the netlink dump `-Sn` needs. Embedded in
# the completion of each shell, so: no single quotes, no backslashes.
function hex(text,    value, i) {
	value = 0
	for (i = 1; i <= length(text); i++)
		value = value * 16 + index("0123456789abcdef", tolower(substr(text, i, 1))) - 1
	return value
}
# 2001:0db8:0000:0000:0000:0000:0000:0001 -> 2001:db8::1 (RFC 5952: the longest run of
# two or more zero groups, the first one if tied, becomes ::).
function ipv6(full,    group, count, i, text, start, run, best, best_start) {
	count = split(full, group, ":")
	best = 1
	for (i = 1; i <= count; i++) {
		group[i] = sprintf("%x", hex(group[i]))
		if (group[i] == "0") {
			if (run == 0) start = i
			run++
			if (run > best) { best = run; best_start = start }
		} else run = 0
	}
	text = ""
	for (i = 1; i <= count; i++) {
		if (best_start && i == best_start) { text = text "::"; i += best - 1; continue }
		if (text != "" && substr(text, length(text)) != ":") text = text ":"
		text = text group[i]
	}
	return text
}
$1 != proto { next }
proto == "FWM" { print hex($2); next }
{
	split($2, part, "]:")
	if (part[2] != "") {
		print "[" ipv6(substr(part[1], 2)) "]:" hex(part[2])
		next
	}
	split($2, part, ":")
	address = hex(part[1])
	print int(address / 16777216) "." int(address / 65536) % 256 "." int(address / 256) % 256 "." address % 256 ":" hex(part[2])
}' "$file" 2>/dev/null
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

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _rsipvsadm_complete -o nosort -o bashdefault -o default rsipvsadm ipvsadm
else
    complete -F _rsipvsadm_complete -o bashdefault -o default rsipvsadm ipvsadm
fi
