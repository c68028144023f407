#!/bin/sh
# Builds everything with -Werror and runs every test.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)

step() { printf '\n==== %s\n' "$*"; }

step "gcc build (-Werror) and tests"
cmake -S . -B build/gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDROPIPC_WERROR=ON >/dev/null
cmake --build build/gcc -j"$jobs"
ctest --test-dir build/gcc --output-on-failure -j"$jobs"

step "clang build (-Werror)"
CC=clang cmake -S . -B build/clang -DCMAKE_BUILD_TYPE=Debug -DDROPIPC_WERROR=ON >/dev/null
cmake --build build/clang -j"$jobs"
