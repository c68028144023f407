#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Every function of the API has a manual page: the exported dropipc_*
# functions of the built library and the ones the public header declares
# each have man3/NAME.3 (a page or a ".so" alias), shown in the SYNOPSIS of
# the page it leads to; every alias is a function; man renders every page
# without a warning.
# Usage: man_test.sh MAN_BUILD_DIR HEADER [LIBRARY]
# Without LIBRARY (or when it is not built), only the header's functions.
set -eu
mandir=$1 header=$2 lib=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
errors=0

fail() {
	echo "FAIL: $*" >&2
	errors=$((errors + 1))
}

[ -d "$mandir/man3" ] || { echo "FAIL: no $mandir/man3 (is the dropipc-man target built?)" >&2; exit 1; }

# HEADER may be several, separated by ':' (dropipc.h and the generated
# dropipc-args.h).
# shellcheck disable=SC2046
cat $(echo "$header" | tr ':' ' ') | tr '\n' ' ' | grep -o 'DROPIPC_EXPORT [^;]*;' |
	grep -o 'dropipc_[a-z0-9_]*(' | tr -d '(' | sort -u >"$tmp/header"
[ "$(wc -l <"$tmp/header")" -ge 20 ] ||
	{ echo "FAIL: found only $(wc -l <"$tmp/header") functions in $header" >&2; exit 1; }
cp "$tmp/header" "$tmp/functions"
if [ -n "$lib" ]; then
	[ -f "$lib" ] || { echo "FAIL: no library $lib" >&2; exit 1; }
	# "T dropipc_args_new@@DROPIPC_1.0": the API functions, not the
	# generated protobuf-c symbols (dropipc__v1__*).
	nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "W" || $2 == "i" { print $3 }' |
		sed 's/@.*//' | grep '^dropipc_[a-z0-9]' | sort -u >"$tmp/exported" || true
	[ -s "$tmp/exported" ] || { echo "FAIL: $lib exports no dropipc_* function" >&2; exit 1; }
	sort -u "$tmp/header" "$tmp/exported" >"$tmp/functions"
	echo "ok: $(wc -l <"$tmp/exported") functions exported by $(basename "$lib"), $(wc -l <"$tmp/header") declared in the header"
else
	echo "ok: no library given: the $(wc -l <"$tmp/header") functions the header declares"
fi

# The SYNOPSIS of a rendered page, one line per line.
synopsis() {
	MANWIDTH=200 LC_ALL=C.UTF-8 man -l "$1" 2>/dev/null | col -b |
		sed -n '/^SYNOPSIS/,/^[A-Z]/p'
}

checked=0
while read -r fn; do
	f=$mandir/man3/$fn.3
	if [ ! -f "$f" ]; then
		fail "$fn: no page or alias man3/$fn.3"
		continue
	fi
	page=$f
	target=$(sed -n '1s/^\.so //p' "$f")
	if [ -n "$target" ]; then
		page=$mandir/$target
		[ -f "$page" ] || { fail "$fn: alias to $target, which does not exist"; continue; }
	fi
	synopsis "$page" | grep -q "[^a-z0-9_]$fn(" ||
		fail "$fn: not in the SYNOPSIS of $(basename "$page")"
	# What `man FUNCTION` finds, through the alias.
	MANWIDTH=200 man -M "$mandir" 3 "$fn" 2>/dev/null | col -b | grep -q "$fn" ||
		fail "$fn: man -M $mandir 3 $fn does not show it"
	checked=$((checked + 1))
done <"$tmp/functions"

# Every alias stands for a function.
for f in "$mandir"/man3/*.3; do
	sed -n '1p' "$f" | grep -q '^\.so ' || continue
	fn=$(basename "$f" .3)
	grep -qx "$fn" "$tmp/functions" || fail "alias $fn.3 names no function of the API"
done

# Every page renders without a warning, as lintian checks it.
for page in "$mandir"/man*/*.[0-9]; do
	sed -n '1p' "$page" | grep -q '^\.so ' && continue
	w=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null) || true
	[ -z "$w" ] || fail "$(basename "$page"): man warns: $w"
done

[ "$checked" -gt 0 ] || { echo "FAIL: no function checked" >&2; exit 1; }
if [ "$errors" -gt 0 ]; then
	echo "FAIL: $errors problems" >&2
	exit 1
fi
echo "ok: $checked functions, each with a page that shows it in its SYNOPSIS"
