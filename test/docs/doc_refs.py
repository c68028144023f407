# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Every name the docs give a reader resolves, and every block that claims
to compile does.

Reads README.md, docs/*.md, examples/*.c and man/*.scd:
- each dropipc_* name in a code block or code span (in the man pages: the
  whole page) is a function the built library exports when it is called
  (or given as a manual page, NAME(3)), and a function or a type of the
  public header otherwise; each DROPIPC_* name in C code is a macro, an
  enum constant or a type of the header (comments left out);
- a ```c block that follows <!-- compile --> or <!-- example: NAME -->
  compiles and links against the built library (-Wall -Wextra -Werror; a
  block without main() is linked with an empty one), and every ```c block
  that has a main() is marked so;
- every line of a man page's code block that holds a backslash renders
  with it (scdoc takes "\\n" for an escaped "n": the source must say
  "\\\\n"), and no rendered printf format ends in a bare "n\"".

Usage: doc_refs.py SOURCE_DIR LIBRARY MAN_BUILD_DIR CC [CFLAGS]
(MAN_BUILD_DIR "-": the pages are not built, their rendering is not checked;
CFLAGS: the build's sanitizer flags, for the blocks compiled.)
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```(\w*)\s*$")
MARK = re.compile(r"^<!-- (compile|example: [\w.-]+) -->\s*$")
LOWER = re.compile(r"(?<![\w:./-])(dropipc_[a-z0-9][a-z0-9_]*)(\\?\*)?(\s*\((\d)\))?(\s*\()?")
UPPER = re.compile(r"(?<![\w])(DROPIPC_[A-Z0-9][A-Z0-9_]*)")

failures = []


def fail(where, msg):
    failures.append("%s: %s" % (where, msg))


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] != "A":
            names.add(parts[2].split("@")[0])
    return {n for n in names if n.startswith("dropipc_")}


def incflags(include):
    """-I for each directory of include (os.pathsep-separated): the source
    headers, and the generated dropipc-args.h."""
    return [f for d in include.split(os.pathsep) for f in ("-I", d)]


def declared(cc, include):
    """The names the header gives a C program, as the compiler sees them:
    its macros (cc -dM) and the identifiers of the preprocessed header
    (comments gone, X-macros expanded)."""
    names = set()
    for flags in (["-dM"], ["-P"]):
        p = subprocess.run([cc, "-E"] + flags + incflags(include) + ["-x", "c", "-"],
                           input="#include <dropipc/dropipc.h>\n", check=True,
                           capture_output=True, text=True)
        names |= set(re.findall(r"\b(?:dropipc|DROPIPC)_\w+", p.stdout))
    return names


def md_blocks(path):
    """(line, lang, mark, text) of each fenced block, and the code spans."""
    blocks, spans = [], []
    lines = open(path).read().split("\n")
    i, mark = 0, None
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            start, lang = i + 1, m.group(1)
            i += 1
            body = []
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            blocks.append((start, lang, mark, "\n".join(body) + "\n"))
            mark = None
        else:
            mm = MARK.match(lines[i])
            if mm:
                mark = mm.group(1)
            elif lines[i].strip():
                mark = None
                for span in re.findall(r"`([^`]+)`", lines[i]):
                    spans.append((i + 1, span))
        i += 1
    return blocks, spans


def check_names(where, text, funcs, decl, pages, c_code):
    for m in LOWER.finditer(text):
        name, star, section, call = m.group(1), m.group(2), m.group(4), m.group(5)
        if star and name.endswith("_"):  # a family: dropipc_parent_\\*
            if not any(f.startswith(name) for f in funcs):
                fail(where, "%s*: the library exports no such function" % name)
        elif section:
            if name not in funcs and name not in pages:
                fail(where, "%s(%s): no such function or manual page" % (name, section))
        elif call:
            if name not in funcs:
                fail(where, "%s(): the library exports no such function" % name)
        elif name not in funcs and name not in decl and name not in pages:
            fail(where, "%s: neither exported, declared in the header nor a manual page" % name)
    if c_code:
        for name in set(UPPER.findall(text)):
            if name not in decl:
                fail(where, "%s: the header declares no such name" % name)


def compile_block(where, text, cc, cflags, include, libdir, tmp):
    n = len(os.listdir(tmp))
    src = os.path.join(tmp, "block%d.c" % n)
    with open(src, "w") as f:
        f.write(text)
    srcs = [src]
    if not re.search(r"\bint\s+main\s*\(", text):
        stub = os.path.join(tmp, "main%d.c" % n)
        with open(stub, "w") as f:
            f.write("int main(void);\nint main(void)\n{\n\treturn 0;\n}\n")
        srcs.append(stub)
    cmd = [cc, "-std=c11", "-Wall", "-Wextra", "-Werror"] + cflags + incflags(include) + srcs + [
        "-o", os.path.join(tmp, "block%d" % n), "-L", libdir, "-ldropipc"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        fail(where, "does not compile against the built library:\n" + p.stderr)
        return False
    return True


def scd_blocks(path):
    lines = open(path).read().split("\n")
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith("```"):
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append((i + 1, lines[i]))
                i += 1
        i += 1
    return out


def scdoc_unescape(line):
    return re.sub(r"\\(.)", r"\1", line)


def render(page):
    p = subprocess.run(["groff", "-man", "-Tutf8", "-P-c", "-P-b", "-P-u", page],
                       capture_output=True, text=True,
                       env=dict(os.environ, LC_ALL="C.UTF-8"))
    return p.stdout


def check_man(src, mandir):
    n = 0
    for scd in sorted(glob.glob(os.path.join(src, "man", "*.scd"))):
        base = os.path.basename(scd)[:-4]  # NAME.SECTION
        page = os.path.join(mandir, "man" + base.rsplit(".", 1)[1], base)
        if not os.path.exists(page):
            fail(page, "not built")
            continue
        rendered = render(page)
        flat = [" ".join(l.split()) for l in rendered.split("\n")]
        for lineno, line in scd_blocks(scd):
            if "\\" not in line:
                continue
            n += 1
            want = " ".join(scdoc_unescape(line).split())
            where = "%s:%d" % (os.path.relpath(scd, src), lineno)
            if "\\" not in want:
                fail(where, "scdoc eats this line's backslashes (write \\\\ for \\): " + line.strip())
            elif want not in flat:
                fail(where, "renders otherwise than written: %r" % want)
        for l in rendered.split("\n"):
            for lit in re.findall(r'printf\([^"]*"([^"]*)"', l):
                if lit.endswith("n") and not lit.endswith("\\n") and "%" in lit:
                    fail(page, "a printf format lost its backslash: %s" % l.strip())
    return n


def main():
    src, lib, mandir, cc = sys.argv[1:5]
    cflags = sys.argv[5].split() if len(sys.argv) > 5 else []
    # The generated header's directory (dropipc-args.h), when given.
    include = os.pathsep.join([os.path.join(src, "include")] + sys.argv[6:7])
    funcs = exported(lib)
    decl = declared(cc, include)
    if len(funcs) < 20:
        print("FAIL: only %d functions exported by %s" % (len(funcs), lib))
        return 1
    # The pages, dropipc_args(3) among them (generated from its .scd.in).
    pages = {os.path.basename(p).split(".")[0]
             for p in glob.glob(os.path.join(src, "man", "*.scd*"))}
    counts = {"names": 0, "compiled": 0, "man backslash lines": 0}
    with tempfile.TemporaryDirectory() as tmp:
        docs = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
        for path in docs:
            rel = os.path.relpath(path, src)
            blocks, spans = md_blocks(path)
            for line, lang, mark, text in blocks:
                where = "%s:%d" % (rel, line)
                is_c = lang == "c"
                counts["names"] += len(LOWER.findall(text))
                check_names(where, text, funcs, decl, pages, is_c)
                if is_c and mark:
                    counts["compiled"] += compile_block(where, text, cc, cflags, include,
                                                        os.path.dirname(lib), tmp)
                elif is_c and re.search(r"\bint\s+main\s*\(", text):
                    fail(where, "a whole program not marked <!-- compile --> (so not compiled)")
            for line, span in spans:
                counts["names"] += len(LOWER.findall(span))
                check_names("%s:%d" % (rel, line), span, funcs, decl, pages, False)
        for path in sorted(glob.glob(os.path.join(src, "examples", "*.c"))):
            text = open(path).read()
            counts["names"] += len(LOWER.findall(text))
            check_names(os.path.relpath(path, src), text, funcs, decl, pages, True)
        for path in sorted(glob.glob(os.path.join(src, "man", "*.scd"))):
            rel = os.path.relpath(path, src)
            for i, line in enumerate(open(path).read().split("\n"), 1):
                counts["names"] += len(LOWER.findall(line))
                check_names("%s:%d" % (rel, i), line, funcs, decl, pages, False)
            for lineno, line in scd_blocks(path):
                check_names("%s:%d" % (rel, lineno), line, funcs, decl, pages, True)
        if mandir != "-":
            counts["man backslash lines"] = check_man(src, mandir)
        else:
            print("the manual pages are not built: their rendering is not checked")
    for f in failures:
        print("FAIL: " + f)
    print("doc_refs: %d names, %d blocks compiled, %d man code lines with a backslash; %d failures"
          % (counts["names"], counts["compiled"], counts["man backslash lines"], len(failures)))
    if counts["compiled"] == 0 or (mandir != "-" and counts["man backslash lines"] == 0):
        print("FAIL: nothing compiled or no man code line with a backslash: the markers are gone?")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
