complete -c rsipvsadm -l start-daemon -d 'start connection sync daemon' -r -f -a "master\t'send connection updates'
backup\t'receive connection updates'"
complete -c rsipvsadm -l stop-daemon -d 'stop connection sync daemon' -r -f -a "master\t'send connection updates'
backup\t'receive connection updates'"
complete -c rsipvsadm -s t -l tcp-service -d 'TCP virtual service, host[:port]' -r -f
complete -c rsipvsadm -s u -l udp-service -d 'UDP virtual service, host[:port]' -r -f
complete -c rsipvsadm -l sctp-service -d 'SCTP virtual service, host[:port]' -r -f
complete -c rsipvsadm -s f -l fwmark-service -d 'firewall-mark virtual service' -r -f
complete -c rsipvsadm -s s -l scheduler -d 'scheduling method (default wlc)' -r -f -a "rr\t'round robin'
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
complete -c rsipvsadm -s p -l persistent -d 'persistent service, optional timeout in seconds' -r -f
complete -c rsipvsadm -s M -l netmask -d 'persistent granularity mask' -r -f
complete -c rsipvsadm -s r -l real-server -d 'real server, host[:port]' -r -f
complete -c rsipvsadm -s w -l weight -d 'capacity of real server' -r -f
complete -c rsipvsadm -s x -l u-threshold -d 'upper threshold of connections' -r -f
complete -c rsipvsadm -s y -l l-threshold -d 'lower threshold of connections' -r -f
complete -c rsipvsadm -l mcast-interface -d 'multicast interface for connection sync' -r -f
complete -c rsipvsadm -l syncid -d 'syncid for connection sync (0-255)' -r -f
complete -c rsipvsadm -l pe -d 'alternate persistence engine' -r -f -a "sip\t'Session Initiation Protocol'"
complete -c rsipvsadm -s b -l sched-flags -d 'scheduler flags (comma-separated)' -r -f -a "sh-fallback\t'sh: fall back to another server if the chosen one is unavailable'
sh-port\t'sh: include the source port in the hash'
mh-fallback\t'mh: fall back to another server if the chosen one is unavailable'
mh-port\t'mh: include the source port in the hash'
flag-1\t'scheduler flag 1'
flag-2\t'scheduler flag 2'
flag-3\t'scheduler flag 3'"
complete -c rsipvsadm -l mcast-group -d 'multicast group, IPv4 or IPv6' -r -f
complete -c rsipvsadm -l mcast-port -d 'multicast UDP port' -r -f
complete -c rsipvsadm -l mcast-ttl -d 'multicast TTL' -r -f
complete -c rsipvsadm -l sync-maxlen -d 'maximum sync message length' -r -f
complete -c rsipvsadm -l tun-type -d 'tunnel type (default ipip)' -r -f -a "ipip\t'IP in IP encapsulation (the default)'
gue\t'generic UDP encapsulation'
gre\t'generic routing encapsulation'"
complete -c rsipvsadm -l tun-port -d 'tunnel destination port' -r -f
complete -c rsipvsadm -s A -l add-service -d 'add virtual service with options'
complete -c rsipvsadm -s E -l edit-service -d 'edit virtual service with options'
complete -c rsipvsadm -s D -l delete-service -d 'delete virtual service'
complete -c rsipvsadm -s C -l clear -d 'clear the whole table'
complete -c rsipvsadm -s L -s l -l list -d 'list the table'
complete -c rsipvsadm -s Z -l zero -d 'zero counters in a service or all services'
complete -c rsipvsadm -s a -l add-server -d 'add real server with options'
complete -c rsipvsadm -s e -l edit-server -d 'edit real server with options'
complete -c rsipvsadm -s d -l delete-server -d 'delete real server'
complete -c rsipvsadm -l set -d 'set connection timeout values (tcp tcpfin udp)'
complete -c rsipvsadm -s h -l help -d 'display the help message'
complete -c rsipvsadm -s v -l version -d 'display the version'
complete -c rsipvsadm -s R -l restore -d 'restore rules from stdin'
complete -c rsipvsadm -s S -l save -d 'save rules to stdout'
complete -c rsipvsadm -s m -l masquerading -d 'masquerading (NAT)'
complete -c rsipvsadm -s i -l ipip -d 'ipip encapsulation (tunneling)'
complete -c rsipvsadm -s g -l gatewaying -d 'gatewaying (direct routing, the default)'
complete -c rsipvsadm -s n -l numeric -d 'numeric output of addresses and ports'
complete -c rsipvsadm -s c -l connection -d 'output of current IPVS connections'
complete -c rsipvsadm -l timeout -d 'output of timeout (tcp tcpfin udp)'
complete -c rsipvsadm -l daemon -d 'output of daemon information'
complete -c rsipvsadm -l stats -d 'output of statistics information'
complete -c rsipvsadm -l rate -d 'output of rate information'
complete -c rsipvsadm -l thresholds -d 'output of thresholds information'
complete -c rsipvsadm -l persistent-conn -d 'output of persistent connection info'
complete -c rsipvsadm -l nosort -d 'disable sorting output of service/server entries'
complete -c rsipvsadm -l sort -d 'does nothing, for backwards compatibility'
complete -c rsipvsadm -s X -l exact -d 'expand numbers (display exact values)'
complete -c rsipvsadm -s 6 -l ipv6 -d 'fwmark entry uses IPv6'
complete -c rsipvsadm -s o -l ops -d 'one-packet scheduling'
complete -c rsipvsadm -l tun-info -d 'output of tunnel information'
complete -c rsipvsadm -l tun-nocsum -d 'tunnel encapsulation without checksum'
complete -c rsipvsadm -l tun-csum -d 'tunnel encapsulation with checksum'
complete -c rsipvsadm -l tun-remcsum -d 'tunnel encapsulation with remote checksum'
complete -c rsipvsadm -l test -d 'with -R: check every rule, change nothing'
complete -c rsipvsadm -l strict -d 'with -R: apply nothing unless every rule is valid'
