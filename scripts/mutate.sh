#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# A small mutation check of the hostile-input code, run by hand before a
# release: each mutant below is a one-line change of the kind a careless
# refactor makes (the survivors of a held-out mutation run, issue 18). For
# each, the script applies it, builds (build/mutate), runs the tests that
# must catch it and puts the file back; it fails if any mutant survives.
# The files it mutates must have no uncommitted change.
# Usage: scripts/mutate.sh [NAME...]   (default: all)
set -eu
cd "$(dirname "$0")/.."

# name|file|old text|new text|ctest regex of the tests that must fail
# (no '|' inside a field; \n is a newline, \& an ampersand)
mutants='
wire_fast_path|lib/wire.c|r->p[1] <= r->end - r->p - 2|r->p[1] <= r->end - r->p|^unit_hardening$
text_len|lib/text.c|	if (n < len)\n		return 0;\n||^unit_hardening$
budget_skipped|lib/message.c|	if (size > a->limit - a->total) {|	if (0) {|^unit_hardening$
budget_per_chunk|lib/message.c|	if (size > a->limit - a->total) {|	if (size > a->limit) {|^unit_hardening$
mount_target|lib/validate.c|		    (r = check_path(ck, cfg->mounts[i]->target, "mounts", i, ".target")) < 0)|		    0)|^unit_hardening$
pty_tiocgptn_alone|lib/parent.c|	if (mode == S_IFCHR && major == 5 && minor == 2 && !(flags & O_PATH) &&|	if (!(flags & O_PATH) \&\&|^hostile_fuse$
spawn_close_range|lib/spawn.c|	close_range_(p, (unsigned int)err_fd + 1, ~0U);||^spawn_basic$
chardev_quick|lib/fd.c|	case S_IFCHR:\n|	case S_IFCHR:\n		return true;\n|^unit_hardening$
anon_inode_quick|lib/fd.c|	default:\n		return false;\n	}\n}|	default:\n		return (stx.mode \& S_IFMT) == 0;\n	}\n}|^hostile_fuse$
helper_sigchld|lib/fd.c|.pidfd = (uint64_t)(uintptr_t)pidfd };|.pidfd = (uint64_t)(uintptr_t)pidfd, .exit_signal = SIGCHLD };|^unit_hardening$
fifo_quick|lib/fd.c|	case S_IFCHR:|	case S_IFIFO: return true;\n	case S_IFCHR:|^hostile_blocking$
own_socket_inline|lib/frame.c|	dropipc__close_untrusted(c->closer, \&c->fd, 1);|	close(c->fd);|^hostile_blocking$
fd_room_skipped|lib/frame.c|		r = dropipc__fd_room(c->fd, RX_MAX_FDS);|		r = 0;|^hostile_blocking$
'

only="$*"
cmake -S . -B build/mutate -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
printf '%s\n' "$mutants" | while IFS='|' read -r name file old new tests; do
	[ -n "$name" ] || continue
	case " $only " in "  ") ;; *" $name "*) ;; *) continue ;; esac
	git diff --quiet -- "$file" || { echo "$file has changes: commit them first" >&2; exit 2; }
	if ! OLD="$old" NEW="$new" python3 - "$file" <<'EOF'
import os, sys
p = sys.argv[1]
old = os.environ["OLD"].replace("\\n", "\n").replace("\\&", "&")
new = os.environ["NEW"].replace("\\n", "\n").replace("\\&", "&")
s = open(p).read()
if s.count(old) != 1:
    sys.exit("mutant does not apply: %r found %d times in %s" % (old, s.count(old), p))
open(p, "w").write(s.replace(old, new))
EOF
	then
		echo "BROKEN   $name (the code changed: update the mutant)"
		echo 1 >build/mutate/survived
		continue
	fi
	if ! cmake --build build/mutate -j2 >/dev/null 2>&1; then
		echo "BROKEN   $name (does not build: fix the mutant)"
		echo 1 >build/mutate/survived
	elif ctest --test-dir build/mutate --no-tests=error -R "$tests" >/dev/null 2>&1; then
		echo "SURVIVED $name ($file; $tests passed)"
		echo 1 >build/mutate/survived
	else
		echo "killed   $name ($tests)"
	fi
	git checkout -- "$file"
done
cmake --build build/mutate -j2 >/dev/null 2>&1
if [ -e build/mutate/survived ]; then
	rm -f build/mutate/survived
	exit 1
fi
