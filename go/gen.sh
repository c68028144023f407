#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Generates dropipcv1/dropipc.pb.go from the schema, as committed (go get
# users never run protoc). PROTODIR defaults to the installed schema.
# Usage: gen.sh [PROTODIR [OUTDIR]]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
protodir=${1:-$(pkg-config --variable=protodir dropipc)}
out=${2:-$here}
mod=$(sed -n 's/^module //p' "$here/go.mod")
protoc --proto_path="$protodir" --go_out="$out" --go_opt=module="$mod" \
	--go_opt=Mdropipc/v1/dropipc.proto="$mod/dropipcv1" dropipc/v1/dropipc.proto
