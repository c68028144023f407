#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The Debian packages as a user gets them: builds the source and binary
# packages from a copy of the tree (dpkg-buildpackage writes next to the
# tree it builds; the library's tests run in the build), checks them all
# with lintian (no errors, the source package included), checks what each
# holds and declares, asks apt whether it would install them here (apt-get
# install --simulate: a real install would change the machine the tests run
# on), unpacks them into a temporary root and builds and runs the README's
# example against it, dynamically and statically.
# Usage: debian_test.sh SOURCE_DIR [CC]
# DEB_BUILD_PROFILES=pkg.dropipc.nodemo in the environment leaves out
# dropipc-demo; DEB_BUILD_OPTIONS=nocheck, the tests in the build.
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

# 2. The packages, source and binary.
echo "building the packages (profiles: ${DEB_BUILD_PROFILES:-none})..."
if ! (cd "$tmp/src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}" \
	dpkg-buildpackage -us -uc) >"$tmp/build.log" 2>&1; then
	tail -60 "$tmp/build.log" >&2
	fail "dpkg-buildpackage -us -uc"
fi
# The library's tests ran in the build (unless nocheck).
case " ${DEB_BUILD_OPTIONS:-} ${DEB_BUILD_PROFILES:-} " in
*" nocheck "*) ;;
*)
	grep -Eq '^[0-9]+% tests passed, 0 tests failed out of [1-9]' "$tmp/build.log" ||
		fail "the package build ran no tests: $(grep -E 'tests passed|ctest|dh_auto_test' "$tmp/build.log")"
	grep -q 'Label.*library\|library *=' "$tmp/build.log" || fail "the package build's tests are not the library's"
	echo "ok: the package build ran the library's tests: $(grep -E '^[0-9]+% tests passed' "$tmp/build.log")"
	;;
esac
# A library that exports symbols the symbols file does not list (or lost
# some): dpkg-gensymbols prints the difference.
if grep -q 'dpkg-gensymbols: warning' "$tmp/build.log"; then
	sed -n '/dpkg-gensymbols: warning/,/^ *dh_/p' "$tmp/build.log" >&2
	fail "debian/libdropipc1.symbols is out of date: add the new symbols (with the version that added them)"
