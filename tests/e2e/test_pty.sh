#!/usr/bin/env bash
# Issue 2: an interactive pty session (driven by tmux) gets a prompt, runs a
# command and exits cleanly.
. "$(dirname "$0")/lib.sh"
u=sbt-alice
s=sbxpty$$

ssh_cmd="ssh ${sbx_ssh_opts[*]} -tt -i $SBX_KEYS/$u -p $SBX_PORT $u@127.0.0.1; echo SESSION-ENDED-\$?; sleep 30"
tmux new-session -d -s $s -x 120 -y 40 "$ssh_cmd"
screen() { tmux capture-pane -p -t "$s" 2>/dev/null; }
prompt() { screen | grep -q 'root@.*#'; }
check "a prompt appears" wait_for 20 prompt
# shellcheck disable=SC2016 # typed into the remote shell, which expands it
tmux send-keys -t "$s" 'echo "answer=$((6*7))"; tty' Enter
answer() { screen | grep -q '^answer=42'; }
check "a typed command runs" wait_for 10 answer
check "the session has a tty inside" bash -c "tmux capture-pane -p -t $s | grep -q '^/dev/pts/'"
check "the command line is echoed once, not twice" \
	bash -c "[ \$(tmux capture-pane -p -t $s | grep -c 'echo \"answer') = 1 ]"
tmux send-keys -t $s 'exit 3' Enter
ended() { screen | grep -q 'SESSION-ENDED-3'; }
check "exit ends the session with its status" wait_for 10 ended
tmux kill-session -t $s 2>/dev/null
finish
