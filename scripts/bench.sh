#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Builds the library and the benchmark (Release) and runs it: the handshake
# against the socketpair floor and against Drop's gob exchange, in one run.
# Prints the table, writes the size series and its plot next to the build:
#   scripts/bench.sh [--quick] [BUILD_DIR]
# BUILD_DIR defaults to build/bench (or /tmp/dropipc-bench if the source
# tree is not writable); results go to BUILD_DIR/bench.{txt,dat,png}.
set -eu
cd "$(dirname "$0")/.."
quick=
if [ "${1:-}" = --quick ]; then
	quick=--quick
	shift
fi
build=${1:-build/bench}
if [ $# -eq 0 ] && ! mkdir -p "$build" 2>/dev/null; then
	build=/tmp/dropipc-bench
fi
mkdir -p "$build"

scripts/deps.sh test
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDROPIPC_BUILD_TESTS=OFF \
	-DDROPIPC_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target dropipc-bench dropipc-bench-gob >/dev/null

out=$(cd "$build" && pwd)
# shellcheck disable=SC2086
"$out/cmd/bench/dropipc-bench" $quick --data "$out/bench.dat" | tee "$out/bench.txt"
gnuplot -e "data='$out/bench.dat'; out='$out/bench.png'" cmd/bench/bench.gp
echo
echo "table: $out/bench.txt  plot: $out/bench.png"
