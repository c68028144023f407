#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Calling one role's operation on the other end is a compile error
# (wrong_role.c), while the same file with the right end compiles.
# Usage: wrong_role.sh CC INCLUDE_FLAGS SOURCE_DIR
set -eu
# shellcheck disable=SC2086 # incs is several flags
cc=$1 incs=$2 src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$cc" -std=c11 -Wall -Wextra -Werror $incs -DRIGHT_ROLE -c "$src/wrong_role.c" -o "$tmp/right.o" ||
	{ echo "FAIL: wrong_role.c does not compile with the right end" >&2; exit 1; }
if "$cc" -std=c11 -Wall -Wextra -Werror $incs -c "$src/wrong_role.c" -o "$tmp/wrong.o" \
	2>"$tmp/err"; then
	echo "FAIL: dropipc_parent_recv_pty() took a dropipc_child *" >&2
	exit 1
fi
grep -q 'dropipc_parent_recv_pty\|incompatible' "$tmp/err" ||
	{ echo "FAIL: the error is not about the end passed:" >&2; cat "$tmp/err" >&2; exit 1; }
echo "ok: the wrong role's call does not compile, the right one does"
