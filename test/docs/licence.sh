#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The licence says the same everywhere: LICENSE states "Apache-2.0 OR MIT"
# over LICENSE-APACHE and LICENSE-MIT; the Go module and the Python package
# carry the same three files (a module or a wheel has only its own
# directory); pyproject.toml and debian/copyright say the same choice.
# Usage: licence.sh SOURCE_DIR
set -eu
src=$1
bad=0
fail() {
	echo "FAIL: $*" >&2
	bad=$((bad + 1))
}
grep -q 'SPDX-License-Identifier: Apache-2.0 OR MIT' "$src/LICENSE" || fail "LICENSE does not state Apache-2.0 OR MIT"
grep -q 'Version 2.0, January 2004' "$src/LICENSE-APACHE" || fail "LICENSE-APACHE is not the Apache License 2.0"
grep -q '^MIT License' "$src/LICENSE-MIT" || fail "LICENSE-MIT is not the MIT License"
for d in go python; do
	for f in LICENSE LICENSE-APACHE LICENSE-MIT; do
		cmp -s "$src/$f" "$src/$d/$f" || fail "$d/$f differs from $f (or is missing)"
	done
done
grep -qx 'license = {text = "Apache-2.0 OR MIT"}' "$src/python/pyproject.toml" ||
	fail "python/pyproject.toml: license is not Apache-2.0 OR MIT"
grep -qx 'License: Apache-2.0 or MIT' "$src/debian/copyright" || fail "debian/copyright: Files: * is not Apache-2.0 or MIT"
for l in Apache-2.0 MIT; do
	grep -qx "License: $l" "$src/debian/copyright" || fail "debian/copyright has no License: $l paragraph"
done
# Every source file says the same in its SPDX line.
if command -v git >/dev/null && git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	other=$(git -C "$src" grep -l 'SPDX-License-Identifier:' | while read -r f; do
		head -n 3 "$src/$f" | grep "SPDX-License-Identifier:" | grep -qv "Apache-2.0 OR MIT" && echo "$f"
	done || true)
	[ -z "$other" ] || fail "SPDX lines other than Apache-2.0 OR MIT in: $other"
fi
# The README reads in five minutes: 200 lines at most.
lines=$(wc -l <"$src/README.md")
[ "$lines" -le 200 ] || fail "README.md has $lines lines (at most 200)"
[ "$bad" -eq 0 ] || exit 1
echo "ok: Apache-2.0 OR MIT in LICENSE, go/, python/, pyproject.toml, debian/copyright and every SPDX line; README.md $lines lines"
