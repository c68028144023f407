#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Every test docs/SECURITY.md cites exists: ctest names (as `ctest -N` lists
# them) and Check test functions (START_TEST in test/).
# Usage: security_refs.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1 build=$2
doc=$src/docs/SECURITY.md
names=$(ctest --test-dir "$build" -N | sed -n 's/^ *Test *#[0-9]*: //p')
cited=$(grep -o '`[a-z][a-z0-9_-]*`' "$doc" | tr -d '`' | sort -u |
	grep -E '^(unit|hostile|demo|sandbox|spawn|fuzz|peers|evolution|install|abi|schema|man|debian|example|bench)[_-]' || true)
funcs=$(grep -o '`test_[a-z0-9_]*`' "$doc" | tr -d '`' | sort -u || true)
n=0 bad=0
for t in $cited; do
	n=$((n + 1))
	if ! printf '%s\n' "$names" | grep -qx "$t"; then
		echo "SECURITY.md cites the test $t, which ctest does not know" >&2
		bad=$((bad + 1))
	fi
done
for f in $funcs; do
	n=$((n + 1))
	if ! grep -rqs "START_TEST($f)" "$src/test"; then
		echo "SECURITY.md cites the Check test $f, which test/ does not define" >&2
		bad=$((bad + 1))
	fi
done
[ "$n" -gt 0 ] || { echo "SECURITY.md cites no test at all" >&2; exit 1; }
echo "security_refs: $((n - bad)) passed, $bad failed"
[ "$bad" -eq 0 ]
