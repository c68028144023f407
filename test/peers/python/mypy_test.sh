#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# mypy --strict over the dropipc package as installed (with the .pyi protoc
# made for dropipc_pb2 and the package's py.typed), the configuration of
# python/pyproject.toml. SKIP (77) without Debian's mypy.
# Usage: mypy_test.sh VENV_PYTHON PYPROJECT
set -eu
case $1 in /*) python=$1 ;; *) python=$(pwd)/$1 ;; esac
config=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
command -v mypy >/dev/null || { echo "SKIP: mypy is not installed (Debian: mypy)"; exit 77; }
site=$("$python" -c 'import dropipc, os; print(os.path.dirname(os.path.dirname(dropipc.__file__)))')
[ -f "$site/dropipc/py.typed" ] || { echo "FAIL: $site/dropipc/py.typed is not installed" >&2; exit 1; }
[ -f "$site/dropipc/v1/dropipc_pb2.pyi" ] || { echo "FAIL: dropipc_pb2.pyi is not installed" >&2; exit 1; }
cd "$site"
mypy --version
mypy --strict --config-file "$config" --python-executable "$python" --cache-dir=/dev/null \
	-p dropipc
