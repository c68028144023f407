#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# smoke.sh BENCH OUTDIR PLOTSCRIPT GNUPLOT|"" [--gob PROGRAM | --no-gob]
# Runs BENCH --quick and checks that every table is there, the size series
# was written and, with gnuplot, plotted. Times are not looked at.
set -eu
bench=$1 dir=$2 plot=$3 gnuplot=$4
shift 4
out=$dir/bench-quick.txt
dat=$dir/bench-quick.dat
rm -f "$out" "$dat" "$dir/bench-quick.png"

"$bench" --quick --data "$dat" "$@" >"$out"

fail() {
	echo "smoke: $*" >&2
	cat "$out" >&2
	exit 1
}
for heading in "Warm handshake" "Cold handshake" "One receive of ChildArgs" "Targets" \
	"Spawn to the child's first receive"; do
	grep -q "^$heading" "$out" || fail "no \"$heading\" table"
done
for row in "| typical  |      [0-9]* | dropipc |" "| large    |" "| 64 KB    |" \
	"| dropipc_spawn |" "| fork + execv  |"; do
	grep -q "^$row" "$out" || fail "no row \"$row\""
done
grep -q "^|          |          | floor   |" "$out" || fail "no floor row"
if [ "${1:-}" = --gob ]; then
	grep -q "^|          |          | gob     |" "$out" || fail "no gob row"
	grep -q "^|          | gob     |" "$out" || fail "no cold gob row"
fi
# typical, 1 KB and 64 KB: three points of bytes and three times.
[ "$(grep -c '^[0-9]* [0-9.]* [0-9.]* [0-9.]*$' "$dat")" -eq 3 ] ||
	fail "size series: expected 3 lines in $dat"
if [ -n "$gnuplot" ]; then
	"$gnuplot" -e "data='$dat'; out='$dir/bench-quick.png'" "$plot"
	[ -s "$dir/bench-quick.png" ] || fail "gnuplot wrote no plot"
fi
echo "smoke: ok"
