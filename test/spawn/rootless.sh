#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# A rootless launcher's multi-range id maps through newuidmap/newgidmap:
# as root, adds a user of its own with /etc/subuid and /etc/subgid ranges,
# runs test_spawn's "rootless" case as that user (setpriv), and removes the
# user and restores both files, whatever happens. Exits 77 (skipped), saying
# why, when not root or without setuid newuidmap/newgidmap.
# Usage: rootless.sh TEST_SPAWN
set -eu
test_spawn=$(readlink -f "$1")

skip() {
	echo "SKIPPED rootless: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root to add a user and its subordinate ids"
for h in /usr/bin/newuidmap /usr/bin/newgidmap; do
	[ -x "$h" ] || skip "no $h (the uidmap package)"
	[ -u "$h" ] || skip "$h is not setuid"
done
for t in useradd userdel setpriv; do
	command -v "$t" >/dev/null || skip "no $t"
done

user=dropipc-rl$$
subuid_start=1500000000 subgid_start=1600000000 count=65536
tmp=$(mktemp -d)
chmod 755 "$tmp"
cleanup() {
	userdel "$user" 2>/dev/null || true
	for f in subuid subgid; do
		if [ -e "$tmp/$f.absent" ]; then
			rm -f "/etc/$f"
		else
			cat "$tmp/$f" >"/etc/$f"
		fi
	done
	rm -rf "$tmp"
}
for f in subuid subgid; do
	if [ -e "/etc/$f" ]; then cp -p "/etc/$f" "$tmp/$f"; else : >"$tmp/$f.absent"; fi
done
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# A system user: useradd gives it no ranges of its own, only ours.
useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
uid=$(id -u "$user")
gid=$(id -g "$user")
echo "$user:$subuid_start:$count" >>/etc/subuid
echo "$user:$subgid_start:$count" >>/etc/subgid
echo "user $user ($uid:$gid), subuid $subuid_start+$count, subgid $subgid_start+$count"

# The user must reach the test and its library: every directory up to them
# is searchable for others, or the test cannot run as it.
dir=$(dirname "$test_spawn")
while [ "$dir" != / ]; do
	perm=$(stat -c %A "$dir")
	case $perm in
	*x | *t) ;; # t: sticky and searchable (/tmp); T would be sticky alone
	*) skip "$dir is not searchable by other users ($perm)" ;;
	esac
	dir=$(dirname "$dir")
done

status=0
env -i PATH=/usr/bin:/bin CK_RUN_CASE=rootless \
	DROPIPC_TEST_SUBUID="$subuid_start $count" DROPIPC_TEST_SUBGID="$subgid_start $count" \
	${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} ${UBSAN_OPTIONS:+UBSAN_OPTIONS="$UBSAN_OPTIONS"} \
	setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$test_spawn" || status=$?
exit "$status"
