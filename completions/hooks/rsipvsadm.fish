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
        rsipvsadm --netns $netns -S -n 2>/dev/null | awk -v proto=$proto '@SAVED_SERVICES_AWK@' 2>/dev/null
        return 0
    end
    set -l file /proc/net/ip_vs
    set -q RSIPVSADM_PROC_IP_VS[1]; and set file $RSIPVSADM_PROC_IP_VS
    test -r $file; or return 0
    awk -v proto=$proto '@SERVICES_AWK@' $file 2>/dev/null
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
