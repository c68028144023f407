#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The symbol list check of the generated ChildArgs accessors: the library
# exports exactly the dropipc_args_* functions lib/gen/args-gen.py listed
# (its --symbols), and they stay within the budget of the 1.0 API (28 for
# ChildArgs, new/free/validate included).
# Usage: args_symbols.sh LIBRARY SYMBOLS_LIST
set -eu
lib=$1 list=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sort -u "$list" >"$tmp/want"
nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | sed 's/@.*//' |
	grep '^dropipc_args_' | sort -u >"$tmp/got" || true
if ! cmp -s "$tmp/want" "$tmp/got"; then
	echo "FAIL: exported dropipc_args_* differ from the generated list:" >&2
	diff "$tmp/want" "$tmp/got" >&2 || true
	exit 1
fi
n=$(wc -l <"$tmp/want")
[ "$n" -le 28 ] || { echo "FAIL: $n ChildArgs functions, the budget is 28" >&2; exit 1; }
echo "ok: $n ChildArgs functions exported, as generated, within the budget of 28"
