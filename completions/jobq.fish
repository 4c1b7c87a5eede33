# fish completion for jobq.
#
# The candidates and their descriptions come from `jobq __complete
# --describe`, which walks jobq's own command tree (and asks jobqd for
# application names and job ids), so this file never changes when jobq gains a
# command or an option. Its one line ":files [LEAD]" asks for a file's path
# after LEAD (--batch, --socket, --message @FILE). -k keeps jobq's order: job
# ids unfinished first, then newest.
#
# Enable: copy or link this file to ~/.config/fish/completions/jobq.fish, or
# `source completions/jobq.fish` in a session.

function __jobq_complete
    # The words after "jobq" before the cursor, then the current word so far
    # (quoted: an empty current word must still be passed).
    set -l words (commandline -opc)
    set -e words[1]
    set -l current (commandline -ct)
    set -l lines (command jobq __complete --describe -- $words "$current" 2>/dev/null)
    if string match -q -- ':files*' "$lines[1]"
        set -l lead (string replace -r '^:files ?' '' -- "$lines[1]")
        set -l file_part (string sub -s (math (string length -- "$lead") + 1) -- "$current")
        for f in (__fish_complete_path "$file_part")
            echo "$lead$f"
        end
        return
    end
    for line in $lines
        echo $line
    end
end

complete -c jobq -f -k -a '(__jobq_complete)'
