#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Builds the library and the demo, then runs a shell in Drop's sandbox, in C.
# The sandbox SHOWS: the host's /usr, /bin, /lib*, /sbin read-only; its own
# /proc (only its processes, your uid), /dev, /run; the environment's own
# home (at your home's path), /etc (an overlay over the host's), /var and
# /tmp; the mounts you give (--mount SRC:DST[:rw]). It HIDES: every other
# host file, the host's processes, your environment but PATH, HOME, TERM,
# LANG and a few more, and the network (--net off; isolated with pasta when
# passt is installed). Arguments go to the demo, e.g.
# scripts/demo.sh -- sh -c 'ls /; id'.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh demo
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDROPIPC_BUILD_TESTS=OFF \
	-DDROPIPC_BUILD_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
# --verbose: each step of the handshake, and the ChildArgs sent, on stderr.
net=off
command -v pasta >/dev/null 2>&1 && [ -w /dev/net/tun ] && net=isolated
exec build/cmd/demo/dropipc-demo --verbose --net "$net" "$@"
