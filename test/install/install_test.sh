#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The installed package as users consume it: installs the build into a
# temporary prefix, then uses nothing but what was installed.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR(test/install) CC [SANITIZERS]
# SANITIZERS: the build's DROPIPC_SANITIZE; the consumers then use them too.
set -eu
build=$1 src=$2 cc=$3 san=${4:-}
cflags=
[ -z "$san" ] || cflags="-fsanitize=$san"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name dropipc.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || fail "no dropipc.pc under $prefix"
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
libdir=$(pkg-config --variable=libdir dropipc)
[ "$libdir" -ef "$(dirname "$PKG_CONFIG_PATH")" ] || fail "pkg-config libdir $libdir"
# Absolute paths, as they are: the prefix installed to, no "pkgconfig/..".
for v in prefix libdir includedir protodir; do
	val=$(pkg-config --variable=$v dropipc)
	case $val in
	"$prefix"/*|"$prefix") ;;
	*) fail "dropipc.pc: $v=$val, not under $prefix" ;;
	esac
	[ "$val" = "$(realpath -m "$val")" ] || fail "dropipc.pc: $v=$val is not a plain absolute path"
done
libs=$(pkg-config --libs dropipc)
case $libs in
*/../*|*pkgconfig*) fail "pkg-config --libs dropipc: $libs" ;;
esac
echo " $libs " | grep -qF -- " -L$libdir " || fail "pkg-config --libs dropipc: '$libs', without -L$libdir"
echo "ok: dropipc.pc names $prefix as it is: $libs"

# 1. A consumer built out of tree with pkg-config.
mkdir "$tmp/pc"
cp "$src/consumer.c" "$tmp/pc/"
# shellcheck disable=SC2046
(cd "$tmp/pc" && "$cc" -std=c11 -Wall -Wextra -Werror $cflags consumer.c -o consumer \
	$(pkg-config --cflags --libs dropipc) -Wl,-rpath,"$libdir")
out=$("$tmp/pc/consumer") || fail "pkg-config consumer: $out"
echo "$out" | grep -q '^consumer: handshake done, pty master /dev/pts/' ||
	fail "pkg-config consumer said: $out"
echo "ok: pkg-config consumer: $out"

# 1b. The static library, with what `pkg-config --static` adds: the library
# and protobuf-c linked in (fully static too, unless sanitized).
# shellcheck disable=SC2046
(cd "$tmp/pc" && "$cc" -std=c11 -Wall -Wextra -Werror $cflags consumer.c -o consumer-static \
	$(pkg-config --static --cflags dropipc) \
	-Wl,-Bstatic $(pkg-config --static --libs dropipc) -Wl,-Bdynamic)
readelf -d "$tmp/pc/consumer-static" | grep -E 'NEEDED.*lib(dropipc|protobuf-c)' &&
	fail "the static consumer needs a shared library of the package"
out=$("$tmp/pc/consumer-static") || fail "static consumer: $out"
echo "$out" | grep -q '^consumer: handshake done' || fail "static consumer said: $out"
if [ -z "$san" ]; then
	# shellcheck disable=SC2046
	(cd "$tmp/pc" && "$cc" -std=c11 -Wall -Wextra -Werror -static consumer.c \
		-o consumer-all-static $(pkg-config --static --cflags --libs dropipc))
	out=$("$tmp/pc/consumer-all-static") || fail "fully static consumer: $out"
	echo "$out" | grep -q '^consumer: handshake done' ||
		fail "fully static consumer said: $out"
fi
echo "ok: static consumers (pkg-config --static --libs: $(pkg-config --static --libs dropipc))"

# 1c. The header alone, as C99 and as C++17 see it, string literals passed
# to the setters as they are.
cp "$src/header_compile.c" "$tmp/pc/"
# shellcheck disable=SC2046
(cd "$tmp/pc" && "$cc" -std=c99 -Wall -Wextra -Werror $cflags header_compile.c -o hc-c99 \
	$(pkg-config --cflags --libs dropipc) -Wl,-rpath,"$libdir")
out=$("$tmp/pc/hc-c99") || fail "C99 header test: $out"
cxx=$(command -v g++ || true)
[ -n "$cxx" ] || fail "no g++ for the C++17 header test"
# shellcheck disable=SC2046
(cd "$tmp/pc" && "$cxx" -std=c++17 -Wall -Wextra -Werror $cflags -x c++ header_compile.c -x none \
	-o hc-cxx17 $(pkg-config --cflags --libs dropipc) -Wl,-rpath,"$libdir")
out=$("$tmp/pc/hc-cxx17") || fail "C++17 header test: $out"
echo "ok: the header compiles clean as C99 and C++17, and works: $out"

# 2. One built with CMake's find_package(dropipc), with the shared
# library (dropipc::dropipc) and with the static one (dropipc::dropipc_static,
# which needs Threads found by the package).
mkdir "$tmp/cm"
cp "$src/consumer.c" "$tmp/cm/"
cp "$src/CMakeLists.consumer.txt" "$tmp/cm/CMakeLists.txt"
for target in dropipc dropipc_static; do
	b=$tmp/cm/build-$target
	cmake -S "$tmp/cm" -B "$b" -DCMAKE_PREFIX_PATH="$prefix" -DDROPIPC_TARGET=dropipc::$target \
		-DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$cflags" >"$tmp/cm.log" 2>&1 ||
		{ cat "$tmp/cm.log" >&2; fail "cmake consumer of dropipc::$target"; }
	cmake --build "$b" >"$tmp/cm.log" 2>&1 || { cat "$tmp/cm.log" >&2; fail "cmake build of dropipc::$target"; }
	out=$("$b/consumer") || fail "find_package consumer of dropipc::$target: $out"
	echo "$out" | grep -q '^consumer: handshake done, pty master /dev/pts/' ||
		fail "find_package consumer of dropipc::$target said: $out"
	needs=$(readelf -d "$b/consumer" | grep -c 'NEEDED.*libdropipc' || true)
	if [ $target = dropipc ]; then
		[ "$needs" = 1 ] || fail "the consumer of dropipc::dropipc does not need libdropipc.so"
	else
		[ "$needs" = 0 ] || fail "the consumer of dropipc::dropipc_static needs libdropipc.so"
	fi
	echo "ok: find_package consumer of dropipc::$target: $out"
done

# 3. The shared library: SONAME, the symlink users link with, the exports.
lib=$libdir/libdropipc.so
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libdropipc.so.1 ] || fail "SONAME is '$soname', not libdropipc.so.1"
[ -e "$libdir/libdropipc.so.1" ] || fail "no $libdir/libdropipc.so.1"
echo "ok: SONAME $soname"

# The public API: every dropipc_* function the installed headers export
# (dropipc.h and the generated ChildArgs accessors it includes).
cat "$prefix/include/dropipc/dropipc.h" "$prefix/include/dropipc/dropipc-args.h" |
	tr '\n' ' ' | grep -o 'DROPIPC_EXPORT [^;]*;' |
	grep -o 'dropipc_[a-z0-9_]*(' | tr -d '(' | sort -u >"$tmp/api"
[ "$(wc -l <"$tmp/api")" -ge 20 ] || fail "found only $(wc -l <"$tmp/api") functions in the header"
# (Version nodes are absolute symbols; a sanitized build also exports the
# sanitizer's own "__" symbols.)
nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sed 's/@.*//' |
	{ if [ -n "$san" ]; then grep -v '^__'; else cat; fi; } | sort -u >"$tmp/exported"