fi
changes=$(ls "$tmp"/*.changes)
dsc=$(ls "$tmp"/*.dsc) || fail "no source package (.dsc) built"
grep -q '\.dsc$' "$changes" || fail "$changes lists no .dsc: lintian would not see the source package"
version=$(dpkg-parsechangelog -l "$tmp/src/debian/changelog" -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
runtime=$tmp/libdropipc1_${version}_$arch.deb
dev=$tmp/libdropipc-dev_${version}_$arch.deb
demo=$tmp/dropipc-demo_${version}_$arch.deb
for deb in "$runtime" "$dev"; do
	[ -f "$deb" ] || fail "no $(basename "$deb"); built: $(cd "$tmp" && ls ./*.deb)"
done
echo "ok: built $(cd "$tmp" && ls ./*.deb | tr '\n' ' ')"

# 3. lintian, on the .changes: the source package (.dsc) and the binary
# ones. Errors fail, the rest is shown.
if command -v lintian >/dev/null; then
	lintian --info --display-experimental "$changes" >"$tmp/lintian.log" 2>&1 || true
	grep -v '^running with root privileges' "$tmp/lintian.log" || true
	if grep -q '^E:' "$tmp/lintian.log"; then
		fail "lintian reports errors"
	fi
	echo "ok: lintian on $(basename "$dsc") and the .debs: no errors ($(grep -c '^W:' "$tmp/lintian.log" || true) warnings)"
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
has runtime "/usr/lib/$multiarch/libdropipc.so.1"
has runtime "/usr/lib/$multiarch/libdropipc.so.$version"
! grep -q '\.so$\|\.a$\|/include/' "$tmp/runtime.list" || fail "libdropipc1 holds development files"
has dev /usr/include/dropipc/dropipc.h
has dev "/usr/lib/$multiarch/libdropipc.so"
has dev "/usr/lib/$multiarch/libdropipc.a"
has dev "/usr/lib/$multiarch/pkgconfig/dropipc.pc"
has dev "/usr/lib/$multiarch/cmake/dropipc/dropipcConfig.cmake"
has dev /usr/share/dropipc/proto/dropipc/v1/dropipc.proto
has dev /usr/share/man/man3/dropipc.3.gz
has dev /usr/share/man/man3/dropipc_args_add_mount.3.gz
has dev /usr/share/dropipc/PROTOCOL.md
# Where the header and dropipc(3) say PROTOCOL.md is, the package has it.
for doc in "$src/include/dropipc/dropipc.h" "$src/man/dropipc.3.scd"; do
	said=$(grep -o '/usr/share/[a-z/_-]*PROTOCOL\.md' "$doc" | sort -u)
	[ -n "$said" ] || fail "$doc does not say where the package installs PROTOCOL.md"
	for p in $said; do
		has dev "$p"
	done
done
case " ${DEB_BUILD_PROFILES:-} " in
*" pkg.dropipc.nodemo "*) [ ! -f "$demo" ] || fail "dropipc-demo built with the pkg.dropipc.nodemo profile" ;;
*)
	[ -f "$demo" ] || fail "no $(basename "$demo")"
	contents "$demo" >"$tmp/demo.list"
	has demo /usr/bin/dropipc-demo
	has demo /usr/libexec/dropipc/dropipc-demo-child
	has demo /usr/share/man/man1/dropipc-demo.1.gz
	;;
esac
echo "ok: libdropipc1, libdropipc-dev$([ -f "$demo" ] && echo ", dropipc-demo") hold what they should"

# 4b. What each declares: -dev needs pkg-config (find_package(dropipc)
# calls it) and protobuf-c; the demo recommends passt (pasta, --net
# isolated); the runtime the shared libraries it links.
field() {
	dpkg-deb -f "$1" "$2"
}
field "$dev" Depends | grep -q 'pkgconf | pkg-config' ||
	fail "libdropipc-dev Depends: $(field "$dev" Depends): no pkgconf | pkg-config"
field "$dev" Depends | grep -q "libdropipc1 (= $version)" ||
	fail "libdropipc-dev Depends: $(field "$dev" Depends): no libdropipc1 (= $version)"
field "$runtime" Depends | grep -q 'libprotobuf-c1' ||
	fail "libdropipc1 Depends: $(field "$runtime" Depends): no libprotobuf-c1"
if [ -f "$demo" ]; then
	field "$demo" Recommends | grep -qw passt || fail "dropipc-demo Recommends: $(field "$demo" Recommends): no passt"
fi
echo "ok: Depends: libdropipc-dev: $(field "$dev" Depends); dropipc-demo Recommends: $([ -f "$demo" ] && field "$demo" Recommends)"

# 4c. apt would install the runtime and -dev packages here, dependencies
# resolved from this system's sources (simulated: nothing is changed).
if command -v apt-get >/dev/null; then
	apt-get install --simulate -o Debug::NoLocking=1 "$runtime" "$dev" >"$tmp/apt.log" 2>&1 ||
		{ cat "$tmp/apt.log" >&2; fail "apt-get install --simulate of libdropipc1 and libdropipc-dev"; }
	grep -q '^Inst libdropipc1 ' "$tmp/apt.log" && grep -q '^Inst libdropipc-dev ' "$tmp/apt.log" ||
		{ cat "$tmp/apt.log" >&2; fail "apt-get install --simulate does not install both"; }
	echo "ok: apt-get install --simulate ./libdropipc1 ./libdropipc-dev: $(grep -c '^Inst ' "$tmp/apt.log") to install"
fi

# 5. The runtime and -dev packages in a root of their own.
root=$tmp/root
dpkg -x "$runtime" "$root"
dpkg -x "$dev" "$root"
[ ! -f "$demo" ] || dpkg -x "$demo" "$root"
libdir=$root/usr/lib/$multiarch
# dropipc.pc names /usr as it is: no -L at all (the system's libdir), or
# -L/usr/lib/MULTIARCH, never a path through pkgconfig/...
PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
libs=$(pkg-config --libs dropipc) || fail "pkg-config --libs dropipc"
[ "$(echo $libs)" = "-ldropipc" ] || [ "$(echo $libs)" = "-L/usr/lib/$multiarch -ldropipc" ] ||
	fail "the packaged dropipc.pc: pkg-config --libs dropipc: $libs"
[ "$(pkg-config --variable=prefix dropipc)" = /usr ] || fail "dropipc.pc: prefix $(pkg-config --variable=prefix dropipc)"
echo "ok: the packaged dropipc.pc: pkg-config --libs dropipc: $libs"
# Used from the root: its prefix redefined, by a pkg-config first on PATH.
mkdir "$tmp/bin"
printf '#!/bin/sh\nexec %s --define-variable=prefix="%s/usr" "$@"\n' "$(command -v pkg-config)" "$root" \
	>"$tmp/bin/pkg-config"
chmod +x "$tmp/bin/pkg-config"
PATH=$tmp/bin:$PATH
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
status=0
out=$(LD_LIBRARY_PATH=$libdir "$tmp/ex/launcher" sh -c 'echo hello from the child; exit 3' </dev/null 2>&1) || status=$?
LD_LIBRARY_PATH=$libdir ldd "$tmp/ex/launcher" | grep -qF "libdropipc.so.1 => $libdir/libdropipc.so.1" ||
	fail "the example does not load the packaged library: $(LD_LIBRARY_PATH=$libdir ldd "$tmp/ex/launcher" | grep dropipc)"
[ "$status" = 3 ] && echo "$out" | grep -q 'hello from the child' ||
	fail "README example: exit $status, said: $out"
echo "ok: the README's example builds against the packages and runs: $(echo "$out" | tr -d '\r' | head -c 60)"
# ... and linked statically as the README says: no libdropipc.so loaded.
mkdir "$tmp/ex-static"
cp "$tmp/ex/launcher.c" "$tmp/ex-static/"
sed -n '/<!-- example: static link -->/,/^```$/p' "$src/README.md" | sed '1,2d;$d' >"$tmp/ex-static/static.sh"
grep -q Bstatic "$tmp/ex-static/static.sh" || fail "no static link block in README.md"
# shellcheck disable=SC2317
cc() {
	"$realcc" "$@"
}
realcc=$cc
(cd "$tmp/ex-static" && . ./static.sh) || fail "the README's static link against the packages"
ldd "$tmp/ex-static/launcher" | grep -q libdropipc &&
	fail "the README's static link loads libdropipc.so: $(ldd "$tmp/ex-static/launcher")"
status=0
out=$("$tmp/ex-static/launcher" sh -c 'echo hello from the child; exit 3' </dev/null 2>&1) || status=$?
[ "$status" = 3 ] && echo "$out" | grep -q 'hello from the child' ||
	fail "README example, static: exit $status, said: $out"
echo "ok: the README's example, linked statically against libdropipc-dev's libdropipc.a, runs; ldd shows no libdropipc"

# 7. The packaged demo, through the whole handshake, from the root: it
# finds the library by its RUNPATH and its child in libexec, relative to
# itself (no LD_LIBRARY_PATH).
if [ -f "$demo" ]; then
	status=0
	out=$(env -u LD_LIBRARY_PATH "$root/usr/bin/dropipc-demo" -- sh -c 'echo hello from the demo; exit 4' \
		</dev/null 2>&1) || status=$?
	[ "$status" = 4 ] && echo "$out" | grep -q 'hello from the demo' ||
		fail "packaged dropipc-demo: exit $status, said: $out"
	echo "ok: the packaged dropipc-demo runs a command"
fi
