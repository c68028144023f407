#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The Debian packages as a user gets them: builds them from a copy of the
# tree (dpkg-buildpackage writes next to the tree it builds), checks them
# with lintian (no errors), unpacks the runtime and -dev packages into a
# temporary root and builds and runs the README's example against it.
# Usage: debian_test.sh SOURCE_DIR [CC]
# DEB_BUILD_PROFILES=nodemo in the environment leaves out dropipc-demo.
set -eu
src=$1 cc=${2:-cc}

skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

command -v dpkg-buildpackage >/dev/null || skip "dpkg-buildpackage is not installed (dpkg-dev)"
command -v dh >/dev/null || skip "dh is not installed (debhelper)"
command -v pkg-config >/dev/null || skip "pkg-config is not installed"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. A copy of the tree without build output: the files git knows (with
# their changes) and new ones it does not ignore; or, outside git,
# everything but build directories.
mkdir "$tmp/src"
if git -C "$src" rev-parse --show-toplevel >/dev/null 2>&1; then
	# (Files deleted but not yet committed are left out.)
	# shellcheck disable=SC2016
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar -cf - --null -T -) | tar -xf - -C "$tmp/src"
else
	(cd "$src" && tar -cf - --exclude='./build' --exclude='./build-*' --exclude='./obj-*' .) |
		tar -xf - -C "$tmp/src"
fi
[ -f "$tmp/src/debian/control" ] || fail "no debian/control in the copy of $src"
(cd "$tmp/src" && dpkg-checkbuilddeps) >"$tmp/deps.log" 2>&1 ||
	skip "build dependencies missing: $(cat "$tmp/deps.log")"

