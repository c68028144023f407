#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Writes debian/libdropipc1.symbols from a built libdropipc.so.1: every
# exported symbol with its version node, as of the release that added it
# (1.0.0 for the nodes so far).
# Usage: scripts/symbols.sh LIB
set -eu
cd "$(dirname "$0")/.."
{
	echo 'libdropipc.so.1 libdropipc1 #MINVER#'
	echo '# SPDX-License-Identifier: Apache-2.0 OR MIT'
	echo '* Build-Depends-Package: libdropipc-dev'
	nm -D --defined-only "$1" | awk '{print $3}' | grep '^DROPIPC_\|^dropipc_' |
		sed 's/@@/@/' | LC_ALL=C sort -u | sed 's/.*/ & 1.0.0/; s/^ \(DROPIPC_[0-9.]*\) 1.0.0$/ \1@\1 1.0.0/'
} >debian/libdropipc1.symbols
