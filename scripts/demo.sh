#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the library and the demo, then runs the demo: a real parent and a
# real child go through the handshake, and a shell runs in the pty that came
# back. Arguments go to the demo, e.g. scripts/demo.sh -- sh -c 'echo hi'.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
# --verbose: each step of the handshake, and the ChildArgs sent, on stderr.
exec build/cmd/demo/dropipc-demo --verbose "$@"
