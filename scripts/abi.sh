#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The library's ABI against the committed baseline (abi/libdropipc.abi),
# with libabigail (Debian's abigail-tools):
#   scripts/abi.sh check LIB    fails on an incompatible change; added
#                               functions and new version nodes pass
#   scripts/abi.sh update LIB   writes the baseline anew (a release only)
# LIB is a libdropipc.so.1 built with debug info (RelWithDebInfo).
set -eu
cd "$(dirname "$0")/.."
baseline=abi/libdropipc.abi
case "${1:-}" in
update)
	abidw --headers-dir include/dropipc --no-corpus-path --out-file "$baseline" "$2"
	echo "wrote $baseline" ;;
check)
	command -v abidiff >/dev/null || { echo "abi: abidiff missing (apt-get install abigail-tools)" >&2; exit 77; }
	set +e
	abidiff --headers-dir2 include/dropipc --no-added-syms "$baseline" "$2"
	status=$?
	set -e
	# abidiff's status is a bit mask: 1 error, 2 usage, 4 a change, 8 an
	# incompatible change. Only the last fails the check (with 1 and 2).
	if [ $((status & 11)) -ne 0 ]; then
		echo "abi: incompatible with $baseline (abidiff status $status)" >&2
		exit 1
	fi
	echo "abi: compatible with $baseline (abidiff status $status)" ;;
*)
	echo "usage: $0 check|update LIB" >&2
	exit 2 ;;
esac
