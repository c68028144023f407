#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The Python package's sdist builds a wheel on its own: the sdist made from
# the source tree carries the schema and no generated code; a wheel is then
# built from the unpacked sdist alone, in a clean directory, with no
# libdropipc to be found (pkg-config sees none, the source tree is not
# around), installed into a new virtual environment and used. The wheel
# holds the generated dropipc_pb2 (and its .pyi), py.typed, and the C
# library's version. A protoc whose code the stated protobuf bound does not
# cover is refused.
# Usage: sdist_test.sh SOURCE_DIR WORK PYTHON
set -eu
src=$(cd "$1" && pwd) work=$2 python=$3
"$python" -c 'import build' 2>/dev/null ||
	{ echo "SKIP: python3 -m build is missing (Debian: python3-build)"; exit 77; }
rm -rf "$work"
mkdir -p "$work/sdist" "$work/clean"
work=$(cd "$work" && pwd)
want=$(sed -n 's/^project(dropipc VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")

# The sdist, from the source tree (its schema: ../proto or the installed one).
(cd "$src/python" && "$python" -m build --sdist --no-isolation --outdir "$work/sdist" >"$work/sdist.log" 2>&1) ||
	{ cat "$work/sdist.log"; exit 1; }
tarball=$(ls "$work"/sdist/dropipc-*.tar.gz)
[ "$(basename "$tarball")" = "dropipc-$want.tar.gz" ] ||
	{ echo "FAIL: sdist $tarball is not version $want" >&2; exit 1; }
list=$(tar tzf "$tarball")
echo "$list" | grep -q "^dropipc-$want/proto/dropipc/v1/dropipc.proto$" ||
	{ echo "FAIL: the sdist does not carry the schema:" >&2; echo "$list" >&2; exit 1; }
if echo "$list" | grep -E '_pb2\.pyi?$|_version\.py$'; then
	echo "FAIL: the sdist carries generated code (above)" >&2
	exit 1
fi

# A wheel from the sdist alone: no source tree, no installed libdropipc.
tar xzf "$tarball" -C "$work/clean"
cd "$work/clean/dropipc-$want"
export PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR=/nonexistent
unset DROPIPC_PROTO_DIR || true
"$python" -m build --wheel --no-isolation --outdir "$work/wheel" >"$work/wheel.log" 2>&1 ||
	{ cat "$work/wheel.log"; exit 1; }
wheel=$(ls "$work"/wheel/dropipc-*.whl)
for f in dropipc/v1/dropipc_pb2.py dropipc/v1/dropipc_pb2.pyi dropipc/py.typed dropipc/_version.py; do
	"$python" -c 'import sys, zipfile; sys.exit(sys.argv[2] not in zipfile.ZipFile(sys.argv[1]).namelist())' \
		"$wheel" "$f" || { echo "FAIL: the wheel lacks $f" >&2; exit 1; }
done

"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --no-index "$wheel"
cd "$work"
"$work/venv/bin/python" - "$want" <<'EOPY'
import os, sys
import dropipc
assert dropipc.__version__ == sys.argv[1], (dropipc.__version__, sys.argv[1])
parent, child = dropipc.new_parent_child_socket()
parent.settimeout(10)
child.settimeout(10)
parent.send_child_args(dropipc.child_args(env_id="e", exec_args=[b"\xff"], paths={"cwd": "/"},
                                          config={"net": {"mode": 1}}))
assert list(child.recv_child_args().exec_args) == [b"\xff"]
print("ok: the wheel from the sdist works, version", dropipc.__version__)
EOPY

# A protoc outside the bound's range is refused, naming it.
mkdir -p "$work/fakebin"
printf '#!/bin/sh\necho "libprotoc 27.0"\n' >"$work/fakebin/protoc"
chmod +x "$work/fakebin/protoc"
cd "$work/clean/dropipc-$want"
if PATH=$work/fakebin:$PATH "$python" -m build --wheel --no-isolation --outdir "$work/wheel2" \
	>"$work/fake.log" 2>&1; then
	echo "FAIL: a wheel was built with protoc 27" >&2
	exit 1
fi
grep -q 'libprotoc 27.0: the package.s bound protobuf>=3.20,<5 is stated for' "$work/fake.log" ||
	{ cat "$work/fake.log"; echo "FAIL: protoc 27 not refused by name" >&2; exit 1; }
echo "ok: sdist $(basename "$tarball") carries the schema and no generated code; the wheel" \
	"built from it alone works; protoc 27 is refused"
