# The virtual services of one protocol (proto: TCP, UDP, SCTP, or FWM for fwmarks) in
# the rules `rsipvsadm -S -n` prints, one per line, as the command line writes them:
# the word after the protocol option of each -A line. Embedded in the completion of
# each shell, so: no single quotes, no backslashes.
BEGIN {
	flag = proto == "TCP" ? "-t" : proto == "UDP" ? "-u" : proto == "SCTP" ? "--sctp-service" : "-f"
}
$1 == "-A" && $2 == flag { print $3 }
