# fish completion for jobq.
#
# The candidates and their descriptions come from `jobq __complete
# --describe`, which walks jobq's own command tree (and asks jobqd for
# application names and job ids), so this file never changes when jobq gains a
# command or an option.
#
# Enable: copy or link this file to ~/.config/fish/completions/jobq.fish, or
# `source completions/jobq.fish` in a session.

function __jobq_complete
    # The words after "jobq" before the cursor, then the current word so far
    # (quoted: an empty current word must still be passed).
    set -l words (commandline -opc)
    set -e words[1]
    set -l current (commandline -ct)
    command jobq __complete --describe -- $words "$current" 2>/dev/null
end

complete -c jobq -f -k -a '(__jobq_complete)'
