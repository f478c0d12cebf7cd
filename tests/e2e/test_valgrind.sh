#!/usr/bin/env bash
# Issue 8 (part): the shim under valgrind (memcheck) through real sessions:
# exec, pty, sftp, scp, agent forwarding, a 32 MiB transfer both ways, a
# client killed mid-session. Any memcheck error or definite leak fails.
# (Skipped in the sanitizer build: valgrind cannot run ASan programs.)
. "$(dirname "$0")/lib.sh"
[ "${SBX_BUILD_TYPE:-}" = Asan ] && { echo "skipped: sanitizer build"; exit 77; }
u=sbt-alice
shim=$SBX_BIN/sshbox-shim
logs=$T/valgrind
mkdir -m 1777 "$logs"
cp "$shim" "$shim.real"
restore() {
	mv -f "$shim.real" "$shim"
	rm -rf "$T"
}
trap restore EXIT
# sshd runs the ForceCommand through the user's shell: a wrapper in its place.
cat >"$shim.wrap" <<EOF
#!/bin/sh
exec valgrind -q --tool=memcheck --error-exitcode=99 --leak-check=full \\
	--errors-for-leak-kinds=definite --show-leak-kinds=definite \\
	--log-file=$logs/shim.%p "$shim.real" "\$@"
EOF
chmod 755 "$shim.wrap"
mv -f "$shim.wrap" "$shim"

sbx_ssh $u true
expect_eq "exec under valgrind" hello "$(sbx_ssh $u 'echo hello')"
out=$(sbx_ssh $u -tt 'stty size; tty' </dev/null 2>&1 | tr -d '\r')
expect_match "a pty session" "/dev/pts/" "$out"
head -c $((32 << 20)) /dev/urandom >"$T/blob"
want=$(sha256sum <"$T/blob")
expect_eq "32 MiB up" "$want" "$(sbx_ssh $u 'cat > /tmp/blob; sha256sum < /tmp/blob' <"$T/blob")"
expect_eq "32 MiB down" "$want" "$(sbx_ssh $u 'cat /tmp/blob' | sha256sum)"
printf 'put %s /tmp/sftp-blob\nget /tmp/sftp-blob %s\n' "$T/blob" "$T/back" >"$T/batch"
check "sftp put and get" sftp -q "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/$u" -P "$SBX_PORT" \
	-b "$T/batch" "$u@127.0.0.1"
expect_eq "sftp round trip" "$want" "$(sha256sum <"$T/back")"
check "scp" scp -q "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/$u" -P "$SBX_PORT" "$T/blob" "$u@127.0.0.1:/tmp/scp-blob"
eval "$(ssh-agent -s)" >/dev/null
ssh-add -q "$SBX_KEYS/$u" 2>/dev/null
out=$(ssh "${sbx_ssh_opts[@]}" -A -i "$SBX_KEYS/$u" -p "$SBX_PORT" "$u@127.0.0.1" 'ssh-add -l')
expect_match "agent forwarding" "ED25519" "$out"
ssh-agent -k >/dev/null
# ssh itself, not the sbx_ssh function: $! must be the client, not a subshell.
ssh "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/$u" -p "$SBX_PORT" "$u@127.0.0.1" 'sleep 1000' &
client=$!
check "the long command's session is up" wait_for 60 sessions_are $u 1
kill -9 $client
wait $client 2>/dev/null
check "the killed client's shim ends" wait_for 30 sessions_are $u 0
check "sessions left nothing running" wait_for 30 bash -c "! pgrep -u $u -f 'sshbox-shim[.]real' >/dev/null"

n=$(find "$logs" -name 'shim.*' | wc -l)
check "valgrind ran the shim ($n runs)" test "$n" -ge 8
bad=$(grep -l -E 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|Invalid (read|write)|uninitialised' "$logs"/shim.* 2>/dev/null)
expect_eq "no memcheck errors and no definite leaks" "" "$bad"
for f in $bad; do
	echo "--- $f"
	head -n 60 "$f"
done
finish
