#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# How dropipc_spawn() runs newuidmap and newgidmap, seen by strace while
# test_spawn's "helpers" case runs: each helper is exec'd with exactly the
# environment PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C, after its
# process closed every fd from 3 up, set signals to their default (SIGPIPE
# and SIGTERM checked) and emptied its signal mask. Exits 77
# (skipped), saying why, without strace, ptrace or the helpers.
# Usage: helpers_exec.sh TEST_SPAWN
set -eu
test_spawn=$1

skip() {
	echo "SKIPPED helpers_exec: $*"
	exit 77
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

command -v strace >/dev/null || skip "no strace"
strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace refused)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=0
# One file per process (-ff): no call is cut by another process's.
# LeakSanitizer cannot run under ptrace: a sanitized build runs the case
# without it here (its other tests check leaks).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
CK_RUN_CASE=helpers strace -ff -v -s 256 -e trace=execve,close_range,rt_sigprocmask,rt_sigaction \
	-o "$tmp/trace" "$test_spawn" >"$tmp/out" 2>&1 || status=$?
[ "$status" -eq 77 ] && skip "$(cat "$tmp/out")"
[ "$status" -eq 0 ] || fail "test_spawn helpers under strace: exit $status: $(cat "$tmp/out")"

env='["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]'
n=0
for one in $(grep -lE 'execve\("/usr/bin/new[ug]idmap"' "$tmp"/trace.*); do
	n=$((n + 1))
	pid=${one##*.}
	line=$(grep 'execve("/usr/bin/new' "$one")
	case $line in
	*"], $env) = 0") ;;
	*) fail "a helper's environment is not exactly $env: $line" ;;
	esac
	# Before the exec, in that process: the fds closed, the mask emptied.
	sed '/execve(/q' "$one" | grep -q 'close_range(3, 4294967295' ||
		fail "pid $pid closed no fds from 3 up before: $line"
	sed '/execve(/q' "$one" | grep -q 'rt_sigprocmask(SIG_SETMASK, \[\]' ||
		fail "pid $pid did not empty its signal mask before: $line"
	for sig in SIGPIPE SIGTERM; do
		sed '/execve(/q' "$one" | grep -q "rt_sigaction($sig, {sa_handler=SIG_DFL" ||
			fail "pid $pid did not set $sig to its default before: $line"
	done
done
# helpers: own ids (newuidmap, newgidmap), a refused range (newuidmap).
[ "$n" -ge 3 ] || fail "strace saw $n helper execs, not 3"
echo "ok: $n helper execs, each with fds 3+ closed, default signals, an empty mask and only $env"
