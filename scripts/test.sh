#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Builds everything with -Werror and runs every test.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)

step() { printf '\n==== %s\n' "$*"; }

# The benchmark is OFF by default (it runs `go build`): every build here
# turns it on, for its smoke test.
step "gcc build (-Werror) and tests"
cmake -S . -B build/gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDROPIPC_WERROR=ON \
	-DDROPIPC_BUILD_BENCH=ON >/dev/null
cmake --build build/gcc -j"$jobs"
# The log is kept for the closing count (skipped tests are counted apart).
if ! ctest --test-dir build/gcc --output-on-failure -j"$jobs" >build/ctest-gcc.log 2>&1; then
	cat build/ctest-gcc.log
	exit 1
fi
cat build/ctest-gcc.log

step "clang build (-Werror)"
CC=clang cmake -S . -B build/clang -DCMAKE_BUILD_TYPE=Debug -DDROPIPC_WERROR=ON \
	-DDROPIPC_BUILD_BENCH=ON >/dev/null
cmake --build build/clang -j"$jobs"

# The library alone, as a distribution builds and checks it: no demo, no
# benchmark, its own tests (the Debian package test runs in the gcc stage).
step "library only (no demo, no benchmark): build and tests"
CC=gcc cmake -S . -B build/lib -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDROPIPC_WERROR=ON \
	-DDROPIPC_BUILD_DEMO=OFF -DDROPIPC_BUILD_BENCH=OFF -DDROPIPC_BUILD_TESTS=ON >/dev/null
cmake --build build/lib -j"$jobs"
ctest --test-dir build/lib --output-on-failure -j"$jobs" -LE debian

# gcc here, clang for the fuzz target below: both sanitizer runtimes get a
# turn. The Debian package test builds its own (plain) library: not here.
# RLIMIT_AS is skipped by the tests that use it when they see
# AddressSanitizer (docs/SECURITY.md).
step "sanitizers: gcc -fsanitize=address,undefined build and every test"
CC=gcc cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DDROPIPC_WERROR=ON \
	-DDROPIPC_SANITIZE=address,undefined -DDROPIPC_BUILD_BENCH=ON >/dev/null
cmake --build build/asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build/asan --output-on-failure -j"$jobs" -LE debian

# The library's tests (ctest label "library") under valgrind, on the
# gcc build: any error or definite/indirect leak fails the test. Check runs
# tests in-process (CK_FORK=no) so that leaks are counted where they happen;
# valgrind emulates the fd and address-space limits, so the tests that lower
# them skip that part (DROPIPC_TEST_NO_RLIMIT). valgrind runs threads and
# fork-like clones only, not the library's close helper (a process that
# shares the fd table): under valgrind the library closes inline, so the
# hostile cases whose closes block, and the helper's own case
# (hostile_blocking, hostile_fuse, hostile_launcher), carry no "library"
# label (test/hostile/CMakeLists.txt).
step "valgrind: library tests on the gcc build"
CK_FORK=no DROPIPC_TEST_NO_RLIMIT=1 \
	ctest --test-dir build/gcc -T memcheck -L library \
	--output-on-failure -j"$jobs" --overwrite \
	"MemoryCheckCommandOptions=--leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=1"

# libFuzzer on the receive path (ASan, UBSan): the committed corpus and the
# regression inputs once each, then new inputs for a bounded time. Inputs
# it finds go to build/fuzz/corpus; a crash is written to build/fuzz/.
step "fuzzing: receive path, corpus replay then ${DROPIPC_FUZZ_SECONDS:-60} s"
CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDROPIPC_WERROR=ON \
	-DDROPIPC_FUZZ=ON >/dev/null
cmake --build build/fuzz -j"$jobs" --target fuzz_recv
build/fuzz/test/fuzz/fuzz_recv -artifact_prefix=build/fuzz/ \
	test/fuzz/corpus/* test/fuzz/regressions/*
mkdir -p build/fuzz/corpus
build/fuzz/test/fuzz/fuzz_recv -max_total_time="${DROPIPC_FUZZ_SECONDS:-60}" -timeout=10 \
	-print_final_stats=1 -artifact_prefix=build/fuzz/ build/fuzz/corpus test/fuzz/corpus

# One closing line for whoever reads only the end of the log: the gcc
# run's count, with the tests that could not run here (exit 77) apart.
total=$(ctest --test-dir build/gcc -N | sed -n 's/^Total Tests: //p')
skipped=$(grep -c '\*\*\*Skipped' build/ctest-gcc.log || true)
step "every stage passed"
echo "tests: $((total - skipped)) passed, 0 failed, ${skipped} skipped"
