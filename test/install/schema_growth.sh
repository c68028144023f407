#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The schema grows without breaking binaries. A consumer is built once
# against the installed package; then the library is built again from a
# copy of the schema with a new field in ChildArgs and one in Config, with
# the same SONAME; the old consumer, not rebuilt, goes through the whole
# handshake with it, and across versions (old parent and new child, and
# the reverse).
# Usage: schema_growth.sh SOURCE_DIR BUILD_DIR WORK
set -eu
src=$1 build=$2 work=$3
rm -rf "$work"
mkdir -p "$work/proto/dropipc/v1"

cmake --install "$build" --prefix "$work/old" >/dev/null
old_pc=$(dirname "$(find "$work/old" -name dropipc.pc -path '*/pkgconfig/*')")
old_lib=$(PKG_CONFIG_PATH=$old_pc pkg-config --variable=libdir dropipc)
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror -o "$work/consumer" "$src/test/install/growth_consumer.c" \
	$(PKG_CONFIG_PATH=$old_pc pkg-config --cflags --libs dropipc)

# The grown schema: field 100 in ChildArgs and in Config.
sed -e 's/^  bool confirm_exec = 5;$/&\n  string added_to_child_args = 100;/' \
    -e 's/^  Net net = 5;$/&\n  repeated string added_to_config = 100;/' \
	"$src/proto/dropipc/v1/dropipc.proto" >"$work/proto/dropipc/v1/dropipc.proto"
[ "$(grep -c 'added_to_' "$work/proto/dropipc/v1/dropipc.proto")" = 2 ] ||
	{ echo "schema_growth: the schema copy did not grow" >&2; exit 1; }
cmake -S "$src" -B "$work/build-new" -DDROPIPC_BUILD_DEMO=OFF -DDROPIPC_BUILD_BENCH=OFF \
	-DDROPIPC_BUILD_TESTS=OFF -DDROPIPC_PROTO_DIR="$work/proto" >/dev/null
cmake --build "$work/build-new" -j2 >/dev/null
cmake --install "$work/build-new" --prefix "$work/new" >/dev/null
new_lib=$(dirname "$(find "$work/new" -name 'libdropipc.so.1' | head -1)")
grep -q added_to_config "$work/build-new/lib/gen/dropipc/v1/dropipc.pb-c.h" ||
	{ echo "schema_growth: the new library was not built from the grown schema" >&2; exit 1; }
soname() { readelf -d "$1" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p'; }
[ "$(soname "$old_lib/libdropipc.so.1")" = "$(soname "$new_lib/libdropipc.so.1")" ] ||
	{ echo "schema_growth: SONAME changed" >&2; exit 1; }

run() { # PARENT_LIBDIR CHILD_LIBDIR what
	if LD_LIBRARY_PATH=$1 CHILD_LIBDIR=$2 "$work/consumer"; then
		echo "ok: $3"
	else
		echo "FAIL: $3" >&2
		exit 1
	fi
}
run "$old_lib" "$old_lib" "old consumer, old library"
run "$new_lib" "$new_lib" "old consumer, grown library"
run "$old_lib" "$new_lib" "old library parent, grown library child"
run "$new_lib" "$old_lib" "grown library parent, old library child"
echo "schema growth: 4 passed, 0 failed"
