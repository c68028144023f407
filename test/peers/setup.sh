#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ctest fixture of the peer tests: installs the build into WORK/prefix and
# builds the Go and Python peers from the INSTALLED schema only, found
# through pkg-config as a user of the package would:
#   WORK/prefix            the installed package
#   WORK/py                protoc --python_out (dropipc/v1/dropipc_pb2.py)
#   WORK/go/src/dropipc/v1 protoc --go_out; WORK/go/src/dropipcpeer the peer
#   WORK/bin/dropipc-peer-go
# Usage: setup.sh BUILD_DIR WORK SOURCE_DIR(test/peers)
set -eu
build=$1 work=$2 src=$3

rm -rf "$work"
mkdir -p "$work/py" "$work/go/src/dropipcpeer" "$work/bin"
cmake --install "$build" --prefix "$work/prefix" >/dev/null

pc=$(find "$work/prefix" -name dropipc.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || { echo "setup: no dropipc.pc installed under $work/prefix" >&2; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
protodir=$(pkg-config --variable=protodir dropipc)
proto=dropipc/v1/dropipc.proto
[ -f "$protodir/$proto" ] || { echo "setup: $protodir/$proto not installed" >&2; exit 1; }
echo "$protodir" >"$work/protodir"

protoc --proto_path="$protodir" --python_out="$work/py" "$proto"
protoc --proto_path="$protodir" --go_out="$work/go/src" "$proto"

cp -R "$src/go/ipc" "$src/go/peer" "$work/go/src/dropipcpeer/"
# go needs a build cache; keep the user's (it makes rebuilds fast) if any.
if [ -z "${GOCACHE:-}${XDG_CACHE_HOME:-}${HOME:-}" ]; then
	GOCACHE=$work/gocache
	export GOCACHE
fi
GO111MODULE=off GOPATH="$work/go:/usr/share/gocode" GOFLAGS= \
	go build -o "$work/bin/dropipc-peer-go" dropipcpeer/peer
