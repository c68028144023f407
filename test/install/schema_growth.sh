#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
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
# The grown fields got their accessors with no hand edit (lib/gen/args-gen.py):
# in the installed header, exported, and working through a real pair.
new_h=$(find "$work/new" -name dropipc-args.h | head -1)
for sym in dropipc_args_set_added_to_child_args dropipc_args_get_added_to_child_args; do
	grep -q "$sym(" "$new_h" || { echo "schema_growth: $sym not in the grown header" >&2; exit 1; }
	nm -D --defined-only "$new_lib/libdropipc.so.1" | grep -q " $sym@@" ||
		{ echo "schema_growth: $sym not exported by the grown library" >&2; exit 1; }
done
grep -q 'DROPIPC_LIST_ADDED_TO_CONFIG = 0x364,' "$new_h" ||
	{ echo "schema_growth: no DROPIPC_LIST_ADDED_TO_CONFIG in the grown header" >&2; exit 1; }
cat >"$work/grown.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <dropipc/dropipc.h>
int main(void)
{
	static const char *const more[] = { "x", "y", NULL };
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *a, *got;
	size_t n = 0;
	char *const *l;
	int child_fd;

	if (dropipc_args_new(&a) || dropipc_args_set_env_id(a, "e") ||
	    dropipc_args_set_net_mode(a, DROPIPC_NET_MODE_OFF) ||
	    dropipc_args_set_added_to_child_args(a, "new") ||
	    dropipc_args_set_list(a, DROPIPC_LIST_ADDED_TO_CONFIG, more) ||
	    dropipc_socketpair(&p, &child_fd) || dropipc_child_new(child_fd, &c) ||
	    dropipc_parent_send_args(p, a) || dropipc_child_recv_args(c, &got))
		return 1;
	l = dropipc_args_get_list(got, DROPIPC_LIST_ADDED_TO_CONFIG, &n);
	if (strcmp(dropipc_args_get_added_to_child_args(got), "new") || n != 2 || strcmp(l[1], "y"))
		return 1;
	puts("ok: the grown fields' new accessors, through a pair");
	return 0;
}
EOF
new_pc=$(dirname "$(find "$work/new" -name dropipc.pc -path '*/pkgconfig/*')")
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror -o "$work/grown" "$work/grown.c" \
	$(PKG_CONFIG_PATH=$new_pc pkg-config --cflags --libs dropipc)
LD_LIBRARY_PATH=$new_lib "$work/grown" || { echo "schema_growth: FAIL: the grown accessors" >&2; exit 1; }
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
echo "schema growth: 5 passed, 0 failed"