# Exactly the header's functions are exported, each in its version node,
# and the protobuf-c code stays inside.
[ "$(cat "$tmp/api")" = "$(cat "$tmp/exported")" ] ||
	fail "exports differ from the header: $(comm -3 "$tmp/api" "$tmp/exported" | tr '\n' ' ')"
unversioned=$(nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | grep '^dropipc_' | grep -v '@@DROPIPC_' || true)
[ -z "$unversioned" ] || fail "exported without a version node: $unversioned"
grep -q '^dropipc__' "$tmp/exported" && fail "internal or protobuf-c symbols exported"
[ ! -e "$prefix/include/dropipc/v1/dropipc.pb-c.h" ] || fail "the protobuf-c header is installed"
echo "ok: exports: the $(wc -l <"$tmp/exported") functions of the header, each @@DROPIPC_*, nothing else; no protobuf-c header"

# 4. The schema, for another language.
protodir=$(pkg-config --variable=protodir dropipc)
mkdir "$tmp/py"
protoc --proto_path="$protodir" --python_out="$tmp/py" dropipc/v1/dropipc.proto
PYTHONPATH=$tmp/py /usr/bin/python3 -c '
from dropipc.v1 import dropipc_pb2 as pb
names = set(pb.Envelope.DESCRIPTOR.fields_by_name)
assert names == {"child_args", "pty", "error", "files", "exec", "custom"}, names
print("ok: protoc --python_out of the installed schema: Envelope bodies", sorted(names))'

