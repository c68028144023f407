#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The committed go/dropipcv1/dropipc.pb.go (go get users never run protoc)
# must be what protoc-gen-go makes of the INSTALLED schema. The protoc
# version line is left out: it does not change the code.
# Usage: gogen_check.sh WORK GO_MODULE_DIR
set -eu
work=$1 mod=$2
out=$work/gogen
rm -rf "$out"
mkdir -p "$out"
sh "$mod/gen.sh" "$(cat "$work/protodir")" "$out"
strip() { grep -v '^// 	protoc  ' "$1"; }
strip "$out/dropipcv1/dropipc.pb.go" >"$out/new.go"
strip "$mod/dropipcv1/dropipc.pb.go" >"$out/committed.go"
if ! diff -u "$out/committed.go" "$out/new.go"; then
	echo "FAIL: go/dropipcv1/dropipc.pb.go does not match the installed schema;" \
		"regenerate it with go/gen.sh and commit it" >&2
	exit 1
fi
echo "ok: go/dropipcv1/dropipc.pb.go matches the installed schema ($(wc -l <"$out/new.go") lines)"
