# bash completion for jobq.
#
# The candidates come from `jobq __complete`, which walks jobq's own command
# tree (and asks jobqd for application names and job ids), so this file never
# changes when jobq gains a command or an option.
#
# Enable: `source completions/jobq.bash` (e.g. from ~/.bashrc), or install it
# as /usr/share/bash-completion/completions/jobq.

_jobq() {
  # The words after "jobq" up to and including the one under the cursor.
  local words=("${COMP_WORDS[@]:1:COMP_CWORD}")
  mapfile -t COMPREPLY < <(command jobq __complete -- "${words[@]}" 2>/dev/null)
}

complete -F _jobq jobq
