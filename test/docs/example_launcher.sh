#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# examples/launcher.c, as docs/USAGE.md shows it run: a command's output
# through the pty, its exit status, and a missing command's exec error.
# SKIPPED (77) where user namespaces are refused (the child is spawned in
# new ones).
# Usage: example_launcher.sh LAUNCHER
set -eu
launcher=$1
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
if ! unshare -Ur true 2>/dev/null; then
	echo "SKIP: user namespaces are refused here (unshare -Ur true fails)"
	exit 77
fi
status=0
out=$("$launcher" sh -c 'echo hello from the pty; exit 3' </dev/null 2>&1) || status=$?
[ "$status" = 3 ] && echo "$out" | grep -q 'hello from the pty' || fail "launcher: exit $status, said: $out"
status=0
out=$("$launcher" nosuchcmd </dev/null 2>&1) || status=$?
[ "$status" = 1 ] &&
	[ "$out" = "wait exec: child setup failed at exec: execvp nosuchcmd: No such file or directory" ] ||
	fail "launcher nosuchcmd: exit $status, said: $out"
echo "ok: examples/launcher: the pty's output and exit 3; nosuchcmd: $out"
