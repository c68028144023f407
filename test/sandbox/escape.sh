#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
#
# The demo sandbox's escape suite (issue 17): one hostile payload per
# finding class, run by root or by a normal user, each check asserting what
# the payload could not do and that the host is unchanged. Nothing here
# changes the host: sysctls are written with the value they hold, devices
# are chmod'ed to the mode they have, and victims are directories made for
# the test.
#
# Usage: escape.sh MODE CASE DEMO PROBE
#   MODE   root, or user (the user $SBX_USER, made by `escape.sh add-user`)
#   CASE   sysctl hostname devices sys mountpoint blocked source keyring
#          killed pasta cleanup sigterm init network path normalized decoy
#          terminal rootfiles state uncover sysmounts
#   DEMO   dropipc-demo; PROBE: sbx_probe (test/sandbox/sbx_probe.c)
# escape.sh add-user | del-user: the ctest fixture around the user runs.
# Exit: 0 passed, 1 failed, 77 skipped (with the reason on stdout).
set -u

user=${SBX_USER:-dropipc-sbx-test}

skip() {
	echo "SKIP: $*"
	exit 77
}

case ${1:-} in
add-user)
	[ "$(id -u)" = 0 ] || skip "not root: cannot add the user $user"
	command -v useradd >/dev/null || skip "no useradd"
	id "$user" >/dev/null 2>&1 ||
		useradd --system --no-create-home --user-group --shell /usr/sbin/nologin "$user" ||
		exit 1
	echo "user $user: $(id "$user")"
	exit 0
	;;
del-user)
	[ "$(id -u)" = 0 ] || skip "not root: no user $user was added"
	id "$user" >/dev/null 2>&1 || exit 0
	# Zombies are not the user's processes any more (a launcher killed in
	# a test leaves its child to a PID 1 that may be slow to reap).
	left=$(ps -o pid=,stat= -u "$user" | awk '$2 !~ /^Z/ { print $1 }')
	[ -z "$left" ] || {
		echo "FAIL: processes of $user are left: $(ps -o pid=,args= -p "$(echo $left | tr ' ' ,)")"
		kill -9 $left
		sleep 0.5
	}
	userdel "$user" || exit 1
	getent group "$user" >/dev/null && groupdel "$user"
	echo "user $user removed"
	[ -z "$left" ]
	exit
	;;
esac

[ $# = 4 ] || {
	echo "usage: $0 root|user CASE DEMO PROBE" >&2
	exit 2
}
mode=$1 case=$2 demo=$3 probe=$4
fails=0

ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*"
	fails=$((fails + 1))
	return 1
}
# check DESCRIPTION COMMAND...: ok if COMMAND succeeds; else a failure
# (status 1, for `|| show`).
check() {
	what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
has() { grep -qF -- "$2" "$1"; }
hasnt() { ! grep -qF -- "$2" "$1"; }

[ "$(id -u)" = 0 ] || skip "the suite runs as root: it needs root to run as root, and to switch to $user"
case $mode in
root) ;;
user)
	id "$user" >/dev/null 2>&1 || skip "no user $user (the fixture sandbox_add_user makes it)"
	command -v setpriv >/dev/null || skip "no setpriv (util-linux) to run as $user"
	;;
*) skip "unknown mode $mode" ;;
esac

# Runs a command as the mode's user; setpriv execs (no fork in between), so
# $! of a background one is the command's pid.
as_user() {
	if [ "$mode" = user ]; then
		setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
	else
		"$@"
	fi
}

