#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Installs the Debian packages a step needs, only those missing.
#   scripts/deps.sh build   what the library and the demo need
#   scripts/deps.sh demo    and pasta, for the demo's isolated network
#   scripts/deps.sh test    what every test needs (peers, fuzzing, valgrind)
set -eu

build="cmake make gcc pkg-config protobuf-c-compiler libprotobuf-c-dev python3 python3-protobuf"
test="$build check clang libclang-rt-14-dev valgrind util-linux procps g++
  golang-go protoc-gen-go golang-google-protobuf-dev
  python3 python3-protobuf python3-venv python3-setuptools python3-wheel python3-pip
  python3-build mypy
  protobuf-compiler gnuplot-nox abigail-tools scdoc debhelper dpkg-dev lintian passt
  fuse3 iproute2 strace groff-base uidmap"

case "${1:-build}" in
build) want=$build ;;
demo) want="$build passt" ;;
test) want=$test ;;
*) echo "usage: $0 build|demo|test" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "$0: need root to install packages (or install them yourself)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
