# What zsh's completion offers for a command line, as a user pressing Tab would get it:
#   zsh -f tests/completion/zsh-capture.zsh FPATH-DIR 'rsipvsadm -b sh-fallback,'
# prints one candidate per line (the whole word as it would be inserted).
#
# Completion runs only inside ZLE, so an interactive zsh is started on a pseudo terminal
# (zsh/zpty), with compinit loading the functions of FPATH-DIR; compadd is wrapped to
# print what each completion function adds instead of showing a menu. The technique is
# that of zsh-capture-completion (github.com/Valodim/zsh-capture-completion).
zmodload zsh/zpty || exit 2
fpath_dir=$1
line=$2

zpty capture zsh -f -i || exit 2
zpty -w capture "fpath=(${(q)fpath_dir} \$fpath); PROMPT= RPROMPT= PS2=; unsetopt zle_bracketed_paste 2>/dev/null"
zpty -w capture 'autoload -U compinit && compinit -u -D'
zpty -w capture "bindkey '^I' complete-word"
zpty -w capture 'zstyle ":completion:*" list-grouped false; zstyle ":completion:*" insert-tab false'
# Markers around the candidates, printed by the completion system before and after.
zpty -w capture 'capture-begin() { print -r -- "<<BEGIN>>" }; capture-end() { print -r -- "<<END>>"; exit }'
zpty -w capture 'compprefuncs=(capture-begin); comppostfuncs=(capture-end)'
# One line per command: the terminal would echo continuation lines with prompts.
zpty -w capture 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi; local -a hits; local -A apre hpre hsuf; builtin compadd -A hits "$@"; zparseopts -E P:=apre p:=hpre s:=hsuf; local hit; for hit in $hits; do print -r -- "<<HIT>>$IPREFIX$apre[-P]$hpre[-p]$hit$hsuf[-s]"; done; builtin compadd "$@"; }'
# Type the line only once the shell has run all of the above: typed earlier, under
# load, it reached a shell still busy with compinit and was completed in part.
zpty -w capture 'print -r -- "<<READY>>"'
text=
integer deadline=$(( SECONDS + 20 ))
while (( SECONDS < deadline )); do
	if zpty -r -t capture chunk; then
		text+=$chunk
		[[ $text == *$'\n<<READY>>'* ]] && break
	else
		sleep 0.05
	fi
done
[[ $text == *$'\n<<READY>>'* ]] || { print -u2 -r -- "the shell never got ready: $text"; exit 3; }
zpty -w -n capture "$line"$'\t'

text=
integer deadline=$(( SECONDS + 20 ))
while (( SECONDS < deadline )); do
	if zpty -r -t capture chunk; then
		text+=$chunk
		[[ $text == *'<<END>>'* ]] && break
	else
		sleep 0.05
	fi
done
zpty -d capture
[[ $text == *'<<END>>'* ]] || { print -u2 -r -- "no end of completion in: $text"; exit 3; }
for row in ${(f)${text//$'\r'/}}; do
	[[ $row == '<<HIT>>'* ]] && print -r -- ${row#'<<HIT>>'}
done
exit 0
