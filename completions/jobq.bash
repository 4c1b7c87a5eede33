# bash completion for jobq.
#
# The candidates come from `jobq __complete`, which walks jobq's own command
# tree (and asks jobqd for application names and job ids), so this file never
# changes when jobq gains a command or an option. Its one line ":files [LEAD]"
# asks for a file's path after LEAD (--batch, --socket, --message @FILE).
#
# Enable: `source completions/jobq.bash` (e.g. from ~/.bashrc), or install it
# as /usr/share/bash-completion/completions/jobq.

_jobq() {
  # The words after "jobq" up to the cursor. bash's COMP_WORDS also splits a
  # word at its break characters (COMP_WORDBREAKS: "--socket=PATH" is three
  # words, "@FILE" two): pieces with no blank between them in COMP_LINE are
  # joined back into the word jobq sees.
  local line=${COMP_LINE:0:COMP_POINT} pos=0 end=-1 cur strip="" lead i c w
  local -a words=() lines
  for ((i = 0; i <= COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    while [[ ${line:pos:1} == [[:space:]] ]]; do ((pos++)); done
    if ((i > 1 && pos == end)); then
      words[${#words[@]} - 1]+=$w
    elif ((i > 0)); then
      words+=("$w")
    fi
    ((pos += ${#w}))
    end=$pos
  done
  cur=${words[${#words[@]} - 1]}
  # What bash replaces is the part of the word after its last break character.
  for ((i = ${#cur} - 1; i >= 0; i--)); do
    c=${cur:i:1}
    if [[ ${COMP_WORDBREAKS-} == *"$c"* ]]; then
      strip=${cur:0:i+1}
      break
    fi
  done
  mapfile -t lines < <(command jobq __complete -- "${words[@]}" 2>/dev/null)
  if [[ ${lines[0]-} == :files* ]]; then
    lead=${lines[0]#:files}
    lead=${lead# }
    compopt -o filenames 2>/dev/null
    mapfile -t lines < <(compgen -f -- "${cur#"$lead"}")
    lines=("${lines[@]/#/$lead}")
  fi
  COMPREPLY=()
  for c in "${lines[@]}"; do COMPREPLY+=("${c#"$strip"}"); done
}

# nosort (bash 4.4): job ids stay in jobq's order, unfinished first, then newest.
complete -o nosort -F _jobq jobq 2>/dev/null || complete -F _jobq jobq