# 2. The packages.
echo "building the packages (profiles: ${DEB_BUILD_PROFILES:-none})..."
if ! (cd "$tmp/src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}" \
	dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	tail -40 "$tmp/build.log" >&2
	fail "dpkg-buildpackage -us -uc -b"
fi
# A library that exports symbols the symbols file does not list (or lost
# some): dpkg-gensymbols prints the difference.
if grep -q 'dpkg-gensymbols: warning' "$tmp/build.log"; then
	sed -n '/dpkg-gensymbols: warning/,/^ *dh_/p' "$tmp/build.log" >&2
	fail "debian/libdropipc0.symbols is out of date: add the new symbols (with the version that added them)"
fi
changes=$(ls "$tmp"/*.changes)
version=$(dpkg-parsechangelog -l "$tmp/src/debian/changelog" -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
runtime=$tmp/libdropipc0_${version}_$arch.deb
dev=$tmp/libdropipc-dev_${version}_$arch.deb
demo=$tmp/dropipc-demo_${version}_$arch.deb
for deb in "$runtime" "$dev"; do
	[ -f "$deb" ] || fail "no $(basename "$deb"); built: $(cd "$tmp" && ls ./*.deb)"
done
echo "ok: built $(cd "$tmp" && ls ./*.deb | tr '\n' ' ')"

# 3. lintian: errors fail, the rest is shown.
if command -v lintian >/dev/null; then
	lintian --info --display-experimental "$changes" >"$tmp/lintian.log" 2>&1 || true
	grep -v '^running with root privileges' "$tmp/lintian.log" || true
	if grep -q '^E:' "$tmp/lintian.log"; then
		fail "lintian reports errors"
	fi
	echo "ok: lintian: no errors ($(grep -c '^W:' "$tmp/lintian.log" || true) warnings)"
else
	echo "lintian is not installed: the packages are not checked by it"
fi

# 4. What each package holds.
contents() {
	dpkg-deb -c "$1" | awk '{ print $6 }' | sed 's,^\./,/,'
}
has() {
	grep -qx "$2" "$tmp/$1.list" || fail "$1 has no $2"
}
contents "$runtime" >"$tmp/runtime.list"
contents "$dev" >"$tmp/dev.list"
has runtime "/usr/lib/$multiarch/libdropipc.so.0"
has runtime "/usr/lib/$multiarch/libdropipc.so.$version"
! grep -q '\.so$\|\.a$\|/include/' "$tmp/runtime.list" || fail "libdropipc0 holds development files"
has dev /usr/include/dropipc/dropipc.h
has dev "/usr/lib/$multiarch/libdropipc.so"
has dev "/usr/lib/$multiarch/libdropipc.a"
has dev "/usr/lib/$multiarch/pkgconfig/dropipc.pc"
has dev "/usr/lib/$multiarch/cmake/dropipc/dropipcConfig.cmake"
has dev /usr/share/dropipc/proto/dropipc/v1/dropipc.proto
has dev /usr/share/man/man3/dropipc.3.gz
has dev /usr/share/man/man3/dropipc_args_add_mount.3.gz
has dev /usr/share/doc/libdropipc-dev/PROTOCOL.md.gz
case " ${DEB_BUILD_PROFILES:-} " in
*" nodemo "*) [ ! -f "$demo" ] || fail "dropipc-demo built with the nodemo profile" ;;
*)
	[ -f "$demo" ] || fail "no $(basename "$demo")"
	contents "$demo" >"$tmp/demo.list"
	has demo /usr/bin/dropipc-demo
	has demo /usr/libexec/dropipc/dropipc-demo-child
	has demo /usr/share/man/man1/dropipc-demo.1.gz
	;;
esac
echo "ok: libdropipc0, libdropipc-dev$([ -f "$demo" ] && echo ", dropipc-demo") hold what they should"

# 5. The runtime and -dev packages in a root of their own.
root=$tmp/root
dpkg -x "$runtime" "$root"
dpkg -x "$dev" "$root"
[ ! -f "$demo" ] || dpkg -x "$demo" "$root"
libdir=$root/usr/lib/$multiarch
# dropipc.pc finds its prefix from its own place, so it points into the root.
PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
cflags=$(pkg-config --cflags dropipc) || fail "pkg-config --cflags dropipc"
libs=$(pkg-config --libs dropipc) || fail "pkg-config --libs dropipc"
incdir=$(pkg-config --variable=includedir dropipc)
pclibdir=$(pkg-config --variable=libdir dropipc)
[ "$(realpath "$incdir")" = "$(realpath "$root/usr/include")" ] || fail "pkg-config includedir $incdir, not in $root"
[ "$(realpath "$pclibdir")" = "$(realpath "$libdir")" ] || fail "pkg-config libdir $pclibdir, not $libdir"
echo " $cflags " | grep -qF -- " -I$incdir " || fail "pkg-config --cflags: '$cflags', without -I$incdir"
echo " $libs " | grep -qF -- " -L$pclibdir " || fail "pkg-config --libs: '$libs', without -L$pclibdir"
# The manual, as `man FUNCTION` finds it through an alias.
if command -v man >/dev/null; then
	man -M "$root/usr/share/man" 3 dropipc_args_add_mount 2>/dev/null | grep -q dropipc_args_add_mount ||
		fail "man -M $root/usr/share/man 3 dropipc_args_add_mount"
	echo "ok: man dropipc_args_add_mount finds dropipc_args(3) in the package"
fi

# 6. The README's example, as a reader would copy it, against the root.
mkdir "$tmp/ex"
sed -n '/<!-- example: launcher.c -->/,/^```$/p' "$src/README.md" | sed '1,2d;$d' >"$tmp/ex/launcher.c"
[ -s "$tmp/ex/launcher.c" ] || fail "no example block in README.md"
# shellcheck disable=SC2086
(cd "$tmp/ex" && "$cc" -std=c11 -Wall -Wextra -Werror launcher.c -o launcher $cflags $libs) ||
	fail "the README's example does not build against the packages"
LD_LIBRARY_PATH=$libdir
export LD_LIBRARY_PATH
ldd "$tmp/ex/launcher" | grep -qF "libdropipc.so.0 => $libdir/libdropipc.so.0" ||
	fail "the example does not load the packaged library: $(ldd "$tmp/ex/launcher" | grep dropipc)"
status=0
out=$("$tmp/ex/launcher" sh -c 'echo hello from the pty; exit 3' </dev/null 2>&1) || status=$?
[ "$status" = 3 ] && echo "$out" | grep -q 'hello from the pty' ||
	fail "README example: exit $status, said: $out"
echo "ok: the README's example builds against the packages and runs: $(echo "$out" | tr -d '\r' | head -c 60)"

# 7. The packaged demo, through the whole handshake.
if [ -f "$demo" ]; then
	status=0
	out=$("$root/usr/bin/dropipc-demo" -- sh -c 'echo hello from the demo; exit 4' </dev/null 2>&1) || status=$?
	[ "$status" = 4 ] && echo "$out" | grep -q 'hello from the demo' ||
		fail "packaged dropipc-demo: exit $status, said: $out"
	echo "ok: the packaged dropipc-demo runs a command"
fi
