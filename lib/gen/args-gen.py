#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The ChildArgs accessors, generated from the schema, as wayland-scanner
generates libwayland's marshalling from its XML: the build runs

    protoc-c --descriptor_set_out=D --include_source_info dropipc.proto
    args-gen.py D --header H --source C --man M --man-template T --symbols S

and nothing of what it writes is committed. Adding a field to ChildArgs is
then an edit of the .proto (and of lib/validate.c where the field needs a
check): the field gets its accessors, their doc comments (the .proto
comment of the field), its place in dropipc_args(3) and in the symbol list.

Why Python: the descriptor set is itself a protobuf message, and
python3-protobuf's descriptor_pb2 reads it, comments included, in a few
lines; a C generator would need descriptor.proto compiled by protoc-c
(libprotobuf-dev, a second protobuf toolchain) or a hand-written decoder.
The build then needs python3 and python3-protobuf (debian/control).

One rule per field shape, applied to the fields below ChildArgs (those of
Config as if they were ChildArgs' own, Config being the bulk of it):

  text      a string or bytes field:
              int set_NAME(args, const char *)
              const char *get_NAME(const args)
  group     a message field whose fields are all string or bytes (Paths):
            one pair for all of them, the field chosen by a generated enum
            numbered as the fields:
              int set_SINGULAR(args, dropipc_SINGULAR which, const char *)
              const char *get_SINGULAR(const args, dropipc_SINGULAR which)
  list      a repeated string or bytes field: one pair for all of them, the
            field chosen by a generated enum dropipc_list (its values pack
            the field numbers of the path, one byte each: stable as the
            schema grows); the list is set whole from a NULL-terminated
            array and comes back as one:
              int set_list(args, dropipc_list which, const char *const *strv)
              char *const *get_list(const args, dropipc_list which, size_t *n)
  enum      an enum field: a generated C enum, and
              int set_NAME(args, dropipc_ENUM value)
              int get_NAME(const args, dropipc_ENUM *value)
  number    a uint32 or bool field:
              int set_NAME(args, uint32_t or bool)
              int get_NAME(const args, uint32_t * or bool *)
  scalars   a message field whose fields are all uint32 (TermSize): one
            argument per field:
              int set_NAME(args, uint32_t f1, ...)
              int get_NAME(const args, uint32_t *f1, ...)
  element   a repeated message field whose element has only string, bytes,
            uint32 and bool fields: the bools become flag bits
            (DROPIPC_ELEMENT_FIELD, 1 << their order), the others
            arguments in field order:
              int add_SINGULAR(args, f1, ..., unsigned int flags)
              int get_SINGULAR(const args, size_t i, *f1, ..., unsigned int *flags)
            Two such fields named tcp_X and udp_X share one pair, with a
            dropipc_transport argument after args.
  anything else: a message field of other fields is walked into; a field
            no rule fits stops the generator, naming it.

NAME is the field's path below ChildArgs (Config left out) joined by "_";
SINGULAR is the field's name without its plural "s". confirm_exec is the
library's own (set by every send, read by the child end) and gets none.
"""
import argparse
import sys
import textwrap

from google.protobuf import descriptor_pb2 as dp

F = dp.FieldDescriptorProto
TEXT_TYPES = (F.TYPE_STRING, F.TYPE_BYTES)
LIBRARY_OWNED = {"dropipc.v1.ChildArgs.confirm_exec"}
FLATTENED = {"dropipc.v1.ChildArgs.config"}
PACKAGE = "dropipc.v1"


def die(msg):
    sys.exit("args-gen: " + msg)


def upper_snake(camel):
    out = ""
    for i, c in enumerate(camel):
        if c.isupper() and i and not camel[i - 1].isupper():
            out += "_"
        out += c.upper()
    return out


def wrap_proto(proto, width=80):
    """A prototype cut after commas to fit width, continued under its "("."""
    if len(proto) <= width:
        return proto
    head, rest = proto.split("(", 1)
    indent = " " * (len(head) + 1)
    lines, cur = [], head + "("
    for part in rest.split(", "):
        piece = part if cur.endswith("(") else " " + part
        if len(cur) + len(piece) + 1 > width and not cur.endswith("("):
            lines.append(cur)
            cur = indent + part
        else:
            cur += piece
        cur += ","
    lines.append(cur[:-1])
    return "\n".join(lines)


def comment_lines(words, indent="\t", width=80):
    """A comment above a value, wrapped: ["\t/* ...", "\t * ...", "\t */"]."""
    text = " ".join(words)
    if not text:
        return []
    body = textwrap.wrap(text, width - 12)
    if len(body) == 1:
        return [indent + "/* " + body[0] + " */"]
    return [indent + "/*"] + [indent + " * " + l for l in body] + [indent + " */"]


def singular(name):
    return name[:-1] if name.endswith("s") else name


class Schema:
    """The messages and enums of the file, by full name, with comments."""

    def __init__(self, fds):
        f = fds.file[0]
        self.messages, self.enums, self.comments = {}, {}, {}
        for loc in f.source_code_info.location:
            self.comments[tuple(loc.path)] = loc.leading_comments
        for i, m in enumerate(f.message_type):
            self._message(m, "." + PACKAGE, (4, i))
        for i, e in enumerate(f.enum_type):
            self._enum(e, "." + PACKAGE, (5, i))

    def _message(self, m, scope, path):
        name = scope + "." + m.name
        self.messages[name] = (m, path)
        for i, e in enumerate(m.enum_type):
            self._enum(e, name, path + (4, i), parent=m.name)
        for i, n in enumerate(m.nested_type):
            self._message(n, name, path + (3, i))

    def _enum(self, e, scope, path, parent=""):
        self.enums[scope + "." + e.name] = (e, path, parent)

    def comment(self, path):
        text = self.comments.get(tuple(path), "")
        return [line[1:] if line.startswith(" ") else line for line in text.rstrip().split("\n")] \
            if text.strip() else []

    def fields(self, msg_name):
        m, path = self.messages[msg_name]
        return [(f, path + (2, i)) for i, f in sorted(enumerate(m.field), key=lambda x: x[1].number)]


class Gen:
    def __init__(self, schema):
        self.s = schema
        self.decls = []      # (comment lines, [prototypes]) for the header
        self.defs = []       # C source
        self.types = []      # header text: enums and flags
        self.enums_done = set()
        self.lists = []      # (NAME, value, comment, path)
        self.symbols = []
        self.man = []        # (heading, text lines)
        self.transport = False

    # ---- helpers ----------------------------------------------------------

    def c_enum(self, full):
        e, path, parent = self.s.enums[full]
        cname = "dropipc_" + (upper_snake(parent).lower() + "_" if parent else "") + \
            upper_snake(e.name).lower()
        if parent and upper_snake(e.name).lower().startswith(upper_snake(parent).lower()):
            cname = "dropipc_" + upper_snake(e.name).lower()
        if full in self.enums_done:
            return cname
        self.enums_done.add(full)
        prefix = "DROPIPC_" + (upper_snake(parent) + "_" if parent else "")
        lines = ["/*"] + [" * " + l if l else " *" for l in self.s.comment(path) or
                          ["The values of " + full[1:] + "."]] + [" */", "typedef enum {"]
        for i, v in enumerate(e.value):
            lines += comment_lines(self.s.comment(path + (2, i)))
            lines.append("\t%s%s = %d," % (prefix, v.name, v.number))
        lines.append("} %s;" % cname)
        self.types.append("\n".join(lines))
        return cname

    def fn(self, comment, proto, body, names):
        self.decls.append((comment, proto))
        for p, b in zip(proto, body):
            self.defs.append(p.replace("DROPIPC_EXPORT ", "") + "\n{\n" + b + "}\n")
        self.symbols.extend(names)

    @staticmethod
    def path_c(nums):
        return "(const uint32_t[]){ %s }, %d" % (", ".join(str(n) for n in nums), len(nums))

    # ---- the walk ---------------------------------------------------------

    def walk(self, msg, nums, names, dotted):
        fields = self.s.fields(msg)
        by_name = {f.name: (f, p) for f, p in fields}
        for f, fpath in fields:
            full = msg[1:] + "." + f.name
            if full in LIBRARY_OWNED:
                continue
            n2, d2 = nums + [f.number], dotted + [f.name]
            nm = names + ([] if full in FLATTENED else [f.name])
            comment = self.s.comment(fpath)
            where = ".".join(d2)
            if f.label == F.LABEL_REPEATED:
                if f.type in TEXT_TYPES:
                    self.list_field(n2, nm, where, comment, f)
                elif f.type == F.TYPE_MESSAGE:
                    if f.name.startswith("udp_") and ("tcp_" + f.name[4:]) in by_name:
                        continue
                    pair = None
                    if f.name.startswith("tcp_") and ("udp_" + f.name[4:]) in by_name:
                        pair = by_name["udp_" + f.name[4:]][0].number
                    self.element(f, n2, nm, where, comment, pair)
                else:
                    die("%s: no rule for a repeated field of this type" % where)
            elif f.type in TEXT_TYPES:
                self.text(n2, nm, where, comment, f)
            elif f.type == F.TYPE_ENUM:
                self.enum_field(f, n2, nm, where, comment)
            elif f.type in (F.TYPE_UINT32, F.TYPE_BOOL):
                self.number(f, n2, nm, where, comment)
            elif f.type == F.TYPE_MESSAGE:
                sub = self.s.fields(f.type_name)
                if sub and all(g.type in TEXT_TYPES and g.label != F.LABEL_REPEATED for g, _ in sub):
                    self.group(f, n2, nm, where, comment, sub)
                elif sub and all(g.type == F.TYPE_UINT32 and g.label != F.LABEL_REPEATED
                                 for g, _ in sub):
                    self.scalars(f, n2, nm, where, comment, sub)
                else:
                    self.walk(f.type_name, n2, nm, d2)
            else:
                die("%s: no rule for a field of this type" % where)

    # ---- the rules --------------------------------------------------------

    def text(self, nums, nm, where, comment, f):
        name = "_".join(nm)
        kind = "bytes, no NUL" if f.type == F.TYPE_BYTES else "UTF-8 text"
        protos = ["DROPIPC_EXPORT int dropipc_args_set_%s(dropipc_args *args, const char *%s)"
                  % (name, f.name),
                  "DROPIPC_EXPORT const char *dropipc_args_get_%s(const dropipc_args *args)"
                  % name]
        body = ["\treturn dropipc__args_set_text(args, %s, %s);\n" % (self.path_c(nums), f.name),
                "\treturn dropipc__args_get_text(args, %s);\n" % self.path_c(nums)]
        self.fn(["%s (%s)." % (where, kind)] + comment, protos, body,
                ["dropipc_args_set_" + name, "dropipc_args_get_" + name])
        self.man.append((where, comment))

    def group(self, f, nums, nm, where, comment, sub):
        one = singular(f.name)
        cname = "dropipc_" + one
        lines = ["/* The fields of %s (%s), numbered as in the .proto. */" % (where, f.type_name[1:]),
                 "typedef enum {"]
        for g, gpath in sub:
            lines += comment_lines(self.s.comment(gpath))
            lines.append("\tDROPIPC_%s_%s = %d," % (one.upper(), g.name.upper(), g.number))
        lines.append("} %s;" % cname)
        self.types.append("\n".join(lines))
        protos = ["DROPIPC_EXPORT int dropipc_args_set_%s(dropipc_args *args, %s which, "
                  "const char *%s)" % (one, cname, one),
                  "DROPIPC_EXPORT const char *dropipc_args_get_%s(const dropipc_args *args, "
                  "%s which)" % (one, cname)]
        path = ", ".join(str(n) for n in nums)
        body = ["\treturn dropipc__args_set_text(args, (const uint32_t[]){ %s, (uint32_t)which }, "
                "%d, %s);\n" % (path, len(nums) + 1, one),
                "\treturn dropipc__args_get_text(args, (const uint32_t[]){ %s, (uint32_t)which }, "
                "%d);\n" % (path, len(nums) + 1)]
        self.fn(["%s: one of its fields, chosen by which (bytes, no NUL)." % where] + comment +
                ["A which this version does not know: -EINVAL, or NULL."], protos, body,
                ["dropipc_args_set_" + one, "dropipc_args_get_" + one])
        self.man.append((where, comment))

    def list_field(self, nums, nm, where, comment, f):
        value = 0
        for n in nums:
            if n > 255:
                die("%s: field numbers above 255 do not fit dropipc_list" % where)
            value = value << 8 | n
        self.lists.append(("_".join(nm).upper(), value, comment, where))
        self.man.append((where, comment))

    def enum_field(self, f, nums, nm, where, comment):
        name = "_".join(nm)
        cname = self.c_enum(f.type_name)
        protos = ["DROPIPC_EXPORT int dropipc_args_set_%s(dropipc_args *args, %s value)"
                  % (name, cname),
                  "DROPIPC_EXPORT int dropipc_args_get_%s(const dropipc_args *args, %s *value)"
                  % (name, cname)]
        body = ["\treturn dropipc__args_set_number(args, %s, (uint32_t)value);\n"
                % self.path_c(nums),
                "\tuint32_t v;\n\tint r = value ? dropipc__args_get_number(args, %s, &v) : -EINVAL;\n\n"
                "\tif (r == 0)\n\t\t*value = (%s)v;\n\treturn r;\n" % (self.path_c(nums), cname)]
        self.fn(["%s (%s; a value the enum does not have: -EINVAL)." % (where, cname)] + comment,
                protos, body, ["dropipc_args_set_" + name, "dropipc_args_get_" + name])
        self.man.append((where, comment))

    def number(self, f, nums, nm, where, comment):
        name = "_".join(nm)
        t = "bool" if f.type == F.TYPE_BOOL else "uint32_t"
        protos = ["DROPIPC_EXPORT int dropipc_args_set_%s(dropipc_args *args, %s value)" % (name, t),
                  "DROPIPC_EXPORT int dropipc_args_get_%s(const dropipc_args *args, %s *value)"
                  % (name, t)]
        body = ["\treturn dropipc__args_set_number(args, %s, (uint32_t)value);\n" % self.path_c(nums),
                "\tuint32_t v;\n\tint r = value ? dropipc__args_get_number(args, %s, &v) : -EINVAL;\n\n"
                "\tif (r == 0)\n\t\t*value = (%s)v;\n\treturn r;\n" % (self.path_c(nums), t)]
        self.fn(["%s (%s)." % (where, t)] + comment, protos, body,
                ["dropipc_args_set_" + name, "dropipc_args_get_" + name])
        self.man.append((where, comment))

    def scalars(self, f, nums, nm, where, comment, sub):
        name = "_".join(nm)
        ins = ", ".join("uint32_t %s" % g.name for g, _ in sub)
        outs = ", ".join("uint32_t *%s" % g.name for g, _ in sub)
        protos = ["DROPIPC_EXPORT int dropipc_args_set_%s(dropipc_args *args, %s)" % (name, ins),
                  "DROPIPC_EXPORT int dropipc_args_get_%s(const dropipc_args *args, %s)"
                  % (name, outs)]
        body = ["\tconst uint32_t v[] = { %s };\n\n\treturn dropipc__args_set_numbers(args, %s, v, %d);\n"
                % (", ".join(g.name for g, _ in sub), self.path_c(nums), len(sub)),
                "\tuint32_t *const v[] = { %s };\n\n\treturn dropipc__args_get_numbers(args, %s, v, %d);\n"
                % (", ".join(g.name for g, _ in sub), self.path_c(nums), len(sub))]
        fields = ", ".join(g.name for g, _ in sub)
        self.fn(["%s: %s (absent: all 0)." % (where, fields)] + comment, protos, body,
                ["dropipc_args_set_" + name, "dropipc_args_get_" + name])
        self.man.append((where, comment))

    def element(self, f, nums, nm, where, comment, pair):
        base = nm[:-1] + [f.name[4:] if pair else f.name]
        one = singular("_".join(base))
        elem = f.type_name
        sub = self.s.fields(elem)
        flag_prefix = "DROPIPC_" + upper_snake(elem.split(".")[-1])
        ins, outs, vals, outv, flags = [], [], [], [], []
        for g, gpath in sub:
            if g.label == F.LABEL_REPEATED:
                die("%s.%s: no rule for a repeated field in an element" % (where, g.name))
            if g.type == F.TYPE_BOOL:
                flags += comment_lines(self.s.comment(gpath), indent="")
                flags.append("#define %s_%s %du" % (flag_prefix, g.name.upper().rstrip("_"),
                                                    1 << sum(f.startswith("#") for f in flags)))
            elif g.type in TEXT_TYPES:
                ins.append("const char *" + g.name)
                outs.append("const char **" + g.name)
                vals.append("{ .s = %s }" % g.name)
                outv.append("{ .s = %s }" % g.name)
            elif g.type == F.TYPE_UINT32:
                ins.append("uint32_t " + g.name)
                outs.append("uint32_t *" + g.name)
                vals.append("{ .u = %s }" % g.name)
                outv.append("{ .u = %s }" % g.name)
            else:
                die("%s.%s: no rule for this type in an element" % (where, g.name))
        if flags:
            self.types.append("/* Flags of %s. */\n" % elem[1:] + "\n".join(flags))
            ins.append("unsigned int flags")
            outs.append("unsigned int *flags")
        tr = "dropipc_transport t, " if pair else ""
        protos = ["DROPIPC_EXPORT int dropipc_args_add_%s(dropipc_args *args, %s%s)"
                  % (one, tr, ", ".join(ins)),
                  "DROPIPC_EXPORT int dropipc_args_get_%s(const dropipc_args *args, %ssize_t i, %s)"
                  % (one, tr, ", ".join(outs))]
        arr = lambda ns: "(const uint32_t[]){ %s }" % ", ".join(str(n) for n in ns)
        if pair:
            self.transport = True
            path = "\tconst uint32_t *path = t == DROPIPC_TCP ? %s\n\t\t\t      : t == DROPIPC_UDP ? %s\n\t\t\t\t\t\t   : NULL;\n" \
                % (arr(nums), arr(nums[:-1] + [pair]))
        else:
            path = "\tconst uint32_t *path = %s;\n" % arr(nums)
        fl = "flags" if flags else "0"
        flp = "flags" if flags else "NULL"
        body = [path + "\tconst union dropipc__in v[] = { %s };\n\n"
                "\treturn path ? dropipc__args_add(args, path, %d, v, %d, %s) : -EINVAL;\n"
                % (", ".join(vals) or "{ .u = 0 }", len(nums), len(vals), fl),
                path + "\tconst union dropipc__out v[] = { %s };\n\n"
                "\treturn path ? dropipc__args_get(args, path, %d, i, v, %d, %s) : -EINVAL;\n"
                % (", ".join(outv) or "{ .u = NULL }", len(nums), len(outv), flp)]
        what = where if not pair else where.replace(".tcp_", ".{tcp,udp}_")
        self.fn(["%s: add_%s() appends one, get_%s() reads element i." % (what, one, one)] + comment,
                protos, body, ["dropipc_args_add_" + one, "dropipc_args_get_" + one])
        self.man.append((what, comment))

    def finish_lists(self):
        lines = ["/*", " * The repeated string and bytes fields (dropipc_args_set_list(),",
                 " * dropipc_args_get_list()). Each value packs the field numbers of the",
                 " * field's path, one byte each, so a value never changes.", " */",
                 "typedef enum {"]
        for name, value, comment, where in self.lists:
            lines += comment_lines([where + ":"] + comment)
            lines.append("\tDROPIPC_LIST_%s = 0x%x," % (name, value))
        lines.append("} dropipc_list;")
        self.types.append("\n".join(lines))
        protos = ["DROPIPC_EXPORT int dropipc_args_set_list(dropipc_args *args, dropipc_list which, "
                  "const char *const *strv)",
                  "DROPIPC_EXPORT int dropipc_args_add_list(dropipc_args *args, dropipc_list which, "
                  "const char *str)",
                  "DROPIPC_EXPORT char *const *dropipc_args_get_list(const dropipc_args *args, "
                  "dropipc_list which, size_t *n)"]
        body = ["\treturn dropipc__args_set_list(args, (uint32_t)which, strv);\n",
                "\treturn dropipc__args_add_list(args, (uint32_t)which, str);\n",
                "\treturn dropipc__args_get_list(args, (uint32_t)which, n);\n"]
        self.fn(["A list: set_list() replaces it with strv, a NULL-terminated array (NULL:",
                 "empty); add_list() appends str; get_list() returns it NULL-terminated",
                 "(ready for execvp(3) for DROPIPC_LIST_EXEC_ARGS) and its length in *n,",
                 "or NULL for a which this version does not know."], protos, body,
                ["dropipc_args_set_list", "dropipc_args_add_list", "dropipc_args_get_list"])
        table = ",\n".join("\t0x%x" % v for _, v, _, _ in self.lists)
        self.defs.append("const uint32_t dropipc__args_lists[] = {\n%s\n};\n"
                         "const size_t dropipc__args_n_lists = %d;\n" % (table, len(self.lists)))

    # ---- output -----------------------------------------------------------

    def header(self):
        out = ["/* Generated by lib/gen/args-gen.py from dropipc/v1/dropipc.proto: do not edit. */",
               "/* SPDX-License-Identifier: Apache-2.0 OR MIT */",
               "#ifndef DROPIPC_ARGS_H",
               "#define DROPIPC_ARGS_H",
               "#ifndef DROPIPC_H",
               "#error \"include <dropipc/dropipc.h>, not this header\"",
               "#endif",
               "#include <stdbool.h>",
               "#include <stdint.h>",
               ""]
        if self.transport:
            out.append("/* Transport of a port forward (the tcp_ and udp_ lists of the schema). */\n"
                       "typedef enum { DROPIPC_TCP = 0, DROPIPC_UDP = 1 } dropipc_transport;\n")
        for t in self.types:
            out.append(t + "\n")
        for comment, protos in self.decls:
            out.append("/*\n" + "\n".join(" * " + l if l else " *" for l in comment) + "\n */")
            out.extend(wrap_proto(p, 100) + ";" for p in protos)
            out.append("")
        out.append("#endif /* DROPIPC_ARGS_H */")
        return "\n".join(out) + "\n"

    def source(self):
        return ("/* Generated by lib/gen/args-gen.py from dropipc/v1/dropipc.proto: do not edit. */\n"
                "/* SPDX-License-Identifier: Apache-2.0 OR MIT */\n"
                "#include <errno.h>\n\n#include \"internal.h\"\n\n" + "\n".join(self.defs))

    def manpage(self, template):
        names = ["dropipc_args", "dropipc_args_new", "dropipc_args_free", "dropipc_args_validate"] + \
            self.symbols
        syn = []
        for comment, protos in self.decls:
            for p in protos:
                syn.append(wrap_proto(p.replace("DROPIPC_EXPORT ", ""), 78) + ";")
            syn.append("")
        desc = []
        for comment, protos in self.decls:
            fns = ", ".join("*%s*()" % p.split("(")[0].split()[-1].lstrip("*") for p in protos)
            desc.append(fns + ": " + " ".join(l for l in comment).replace("_", "\\_")
                        .replace("*", "\\*"))
            desc.append("")
        lists = ["*DROPIPC_LIST_%s*: %s" % (n, w.replace("_", "\\_")) for n, _, _, w in self.lists]
        return (template.replace("@NAMES@", ", ".join(names))
                .replace("@SYNOPSIS@", "\n".join(syn).rstrip())
                .replace("@ACCESSORS@", "\n".join(desc).rstrip())
                .replace("@LISTS@", "\n\n".join(lists)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("descriptor_set")
    ap.add_argument("--header")
    ap.add_argument("--source")
    ap.add_argument("--man")
    ap.add_argument("--man-template")
    ap.add_argument("--symbols")
    o = ap.parse_args()
    fds = dp.FileDescriptorSet()
    with open(o.descriptor_set, "rb") as f:
        fds.ParseFromString(f.read())
    g = Gen(Schema(fds))
    g.walk("." + PACKAGE + ".ChildArgs", [], [], [])
    g.finish_lists()
    outs = [(o.header, g.header), (o.source, g.source), (o.symbols,
            lambda: "\n".join(["dropipc_args_new", "dropipc_args_free", "dropipc_args_validate"] +
                              g.symbols) + "\n")]
    if o.man:
        with open(o.man_template) as f:
            tmpl = f.read()
        outs.append((o.man, lambda: g.manpage(tmpl)))
    for path, make in outs:
        if path:
            with open(path, "w") as f:
                f.write(make())


if __name__ == "__main__":
    main()
