#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Writes DIR/go.work: a Go workspace of the module go/ and the Go peer, with
# google.golang.org/protobuf replaced by Debian's copy (the module proxy is
# not reachable here; go/go.mod and go/go.sum stay as users with a proxy
# need them: Debian's copy is not the module's zip, so go.sum cannot check
# it; the workspace's replace skips that check).
# The protobuf module requires two modules it does not use at run time;
# empty stand-ins satisfy the module graph. Prints the GOWORK value.
# Usage: gowork.sh DIR GO_MODULE_DIR PEER_DIR
set -eu
dir=$1 mod=$(cd "$2" && pwd) peer=$(cd "$3" && pwd)
debian=/usr/share/gocode/src/google.golang.org/protobuf
[ -f "$debian/go.mod" ] || { echo "gowork: $debian missing (golang-google-protobuf-dev)" >&2; exit 1; }
version=$(sed -n 's/^require google.golang.org\/protobuf //p' "$mod/go.mod")
mkdir -p "$dir/stub/golang-protobuf" "$dir/stub/go-cmp"
echo 'module github.com/golang/protobuf' >"$dir/stub/golang-protobuf/go.mod"
echo 'module github.com/google/go-cmp' >"$dir/stub/go-cmp/go.mod"
cat >"$dir/go.work" <<EOW
go 1.19

use (
	$mod
	$peer
)

replace google.golang.org/protobuf $version => $debian

replace github.com/golang/protobuf => ./stub/golang-protobuf

replace github.com/google/go-cmp => ./stub/go-cmp
EOW
echo "$dir/go.work"