# A process is named "PID:START" (its start time, field 22 of
# /proc/PID/stat), so that a pid the kernel has given to another process
# since is never taken for it: no check, and no kill, hits another test's.
starttime() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
named() { echo "$1:$(starttime "$1")"; }
# Whether the process named $1 still runs (a zombie does not).
running() {
	state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/${1%%:*}/status" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ] && [ "$(starttime "${1%%:*}")" = "${1#*:}" ]
}

W=$(mktemp -d /tmp/dropipc-sbx.XXXXXX) || exit 1
procs=
cleanup() {
	# What a failed check left (the demo of main, say): ours, still the same.
	for n in $procs; do running "$n" && kill -9 "${n%%:*}" 2>/dev/null; done
	chmod -R u+rwX "$W" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 755 "$W"
mkdir "$W/home" "$W/bin"
cp "$probe" "$W/bin/sbx_probe" && chmod 755 "$W/bin/sbx_probe" || exit 1
[ "$mode" = user ] && chown -R "$user:" "$W"
libpath=
if ! as_user test -x "$demo"; then
	# The build tree is not the user's to reach (under a home of mode 700,
	# say): the two programs and the library, copied where it can.
	child=$(dirname "$demo")/dropipc-demo-child
	lib=$(ldd "$demo" | awk '$1 ~ /^libdropipc\./ { print $1, $3 }')
	[ -x "$child" ] && [ -f "${lib#* }" ] ||
		skip "$user cannot run $demo, and it cannot be copied (child $child, library ${lib:-none})"
	mkdir "$W/prog" && cp "$demo" "$child" "$W/prog" && cp "${lib#* }" "$W/prog/${lib%% *}" &&
		chmod -R a+rX "$W/prog" || exit 1
	demo=$W/prog/dropipc-demo libpath=$W/prog
	echo "(the demo copied to $W/prog: $user cannot reach the build tree)"
fi

out=$W/out err=$W/err
# demo_run [OPTIONS] -- COMMAND...: runs the demo as the mode's user with a
# clean environment and the suite's state; rc gets its exit status.
demo_run() {
	as_user env -i HOME="$W/home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
		${libpath:+LD_LIBRARY_PATH=$libpath} \
		"$demo" --state "$W/state" "$@" <"/dev/null" >"$out" 2>"$err"
	rc=$?
}
show() { echo "  exit $rc; stdout: $(head -c 2000 "$out"); stderr: $(head -c 2000 "$err")"; }

demo_run -- true
[ "$rc" = 0 ] || skip "the demo cannot run here (user namespaces?): $(cat "$err")"

# Starts the demo in the background ($demo_pid) with the options given.
demo_bg() {
	# exec in the subshell: $! is the demo itself.
	if [ "$mode" = user ]; then
		(exec setpriv --reuid="$user" --regid="$user" --init-groups -- env -i \
			HOME="$W/home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
			${libpath:+LD_LIBRARY_PATH=$libpath} "$demo" --state "$W/state" "$@" <"/dev/null" >"$out" 2>"$err") &
	else
		(exec env -i HOME="$W/home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
			${libpath:+LD_LIBRARY_PATH=$libpath} "$demo" --state "$W/state" "$@" <"/dev/null" >"$out" 2>"$err") &
	fi
	demo_pid=$!
	procs="$procs $(named "$demo_pid")"
}

# Waits up to $2 tenths of a second for the process named $1 to be gone (or
# a zombie).
gone_within() {
	i=0
	while [ "$i" -lt "$2" ]; do
		running "$1" || return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# The pid of the command "sleep $1" (/usr/bin/sleep too; waits up to 10 s).
find_sleep() {
	i=0
	while [ "$i" -lt 100 ]; do
		p=$(pgrep -n -f "^(/usr/bin/|/bin/)?sleep $1\$") && {
			echo "$p"
			return 0
		}
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# Every descendant of pid $1.
descendants() {
	for c in $(ps -o pid= --ppid "$1"); do
		echo "$c"
		descendants "$c"
	done
}

# ---- 1. sysctls and the rest of /proc that acts on the host's kernel ------

case_sysctl() {
	before=$(cat /proc/sys/kernel/core_pattern)
	demo_run -- sh -c '
		for f in /proc/sys/kernel/core_pattern /proc/sys/vm/drop_caches \
			/proc/sys/kernel/modprobe /proc/sys/kernel/hostname \
			/proc/sys/fs/protected_symlinks /proc/sysrq-trigger; do
			[ -e "$f" ] && [ -w "$f" ] && echo "WRITABLE $f"
		done
		find /proc/irq /proc/bus -writable 2>/dev/null | sed "s/^/WRITABLE /" | head -3
		# Outside the processes'"'"' own directories, nothing at all.
		find /proc -maxdepth 3 \( -path "/proc/[0-9]*" -o -path /proc/self \
			-o -path /proc/thread-self \) -prune -o -writable -not -type l -print \
			2>/dev/null | sed "s/^/WRITABLE /" | head -5
		v=$(cat /proc/sys/kernel/core_pattern)
		if printf "%s\n" "$v" 2>/dev/null >/proc/sys/kernel/core_pattern; then
			echo WROTE-core_pattern; else echo core_pattern-refused; fi
		echo done'
	check "the payload ran" test "$rc" = 0 || show
	check "no sysctl, sysrq, irq or bus file, nor any outside the process directories, is writable" \
		hasnt "$out" WRITABLE || show
	check "core_pattern refused a write (of its own value)" has "$out" core_pattern-refused
	check "the host's core_pattern is unchanged" test "$(cat /proc/sys/kernel/core_pattern)" = "$before"
}

# ---- 1. the hostname: a UTS namespace of its own ---------------------------

case_hostname() {
	host=$(uname -n)
	demo_run -- sh -c 'uname -n; hostname pwned 2>/dev/null && echo SET-HOSTNAME; uname -n'
	check "the payload ran" test "$rc" = 0 || show
	check "the sandbox's hostname is its own (dropipc-demo), not the host's ($host)" \
		test "$(head -n 1 "$out")" = dropipc-demo
	check "the payload could not set a hostname" hasnt "$out" SET-HOSTNAME
	check "the host's hostname is unchanged" test "$(uname -n)" = "$host"
}

# ---- 1. device nodes: read-only binds ---------------------------------------

case_devices() {
	before=$(stat -c '%n %a %u %g' /dev/null /dev/zero /dev/full /dev/random /dev/urandom)
	demo_run -- sh -c '
		for d in null zero full random urandom; do
			m=$(stat -c %a /dev/$d)
			if chmod "$m" /dev/$d 2>/tmp/e; then echo "CHMOD-OK $d"
			elif grep -q "Read-only file system" /tmp/e; then echo "erofs $d"
			else echo "other $d: $(cat /tmp/e)"; fi
		done
		echo data >/dev/null && echo write-ok
		head -c 4 /dev/urandom | wc -c'
	check "the payload ran" test "$rc" = 0 || show
	check "chmod of each device (to its own mode) fails with EROFS" \
		test "$(grep -c '^erofs ' "$out")" = 5 || show
	check "writes to /dev/null and reads of /dev/urandom still work" \
		sh -c "grep -q write-ok '$out' && grep -qx 4 '$out'"
	check "the host's device nodes are unchanged" \
		test "$(stat -c '%n %a %u %g' /dev/null /dev/zero /dev/full /dev/random /dev/urandom)" = "$before"
}

# ---- 1. /sys read-only in every network mode, cgroups too ------------------

case_sys() {
	for net in unjailed off; do
		demo_run --net "$net" -- sh -c '
			find /sys/power /sys/kernel /sys/module /sys/fs/cgroup -maxdepth 3 \
				-writable 2>/dev/null | sed "s/^/WRITABLE /" | head -5
			[ -w /sys/fs/cgroup ] && echo WRITABLE-cgroup-dir
			echo done'
		check "--net $net: the payload ran" test "$rc" = 0 || show
		check "--net $net: nothing in /sys or /sys/fs/cgroup is writable" \
			hasnt "$out" WRITABLE || show
	done
}

# ---- 2. a mount point behind a symlink an earlier run planted --------------

case_mountpoint() {
	mkdir "$W/victim" && echo hello >"$W/file"
	[ "$mode" = user ] && chown "$user:" "$W/victim" "$W/file"
	demo_run --env e1 -- sh -c "mkdir -p \$HOME/.config && ln -s '$W/victim' \$HOME/.config/git && echo planted"
	check "run 1 planted ~/.config/git -> the victim" has "$out" planted || show
	demo_run --env e1 --mount "$W/file:~/.config/git/config" -- cat "$W/home/.config/git/config"
	check "the victim directory is still empty" test -z "$(ls -A "$W/victim")"
	check "run 2 failed at the jail, naming the mount point" \
		sh -c "[ $rc = 125 ] && grep -q '.config/git/config' '$err'" || show
}

# ---- 2. a blocked path moved away, through a symlink or not ----------------

case_blocked() {
	mkdir -p "$W/p/sub" && echo blocked-secret >"$W/p/sub/secret"
	[ "$mode" = user ] && chown -R "$user:" "$W/p"
	set -- --env e2 --mount "$W/p:/data:rw" --block /data/sub/secret
	demo_run "$@" -- sh -c 'cat /data/sub/secret; mv /data/sub /data/x 2>/dev/null && echo MOVED;
		cp /bin/true /data/suid && chmod 4755 /data/suid && echo suid-made'
	check "run 1: the blocked file is hidden" hasnt "$out" blocked-secret || show
	check "run 1 could not move the directory above it (case decoy)" hasnt "$out" MOVED || show
	check "what it wrote in a read-write mount is the caller's on the host (uid $(as_user id -u))" \
		test "$(stat -c %u "$W/p/suid")" = "$(as_user id -u)"
	check "a set-user-ID file it made there is the caller's, set-user-ID on the host" \
		sh -c "grep -q suid-made '$out' && [ -u '$W/p/suid' ] && [ \$(stat -c %u '$W/p/suid') = $(as_user id -u) ]"
	# A run that does not block it (another config) can move it.
	demo_run --env e2 --mount "$W/p:/data:rw" -- sh -c 'mv /data/sub /data/x &&
		ln -s /tmp /data/sub && echo moved'
	check "a run without the block moved the directory away and left a symlink" \
		has "$out" moved || show
	demo_run "$@" -- cat /data/x/secret
	check "run 2 does not show the blocked file" hasnt "$out" blocked-secret || show
	check "run 2 failed: the blocked path resolves through a symlink" \
		sh -c "[ $rc = 125 ] && grep -q 'blocked path /data/sub/secret: resolves through a symlink' '$err'" || show
	rm "$W/p/sub"
	demo_run "$@" -- cat /data/x/secret
	check "run 3 (moved, no symlink) does not show it" hasnt "$out" blocked-secret || show
	check "run 3 failed: the blocked path is missing in a read-write mount" \
		sh -c "[ $rc = 125 ] && grep -q 'blocked path /data/sub/secret: missing' '$err'" || show
	check "the host's file is where it was moved" test "$(cat "$W/p/x/secret")" = blocked-secret
}

# ---- 2. a blocked path's directory moved away, a decoy in its place ---------

# In each place the sandbox can write (a read-write mount, the home, /var),
# run 1 moves a directory above a blocked file and leaves a decoy with the
# file's name; run 2 must still hide the real file, wherever it is.
case_decoy() {
	mkdir -p "$W/d/sub" && echo decoy-secret >"$W/d/sub/secret"
	[ "$mode" = user ] && chown -R "$user:" "$W/d"
	demo_run --env e7 -- sh -c 'mkdir -p ~/.config/app /var/lib/app &&
		echo decoy-secret >~/.config/app/token && echo decoy-secret >/var/lib/app/token'
	check "run 0 put a secret in the home and in /var" test "$rc" = 0 || show
	set -- --env e7 --mount "$W/d:/data:rw" --block /data/sub/secret \
		--block '~/.config/app/token' --block /var/lib/app/token
	demo_run "$@" -- sh -c 'cat /data/sub/secret ~/.config/app/token /var/lib/app/token
		for d in /data/sub ~/.config /var/lib; do
			if mv "$d" "$d.moved" 2>/dev/null; then
				mkdir -p "$d/app" && touch "$d/secret" "$d/app/token" && echo "MOVED $d"
			else echo "pinned $d"; fi
		done'
	check "run 1: the blocked files are hidden" hasnt "$out" decoy-secret || show
	check "run 1 could not move a directory above a blocked path" hasnt "$out" MOVED || show
	demo_run "$@" -- sh -c 'cat /data/sub.moved/secret ~/.config.moved/app/token \
		/var/lib.moved/app/token /data/sub/secret ~/.config/app/token /var/lib/app/token'
	check "run 2 does not show a blocked file" hasnt "$out" decoy-secret || show
	check "the host's file is where it was" test "$(cat "$W/d/sub/secret")" = decoy-secret
}

# ---- at a terminal: TIOCSTI reaches only the sandbox's own pty ---------------

# The demo runs at a terminal of script(1)'s; the payload pushes a command
# into the input of its terminal (TIOCSTI) and writes a title escape. After
# the demo, the shell at the user's terminal reads what is left there: it
# would read the pushed line (and a shell run it) if the payload held it.
case_terminal() {
	command -v script >/dev/null || skip "no script(1) (util-linux) for a terminal"
	cat >"$W/bin/at-tty" <<-EOF
		env -i HOME="$W/home" PATH=/usr/bin:/bin "$demo" --state "$W/state" \\
			--mount "$W/bin:/opt/probe" -- sh -c \\
			'/opt/probe/sbx_probe sti "echo INJECTED-\\\$((6*7))
		"; printf "\\033]0;sbx-title\\007"'
		echo "demo exit \$?"
		echo "after: [\$(timeout --foreground 2 head -n 1)]"
	EOF
	# script's input stays open (EOF would reach the terminal first).
	sleep 4 | as_user script -qec "sh $W/bin/at-tty" /dev/null >"$out" 2>"$err"
	rc=$?
	check "the payload ran at a terminal" sh -c "grep -q 'demo exit 0' '$out' && grep -q 'sti ' '$out'" || show
	check "nothing it pushed reached the user's terminal" \
		sh -c "grep -q 'after: \\[\\]' '$out' && ! grep -q 'INJECTED-42' '$out'" || show
	check "its output reaches the terminal as it is, escapes included (as ssh)" \
		grep -q "$(printf '\033]0;sbx-title\007')" "$out" || show
}

# ---- what uid 0 without capabilities reads, when root launched it ----------

# A known limit (docs/SECURITY.md): run by root, the payload is host uid 0,
# and the owner's permission bits of root's files let it read them
# (/etc/shadow, SSH host keys). Run by a user, it reads neither.
case_rootfiles() {
	mkdir "$W/v" && echo root-only-secret >"$W/v/f" && chmod 600 "$W/v/f" && chmod 755 "$W/v"
	demo_run --mount "$W/v:/v" -- sh -c 'cat /v/f; [ -r /etc/shadow ] && echo SHADOW-READABLE
		for k in /etc/ssh/ssh_host_*_key; do [ -r "$k" ] && echo "HOSTKEY-READABLE $k"; done
		for f in $(find /sys/kernel -type f ! -perm /044 2>/dev/null | head -200); do
			[ "$(timeout 1 head -c 64 "$f" 2>/dev/null | wc -c)" = 0 ] ||
				{ echo "SYSFS-READ $f"; break; }
		done
		find /sys/kernel -type f ! -perm /044 2>/dev/null | grep -q . && echo SYSFS-OWNER-ONLY
		for f in $(find /proc -maxdepth 1 -type f ! -perm /044); do
			[ "$(timeout 1 head -c 64 "$f" 2>/dev/null | wc -c)" = 0 ] || echo "PROC-READ $f"
		done
		echo done'
	check "the payload ran" sh -c "[ $rc = 0 ] && grep -q done '$out'" || show
	# On the host only root reads them (slabinfo, kpageflags: the
	# kernel's heap and physical pages): hidden, even from root's payload.
	check "no file of /proc that only its owner may read yields anything" \
		hasnt "$out" PROC-READ || show
	if [ "$mode" = root ]; then
		check "run by root, it reads root's mode-600 file (a known limit)" \
			has "$out" root-only-secret || show
		[ -e /etc/shadow ] && check "run by root, it reads /etc/shadow (a known limit)" \
			has "$out" SHADOW-READABLE
		for k in /etc/ssh/ssh_host_*_key; do
			[ -e "$k" ] && check "run by root, it reads $k (a known limit)" \
				has "$out" "HOSTKEY-READABLE $k"
		done
		has "$out" SYSFS-OWNER-ONLY &&
			check "run by root, it reads a sysfs file only root reads (a known limit)" \
				has "$out" SYSFS-READ
	else
		check "run by a user, it cannot read root's mode-600 file" hasnt "$out" root-only-secret || show
		check "run by a user, it cannot read /etc/shadow" hasnt "$out" SHADOW-READABLE || show
		check "run by a user, it cannot read the SSH host keys" hasnt "$out" HOSTKEY-READABLE || show
		check "run by a user, it cannot read a sysfs file only root reads" hasnt "$out" SYSFS-READ || show
	fi
}

# ---- 2. the launcher's state directory, given to the sandbox read-write ----

# A --state inside a --mount ...:rw (a project's own state, say): run 1
# replaces a directory of the layout with a symlink to a victim; run 2's
# launcher must follow none (it would chmod 000 the victim as empty_dir,
# sweep its subdirectories as stale run directories, bind it as the home).
case_state() {
	for part in internal/empty_dir internal envs/e8/home; do
		rm -rf "$W/proj" "$W/victim"
		mkdir -p "$W/proj" "$W/victim/run/keep" && echo state-victim >"$W/victim/f"
		chmod 755 "$W/victim"
		[ "$mode" = user ] && chown -R "$user:" "$W/proj" "$W/victim"
		set -- --state "$W/proj/.sbx" --env e8
		as_user env -i HOME="$W/home" PATH=/usr/bin:/bin "$demo" "$@" \
			--mount "$W/proj:/proj:rw" -- sh -c "mv /proj/.sbx/$part /proj/.sbx/$part.old &&
			ln -s '$W/victim' /proj/.sbx/$part && echo planted" </dev/null >"$out" 2>"$err"
		rc=$?
		check "$part: run 1 replaced it with a symlink to the victim" has "$out" planted || show
		as_user env -i HOME="$W/home" PATH=/usr/bin:/bin "$demo" "$@" -- \
			sh -c 'cat ~/f' </dev/null >"$out" 2>"$err"
		rc=$?
		check "$part: run 2 refused the symlink, naming it" \
			sh -c "[ $rc = 125 ] && grep -q '.sbx/$part: a symlink' '$err'" || show
		check "$part: run 2 did not show the victim's file" hasnt "$out" state-victim || show
		check "$part: the victim's mode and subdirectories are unchanged" \
			sh -c "[ \$(stat -c %a '$W/victim') = 755 ] && [ -d '$W/victim/run/keep' ]"
	done
}

# ---- 2. what hides or guards, taken away from inside ------------------------

# The payload tries to unmount each cover and read-only mount, or make it
# writable, in its own mount namespace (no capability there) and in a new
# user and mount namespace of its own (all of them, but its mounts are
# locked, being inherited from a more privileged namespace).
case_uncover() {
	mkdir -p "$W/u/sub" && echo uncover-secret >"$W/u/sub/secret" && echo ro >"$W/u/ro"
	[ "$mode" = user ] && chown -R "$user:" "$W/u"
	demo_run --mount "$W/u:/data:rw" --mount "$W/u/ro:/ro-file" --block /data/sub/secret \
		--mount "$W/bin:/opt/probe" -- sh -c '/opt/probe/sbx_probe uncover /data/sub/secret \
			/ro-file /proc/sys /proc/mtrr /proc/timer_list /usr /dev/null /dev/urandom /etc \
			/sys /sys/fs/cgroup /sys/firmware /; cat /data/sub/secret
		awk "\$6 !~ /(^|,)nosuid(,|\$)/ { print \"SUID-MOUNT\", \$5 }" /proc/self/mountinfo'
	check "the payload tried 26 ways" has "$out" "tried 26" || show
	check "no cover was unmounted, no read-only mount made writable" hasnt "$out" UNCOVERED || show
	check "the blocked file stayed hidden" hasnt "$out" uncover-secret || show
	check "every mount is nosuid, the root included" hasnt "$out" SUID-MOUNT || show
}

# ---- 1. with --net unjailed, what the host mounts in /sys --------------------

# The host's /sys is bound with its submounts (debugfs, tracefs,
# securityfs, ...: they are locked to it); only /sys/fs/cgroup may show.
# The scene is set in a mount namespace of the test's own: a tmpfs with a
# root-only file, mounted on an empty directory of /sys (as debugfs is).
case_sysmounts() {
	command -v unshare >/dev/null || skip "no unshare (util-linux)"
	for d in /sys/kernel/debug /sys/kernel/tracing /sys/kernel/config /sys/fs/fuse/connections; do
		[ -d "$d" ] && [ -z "$(ls -A "$d" 2>/dev/null)" ] && break
		d=
	done
	[ -n "$d" ] || skip "no empty directory in /sys to mount a file system on"
	unshare -m --propagation private sh -c '
		mount -t tmpfs -o mode=0700 sbx-sysmount "$1" && echo sysmount-secret >"$1/f" &&
		chmod 600 "$1/f" && shift && exec "$@"' sh "$d" \
		setpriv $( [ "$mode" = user ] && echo --reuid="$user" --regid="$user" --init-groups) -- \
		env -i HOME="$W/home" PATH=/usr/bin:/bin "$demo" --state "$W/state" --net unjailed -- \
		sh -c "ls -A '$d'; cat '$d/f'; echo done" </dev/null >"$out" 2>"$err"
	rc=$?
	check "the payload ran (--net unjailed)" sh -c "[ $rc = 0 ] && grep -q done '$out'" || show
	check "what the host mounted on $d is hidden" hasnt "$out" sysmount-secret || show
}

# ---- 2. a mount source through a symlink an earlier run planted ------------

case_source() {
	mkdir -p "$W/proj/data" "$W/secret" && echo source-secret >"$W/secret/s"
	[ "$mode" = user ] && chown -R "$user:" "$W/proj" "$W/secret"
	demo_run --mount "$W/proj:/proj:rw" -- sh -c "rm -rf /proj/data && ln -s '$W/secret' /proj/data && echo planted"
	check "run 1 replaced proj/data with a symlink to the secret" has "$out" planted || show
	demo_run --mount "$W/proj/data:/data" -- cat /data/s
	check "run 2 does not show the secret" hasnt "$out" source-secret || show
	check "run 2 failed, naming the symlink" \
		sh -c "[ $rc = 125 ] && grep -q 'proj/data is a symlink in a directory the sandbox can write' '$err'" || show
	if [ "$mode" = user ]; then
		# /etc/os-release is a symlink in root's /etc: the user's own to follow.
		demo_run --mount /etc/os-release:/os-release -- cat /os-release
		check "a symlink in a directory the user cannot write is followed, as in Drop" \
			sh -c "[ $rc = 0 ] && grep -q '^ID=' '$out'" || show
	fi
	check "the host's secret is unchanged" test "$(cat "$W/secret/s")" = source-secret
}

# ---- 1. the caller's session keyring ---------------------------------------

case_keyring() {
	as_user "$W/bin/sbx_probe" with-key env -i HOME="$W/home" PATH=/usr/bin:/bin \
		${libpath:+LD_LIBRARY_PATH=$libpath} "$demo" --state "$W/state" --mount "$W/bin:/opt/probe" -- \
		sh -c '/opt/probe/sbx_probe key-search; /opt/probe/sbx_probe key-read @KEYID@' \
		</dev/null >"$out" 2>"$err"
	rc=$?
	[ "$rc" = 77 ] && skip "keyctl is not allowed here: $(cat "$err")"
	outside=$(sed -n 's/^outside //p' "$out")
	inside=$(sed -n 's/^inside //p' "$out")
	check "the payload ran" test "$rc" = 0 || show
	check "the session keyring inside ($inside) is not the caller's ($outside)" \
		sh -c "[ -n '$inside' ] && [ -n '$outside' ] && [ '$inside' != '$outside' ]"
	check "the caller's keys (session and user keyring) are neither found nor read" \
		hasnt "$out" FOUND || show
	check "a read of the caller's key by its id is refused" has "$out" "denied:" || show
}

# ---- 4. a launcher killed with SIGKILL leaves nothing behind ---------------

# kill_launcher [OPTIONS]: the payload clears its parent-death signal and
# sleeps; the launcher is killed; everything it started must go within 1 s.
kill_launcher() {
	mark=1000$$
	demo_bg "$@" --mount "$W/bin:/opt/probe" -- /opt/probe/sbx_probe no-pdeathsig sleep "$mark"
	payload=$(find_sleep "$mark") || {
		bad "the payload never started"
		rc=0
		show
		return 1
	}
	payload=$(named "$payload")
	all=
	for p in $(descendants "$demo_pid"); do
		n=$(named "$p")
		procs="$procs $n"
		all="$all $n:$(cat "/proc/$p/comm" 2>/dev/null)"
	done
	kill -9 "$demo_pid"
	wait "$demo_pid" 2>/dev/null
	check "the payload (pid ${payload%%:*}) is gone within 1 s of the launcher's SIGKILL" \
		gone_within "$payload" 10
	for n in $all; do
		check "every process the launcher started (pid ${n%%:*}, ${n##*:}) is gone" \
			gone_within "${n%:*}" 10
	done
}

case_killed() {
	kill_launcher || return
	check "the killed launcher left its run directory" test -n "$(ls -A "$W/state/internal/run")"
	demo_run -- true
	check "the next launch removed it" sh -c "[ $rc = 0 ] && [ -z \"\$(ls -A '$W/state/internal/run')\" ]" || show
}

case_pasta() {
	command -v pasta >/dev/null || skip "pasta (Debian package passt) is not installed"
	as_user test -r /dev/net/tun -a -w /dev/net/tun ||
		skip "$(as_user id -un) cannot open /dev/net/tun (pasta needs it): $(ls -l /dev/net/tun 2>&1)"
	kill_launcher --net isolated || return
	pf=$(ls "$W"/state/internal/run/*/pasta.pid 2>/dev/null | head -n 1)
	check "pasta wrote its pid file" test -n "$pf"
	[ -n "$pf" ] && check "pasta (pid $(cat "$pf")) was one of them" \
		sh -c "echo '$all' | grep -q ' $(cat "$pf"):'"
}

# ---- 5. the cleanup, whatever modes the payload left -----------------------

case_cleanup() {
	mkdir "$W/victim" && echo keep >"$W/victim/keep"
	[ "$mode" = user ] && chown -R "$user:" "$W/victim"
	demo_run -- sh -c "
		mkdir -p /tmp/locked/d/e && touch /tmp/locked/d/f &&
		ln -s '$W/victim' /tmp/locked/d/link && ln -s '$W/victim' /tmp/vlink &&
		chmod 000 /tmp/locked/d /tmp/locked && mkdir -p /tmp/ro/x && chmod 500 /tmp/ro &&
		echo locked"
	check "the payload locked its /tmp" sh -c "[ $rc = 0 ] && grep -q locked '$out'" || show
	check "the run directory is gone" test -z "$(ls -A "$W/state/internal/run")"
	check "the cleanup followed no symlink (the victim's file is there)" test -f "$W/victim/keep"
}

# ---- 3. SIGTERM to the launcher ends the command at once: 143 --------------

case_sigterm() {
	mark=2000$$
	demo_bg -- sleep "$mark"
	find_sleep "$mark" >/dev/null || bad "sleep never started"
	name=$(named "$demo_pid")
	kill -TERM "$demo_pid"
	if gone_within "$name" 50; then
		wait "$demo_pid"
		rc=$?
		check "dropipc-demo -- sleep exits 143 on SIGTERM" test "$rc" = 143 || show
	else
		bad "dropipc-demo -- sleep still runs 5 s after SIGTERM"
	fi
}

# ---- 3. the init: PID 1, holding what the payload must not read ------------

case_init() {
	as_user env -i HOME="$W/home" PATH=/usr/bin:/bin SBX_SECRET=init-env-secret \
		${libpath:+LD_LIBRARY_PATH=$libpath} "$demo" --state "$W/state" -- sh -c '
			echo "pid $$"; cat /proc/1/environ 2>/dev/null | tr "\0" "\n" | grep SBX_
			kill -KILL 1 2>/dev/null; echo still-here' </dev/null >"$out" 2>"$err"
	rc=$?
	check "the payload ran" test "$rc" = 0 || show
	check "the command is not PID 1" sh -c "grep -q '^pid ' '$out' && ! grep -qx 'pid 1' '$out'" || show
	check "the init's environment (the launcher's, unfiltered) cannot be read" \
		hasnt "$out" init-env-secret || show
	check "the payload cannot kill the init" has "$out" still-here || show
}

# ---- as in Drop: the network, by mode ---------------------------------------

# A service of the host's on an abstract Unix socket (no file, no
# permission: only the network namespace stands between it and the payload).
case_network() {
	command -v python3 >/dev/null || skip "no python3 for the host's service"
	name=dropipc-sbx-$$
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind("\0" + sys.argv[1])
s.listen(1)
c, _ = s.accept()
import struct
pid, uid, gid = struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
c.send(b"host-service peer-uid=%d\n" % uid)
c.close()' "$name" &
	procs="$procs $(named $!)"
	i=0
	until grep -q "@$name\$" /proc/net/unix; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || {
			bad "the host's service did not start"
			return
		}
		sleep 0.05
	done
	for net in off unjailed; do
		demo_run --net "$net" -- python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect("\0" + sys.argv[1])
    print(s.recv(100).decode().strip())
except OSError as e:
    print("unreachable:", e)' "$name"
		case $net in
		off) check "--net off: the host's abstract Unix socket is out of reach" \
			has "$out" unreachable || show ;;
		unjailed)
			check "--net unjailed: the host's abstract Unix socket is reached, as in Drop" \
				has "$out" host-service || show
			check "its peer is the caller's uid on the host ($(as_user id -u))" \
				has "$out" "peer-uid=$(as_user id -u)" || show
			;;
		esac
	done
}

# ---- 6. no default PATH ----------------------------------------------------

case_path() {
	for opts in "--set PATH=" "--no-default-vars"; do
		# shellcheck disable=SC2086 # two words
		demo_run $opts -- ls /
		check "$opts: ls is not found without PATH, reported at exec" \
			sh -c "[ $rc = 125 ] && grep -q 'failed at exec: command ls: not found' '$err'" || show
	done
	demo_run --no-default-vars -- /bin/ls /
	check "a command given as a path still runs" test "$rc" = 0 || show
}

# ---- 6. paths that are not normalized --------------------------------------

case_normalized() {
	demo_run --mount /etc/../usr:/x -- true
	check "a source with '..' is refused, naming the field" \
		sh -c "[ $rc = 2 ] && grep -q 'config.mounts\[0\].source: path is not normalized: /etc/../usr' '$err'" || show
	demo_run --mount /usr:/x/ -- true
	check "a target with a trailing '/' is refused" \
		sh -c "[ $rc = 2 ] && grep -q 'config.mounts\[0\].target: path is not normalized' '$err'" || show
	demo_run --block etc -- true
	check "a blocked path that starts with neither / nor ~/ is refused" \
		sh -c "[ $rc = 2 ] && grep -q 'config.blocked_paths\[0\]: path must start with / or ~/: etc' '$err'" || show
}

type "case_$case" >/dev/null 2>&1 || {
	echo "unknown case $case" >&2
	exit 2
}
echo "case $case, as $mode ($(as_user id -un))"
"case_$case"
[ "$fails" = 0 ] || {
	echo "$fails check(s) failed"
	exit 1
}
exit 0