# 5. The README's example, as a reader would copy it: the C block after the
# "example: launcher.c" marker, built with pkg-config and run.
readme=$src/../../README.md
mkdir "$tmp/ex"
sed -n '/<!-- example: launcher.c -->/,/^```$/p' "$readme" | sed '1,2d;$d' >"$tmp/ex/launcher.c"
[ -s "$tmp/ex/launcher.c" ] || fail "no example block in README.md"
# shellcheck disable=SC2046
(cd "$tmp/ex" && "$cc" -std=c11 -Wall -Wextra -Werror $cflags launcher.c -o launcher \
	$(pkg-config --cflags --libs dropipc) -Wl,-rpath,"$libdir")
status=0
out=$("$tmp/ex/launcher" sh -c 'echo hello from the child; exit 3' </dev/null 2>&1) || status=$?
[ "$status" = 3 ] && echo "$out" | grep -q 'hello from the child' ||
	fail "README example: exit $status, said: $out"
status=0
out=$("$tmp/ex/launcher" nosuchcmd </dev/null 2>&1) || status=$?
[ "$status" = 1 ] && [ "$out" = "wait exec: child setup failed at exec: execvp nosuchcmd: No such file or directory" ] ||
	fail "README example with a missing command: exit $status, said: $out"
echo "ok: the README's example builds and runs: $(echo "$out" | head -c 60)..."
# ... and linked statically, with the README's own command (the block
# after "example: static link"), as a launcher that starts often would: no
# libdropipc.so in what it loads.
if [ -z "$san" ]; then
	sed -n '/<!-- example: static link -->/,/^```$/p' "$readme" | sed '1,2d;$d' >"$tmp/ex/static.sh"
	grep -q 'Bstatic' "$tmp/ex/static.sh" || fail "no static link block in README.md"
	# shellcheck disable=SC2317
	cc() { "$realcc" "$@"; }
	realcc=$cc
	(cd "$tmp/ex" && . ./static.sh) || fail "the README's static link: $(cat "$tmp/ex/static.sh")"
	ldd "$tmp/ex/launcher" | grep -q 'libdropipc' &&
		fail "the README's static link still loads libdropipc.so: $(ldd "$tmp/ex/launcher")"
	status=0
	out=$("$tmp/ex/launcher" sh -c 'echo hello from the child; exit 3' </dev/null 2>&1) || status=$?
	[ "$status" = 3 ] && echo "$out" | grep -q 'hello from the child' ||
		fail "static README example: exit $status, said: $out"
	echo "ok: the README's example, linked statically as the README says, runs; ldd shows no libdropipc"
fi

# 6. The installed demo (where it is built), from this prefix outside the
# system paths: it finds libdropipc through its RUNPATH ($ORIGIN-relative)
# and its child in libexec/dropipc, with no LD_LIBRARY_PATH.
demo=$prefix/bin/dropipc-demo
if [ -x "$demo" ]; then
	child=$(find "$prefix" -path '*/libexec/dropipc/dropipc-demo-child')
	[ -n "$child" ] || fail "dropipc-demo-child is not installed to libexec/dropipc"
	[ ! -e "$prefix/bin/dropipc-demo-child" ] || fail "dropipc-demo-child installed to bin"
	for prog in "$demo" "$child"; do
		runpath=$(readelf -d "$prog" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
		case $runpath in
		'$ORIGIN/'*) ;;
		*) fail "$prog: RUNPATH '$runpath', not \$ORIGIN-relative" ;;
		esac
		[ "$(realpath -m "$(dirname "$prog")/${runpath#\$ORIGIN/}")" = "$(realpath "$libdir")" ] ||
			fail "$prog: RUNPATH $runpath is not $libdir"
	done
	env -u LD_LIBRARY_PATH "$demo" --help >"$tmp/demo-help" 2>&1 ||
		fail "installed dropipc-demo --help: $(cat "$tmp/demo-help")"
	grep -q 'dropipc-demo' "$tmp/demo-help" || fail "installed dropipc-demo --help said: $(cat "$tmp/demo-help")"
	echo "ok: the installed dropipc-demo and its child: RUNPATH \$ORIGIN-relative; --help runs without LD_LIBRARY_PATH"
	if unshare -Ur true 2>/dev/null; then
		status=0
		out=$(env -u LD_LIBRARY_PATH "$demo" -- sh -c 'echo hello from the installed demo; exit 4' \
			</dev/null 2>&1) || status=$?
		[ "$status" = 4 ] && echo "$out" | grep -q 'hello from the installed demo' ||
			fail "installed dropipc-demo: exit $status, said: $out"
		echo "ok: the installed dropipc-demo runs a command through its installed child"
	else
		echo "not run: the installed demo's handshake (no user namespaces here: unshare -Ur fails)"
	fi
fi
