# The virtual services of one protocol in /proc/net/ip_vs, one per line, as the command
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
}
