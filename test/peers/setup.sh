#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# ctest fixture of the peer tests: installs the build into WORK/prefix, then
# the Go and Python packages as a user would, from the INSTALLED schema
# (found through pkg-config):
#   WORK/prefix            the installed libdropipc
#   WORK/protodir          a file naming the installed schema's directory
#   WORK/venv              a virtual environment (--system-site-packages, for
#                          Debian's python3-protobuf) where the dropipc
#                          package is installed with pip, offline
#   WORK/bin/dropipc-peer-go  the Go peer, built with the Go module
# Usage: setup.sh BUILD_DIR WORK SOURCE_DIR PYTHON
set -eu
build=$1 work=$2 src=$(cd "$3" && pwd) python=$4
peers=$src/test/peers

rm -rf "$work"
mkdir -p "$work/bin"
cmake --install "$build" --prefix "$work/prefix" >/dev/null

pc=$(find "$work/prefix" -name dropipc.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || { echo "setup: no dropipc.pc installed under $work/prefix" >&2; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
protodir=$(pkg-config --variable=protodir dropipc)
[ -f "$protodir/dropipc/v1/dropipc.proto" ] ||
	{ echo "setup: $protodir/dropipc/v1/dropipc.proto not installed" >&2; exit 1; }
echo "$protodir" >"$work/protodir"

# pip builds in the tree it is given: a copy keeps the source tree clean.
"$python" -m venv --system-site-packages "$work/venv"
cp -R "$src/python" "$work/python-src"
"$work/venv/bin/python" -m pip install --quiet --no-build-isolation --no-index \
	"$work/python-src"
"$work/venv/bin/python" -c 'import dropipc, sys; sys.exit(dropipc.pb.ExecConfirm is None)'

GOWORK=$(sh "$peers/gowork.sh" "$work/go" "$src/go" "$peers/go/peer")
GOPROXY=off GOFLAGS=
export GOWORK GOPROXY GOFLAGS
# go needs a build cache; keep the user's (it makes rebuilds fast) if any.
if [ -z "${GOCACHE:-}${XDG_CACHE_HOME:-}${HOME:-}" ]; then
	GOCACHE=$work/gocache
	export GOCACHE
fi
(cd "$peers/go/peer" && go build -o "$work/bin/dropipc-peer-go" .)
echo "ok: libdropipc installed, pip install of python/ and go build with go/ done"
