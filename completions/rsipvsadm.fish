# Generated from src/cli/spec.rs and completions/hooks/ by tests/docs.rs:
# RSIPVSADM_UPDATE_COMPLETIONS=1 cargo test --test docs
# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rsipvsadm_global_optspecs
    string join \n A/add-service E/edit-service D/delete-service C/clear L/list Z/zero a/add-server e/edit-server d/delete-server set h/help v/version R/restore S/save start-daemon= stop-daemon= t/tcp-service= u/udp-service= sctp-service= f/fwmark-service= s/scheduler= p/persistent= M/netmask= r/real-server= m/masquerading i/ipip g/gatewaying w/weight= x/u-threshold= y/l-threshold= n/numeric c/connection mcast-interface= syncid= timeout daemon stats rate thresholds persistent-conn nosort sort X/exact 6/ipv6 o/ops pe= b/sched-flags= mcast-group= mcast-port= mcast-ttl= sync-maxlen= tun-info tun-type= tun-port= tun-nocsum tun-csum tun-remcsum test strict json netns=
end

function __fish_rsipvsadm_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rsipvsadm_global_optspecs) -- $cmd 2>/dev/null
    or return 0
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rsipvsadm_using_subcommand
    set -l cmd (__fish_rsipvsadm_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l start-daemon -d 'start connection sync daemon' -r -f -a "master\t'send connection updates'
backup\t'receive connection updates'"
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l stop-daemon -d 'stop connection sync daemon' -r -f -a "master\t'send connection updates'
backup\t'receive connection updates'"
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s t -l tcp-service -d 'TCP virtual service, host[:port]' -r -f -a "(__fish_rsipvsadm_values --tcp-service)"
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s u -l udp-service -d 'UDP virtual service, host[:port]' -r -f -a "(__fish_rsipvsadm_values --udp-service)"
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l sctp-service -d 'SCTP virtual service, host[:port]' -r -f -a "(__fish_rsipvsadm_values --sctp-service)"
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s f -l fwmark-service -d 'firewall-mark virtual service' -r -f -a "(__fish_rsipvsadm_values --fwmark-service)"
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s s -l scheduler -d 'scheduling method (default wlc)' -r -f -a "rr\t'round robin'
wrr\t'weighted round robin'
lc\t'least-connection'
wlc\t'weighted least-connection (the default)'
lblc\t'locality-based least-connection'
lblcr\t'locality-based least-connection with replication'
dh\t'destination hashing'
sh\t'source hashing'
sed\t'shortest expected delay'
nq\t'never queue'
fo\t'weighted failover'
ovf\t'weighted overflow'
mh\t'maglev hashing'"
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s p -l persistent -d 'persistent service, optional timeout in seconds' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s M -l netmask -d 'persistent granularity mask' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s r -l real-server -d 'real server, host[:port]' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s w -l weight -d 'capacity of real server' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s x -l u-threshold -d 'upper threshold of connections' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s y -l l-threshold -d 'lower threshold of connections' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l mcast-interface -d 'multicast interface for connection sync' -r -f -a "(__fish_rsipvsadm_values --mcast-interface)"
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l syncid -d 'syncid for connection sync (0-255)' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l pe -d 'alternate persistence engine' -r -f -a "sip\t'Session Initiation Protocol'"
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s b -l sched-flags -d 'scheduler flags (comma-separated)' -r -f -a "(__fish_rsipvsadm_values --sched-flags)"
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l mcast-group -d 'multicast group, IPv4 or IPv6' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l mcast-port -d 'multicast UDP port' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l mcast-ttl -d 'multicast TTL' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l sync-maxlen -d 'maximum sync message length' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l tun-type -d 'tunnel type (default ipip)' -r -f -a "ipip\t'IP in IP encapsulation (the default)'
gue\t'generic UDP encapsulation'
gre\t'generic routing encapsulation'"
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l tun-port -d 'tunnel destination port' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l netns -d 'Run the command in a network namespace: a name (ip netns) or a file' -r -f -a "(__fish_rsipvsadm_values --netns)"
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s A -l add-service -d 'add virtual service with options'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s E -l edit-service -d 'edit virtual service with options'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s D -l delete-service -d 'delete virtual service'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s C -l clear -d 'clear the whole table'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s L -s l -l list -d 'list the table'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s Z -l zero -d 'zero counters in a service or all services'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s a -l add-server -d 'add real server with options'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s e -l edit-server -d 'edit real server with options'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s d -l delete-server -d 'delete real server'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l set -d 'set connection timeout values (tcp tcpfin udp)'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s h -l help -d 'display the help message'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s v -l version -d 'display the version'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s R -l restore -d 'restore rules from stdin'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s S -l save -d 'save rules to stdout'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s m -l masquerading -d 'masquerading (NAT)'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s i -l ipip -d 'ipip encapsulation (tunneling)'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s g -l gatewaying -d 'gatewaying (direct routing, the default)'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s n -l numeric -d 'numeric output of addresses and ports'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s c -l connection -d 'output of current IPVS connections'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l timeout -d 'output of timeout (tcp tcpfin udp)'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l daemon -d 'output of daemon information'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l stats -d 'output of statistics information'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l rate -d 'output of rate information'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l thresholds -d 'output of thresholds information'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l persistent-conn -d 'output of persistent connection info'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l nosort -d 'disable sorting output of service/server entries'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l sort -d 'does nothing, for backwards compatibility'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s X -l exact -d 'expand numbers (display exact values)'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s 6 -l ipv6 -d 'fwmark entry uses IPv6'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -s o -l ops -d 'one-packet scheduling'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l tun-info -d 'output of tunnel information'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l tun-nocsum -d 'tunnel encapsulation without checksum'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l tun-csum -d 'tunnel encapsulation with checksum'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l tun-remcsum -d 'tunnel encapsulation with remote checksum'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l test -d 'with -R: check every rule, change nothing'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l strict -d 'with -R: apply nothing unless every rule is valid'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -l json -d 'with -L: the state as one JSON document'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -f -a "apply" -d 'Make the live table equal to FILE, without flushing it'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -f -a "diff" -d 'Print what apply would do; exit 0 if the table equals FILE, 1 if not'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -f -a "metrics" -d 'Print the table as Prometheus metrics, or serve them over HTTP'
complete -c rsipvsadm -n "__fish_rsipvsadm_needs_command" -f -a "top" -d 'Show services and real servers with their traffic, refreshed in place'
complete -c rsipvsadm -n "__fish_rsipvsadm_using_subcommand apply" -l scope -d 'Touch only services in SCOPE: a VIP prefix (10.0.0.0/8, 2001:db8::/32, one address) or a fwmark range (fwmark:100-199, fwmark:7). Repeat to add scopes up; live services outside every scope are never changed, and a service of FILE outside is an error' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_using_subcommand apply" -l drain -d 'Set each real server that goes away to weight 0 first, wait until its connections end (TCP, SCTP: established ones; UDP and fwmark: all) or SECONDS pass, then delete it' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_using_subcommand apply" -l dry-run -d 'Print the plan and change nothing'
complete -c rsipvsadm -n "__fish_rsipvsadm_using_subcommand apply" -s h -l help -d 'Print help'
complete -c rsipvsadm -n "__fish_rsipvsadm_using_subcommand diff" -l scope -d 'Touch only services in SCOPE: a VIP prefix (10.0.0.0/8, 2001:db8::/32, one address) or a fwmark range (fwmark:100-199, fwmark:7). Repeat to add scopes up; live services outside every scope are never changed, and a service of FILE outside is an error' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_using_subcommand diff" -s h -l help -d 'Print help'
complete -c rsipvsadm -n "__fish_rsipvsadm_using_subcommand metrics" -l listen -d 'Serve the metrics over HTTP at http://ADDR:PORT/metrics (an IP address: 127.0.0.1:9850, [::1]:9850; 0.0.0.0 or [::] for all)' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_using_subcommand metrics" -l no-destinations -d 'Leave out the real servers\' metrics (ipvs_backend_*): one series per service only, for tables with very many real servers'
complete -c rsipvsadm -n "__fish_rsipvsadm_using_subcommand metrics" -s h -l help -d 'Print help'
complete -c rsipvsadm -n "__fish_rsipvsadm_using_subcommand top" -l interval -d 'Seconds between frames, more than 0 (fractions allowed: 0.5); rates are measured over the time that actually passed' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_using_subcommand top" -l iterations -d 'Stop after N frames (default: until q, or forever in batch mode)' -r -f
complete -c rsipvsadm -n "__fish_rsipvsadm_using_subcommand top" -l batch -d 'Print frames one after another on standard output, without escape codes or a size limit, each starting with a header line that holds the time and the interval; every frame has rates (the first waits one interval)'
complete -c rsipvsadm -n "__fish_rsipvsadm_using_subcommand top" -s h -l help -d 'Print help'

function __fish_rsipvsadm_values --argument-names option
    switch $option
        case -t --tcp-service
            __fish_rsipvsadm_services TCP
        case -u --udp-service
            __fish_rsipvsadm_services UDP
        case --sctp-service
            __fish_rsipvsadm_services SCTP
        case -f --fwmark-service
            __fish_rsipvsadm_services FWM
        case --mcast-interface
            __fish_rsipvsadm_interfaces
        case -b --sched-flags
            __fish_rsipvsadm_list 'sh-fallback' 'sh: fall back to another server if the chosen one is unavailable' 'sh-port' 'sh: include the source port in the hash' 'mh-fallback' 'mh: fall back to another server if the chosen one is unavailable' 'mh-port' 'mh: include the source port in the hash' 'flag-1' 'scheduler flag 1' 'flag-2' 'scheduler flag 2' 'flag-3' 'scheduler flag 3'
        case --netns
            __fish_rsipvsadm_namespaces
    end
end

# Hand-written part of rsipvsadm's fish completion (completions/hooks/rsipvsadm.fish),
# added by the generator (tests/completion) to clap's script, which completes options,
# verbs and fixed values. This part completes what is only known when Tab is pressed:
# live virtual services, interface names, network namespaces, and the next word of a
# comma-separated list.
# __fish_rsipvsadm_values, generated from the option table, says which option takes what.

# The virtual services of protocol $proto (TCP, UDP, SCTP, or FWM for fwmarks) in the
# kernel's table, from /proc/net/ip_vs, which any user may read ($RSIPVSADM_PROC_IP_VS
# names another file, for tests). Where the command line names a namespace (the last
# --netns before the token), those of that namespace, which only root can list:
# rsipvsadm --netns NAMESPACE -S -n. Nothing, silently, without IPVS or the right.
function __fish_rsipvsadm_services --argument-names proto
    set -l netns
    set -l tokens (commandline -opc)
    for i in (seq 2 (count $tokens))
        switch $tokens[$i]
            case '--netns=*'
                set netns (string replace -- --netns= '' $tokens[$i])
            case --netns
                test $i -lt (count $tokens); and set netns $tokens[(math $i + 1)]
        end
    end
    if test -n "$netns"
        rsipvsadm --netns $netns -S -n 2>/dev/null | awk -v proto=$proto '# The virtual services of one protocol (proto: TCP, UDP, SCTP, or FWM for fwmarks) in
# the rules `rsipvsadm -S -n` prints, one per line, as the command line writes them:
# the word after the protocol option of each -A line. Embedded in the completion of
# each shell, so: no single quotes, no backslashes.
BEGIN {
	flag = proto == "TCP" ? "-t" : proto == "UDP" ? "-u" : proto == "SCTP" ? "--sctp-service" : "-f"
}
$1 == "-A" && $2 == flag { print $3 }' 2>/dev/null
        return 0
    end
    set -l file /proc/net/ip_vs
    set -q RSIPVSADM_PROC_IP_VS[1]; and set file $RSIPVSADM_PROC_IP_VS
    test -r $file; or return 0
    awk -v proto=$proto '# The virtual services of one protocol in /proc/net/ip_vs, one per line, as the command
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
}' $file 2>/dev/null
end

# The named network namespaces (--netns), as `ip netns list` names them: the files in
# /run/netns ($RSIPVSADM_NETNS_DIR names another directory, for tests).
function __fish_rsipvsadm_namespaces
    set -l dir /run/netns
    set -q RSIPVSADM_NETNS_DIR[1]; and set dir $RSIPVSADM_NETNS_DIR
    for file in $dir/*
        string replace -r '.*/' '' -- $file
    end
end

# The network interfaces (--mcast-interface).
function __fish_rsipvsadm_interfaces
    for dir in /sys/class/net/*
        string replace -r '.*/' '' -- $dir
    end
end

# The words of a comma-separated list and their descriptions, as pairs of arguments:
# prints the list typed so far (-b sh-fallback,) with each word not yet in it added.
function __fish_rsipvsadm_list
    # Without the option itself, for --sched-flags=... and -b... in one token.
    set -l typed (commandline -ct | string replace -r -- '^(--[^=]*=|-[^-])' '')
    set -l done (string match -r -- '^.*,' $typed)
    for i in (seq 1 2 (count $argv))
        contains -- $argv[$i] (string split , -- $done); and continue
        printf '%s%s\t%s\n' "$done" $argv[$i] $argv[(math $i + 1)]
    end
end
