"""The ctypes bindings match include/umpire.h: a C probe generated from the ctypes definitions is
compiled against the header and prints every struct's size, every field's offset and size and
every enum constant; each must equal what ctypes says; and every function's prototype has the
header's parameters and result, kind for kind. A field or parameter renamed, added or retyped in
the header fails here, not as corrupted memory at run time."""
import os
import re
import shutil
import subprocess

import pytest

import umpire
from umpire import _lib as L
from conftest import REPO


def probe_source():
    lines = ["#include <stddef.h>", "#include <stdio.h>", '#include "umpire.h"', "int main(void) {"]
    for cls, name in L.C_STRUCTS.items():
        lines.append('printf("%s %%zu\\n", sizeof(struct %s));' % (name, name))
        for field, _ in cls._fields_:
            lines.append('printf("%s.%s %%zu %%zu\\n", offsetof(struct %s, %s), sizeof(((struct %s *)0)->%s));'
                         % (name, field, name, field, name, field))
    for const in L.ENUM_CONSTANTS:
        lines.append('printf("%s %%lld\\n", (long long)(%s));' % (const, const))
    lines += ['printf("version %d.%d.%d\\n", UMPIRE_VERSION_MAJOR, UMPIRE_VERSION_MINOR, UMPIRE_VERSION_PATCH);',
              "return 0;", "}"]
    return "\n".join(lines) + "\n"


def test_structs_and_constants_match_the_header(tmp_path):
    cc = os.environ.get("UMPIRE_CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler (UMPIRE_CC) to build the layout probe")
    src = tmp_path / "probe.c"
    src.write_text(probe_source())
    build = subprocess.run([cc, "-std=c11", "-I", os.path.join(REPO, "include"), str(src), "-o", str(tmp_path / "probe")],
                           capture_output=True, text=True)
    assert build.returncode == 0, "the header lacks a field the bindings use:\n" + build.stderr
    out = dict(line.split(" ", 1) for line in subprocess.run([str(tmp_path / "probe")], capture_output=True,
                                                             text=True, check=True).stdout.splitlines())
    bad = []
    for cls, name in L.C_STRUCTS.items():
        if int(out[name]) != L.ctypes.sizeof(cls):
            bad.append("sizeof(struct %s): C %s, ctypes %d" % (name, out[name], L.ctypes.sizeof(cls)))
        for field, ctype in cls._fields_:
            off, size = map(int, out["%s.%s" % (name, field)].split())
            desc = getattr(cls, field)
            if (off, size) != (desc.offset, L.ctypes.sizeof(ctype)):
                bad.append("%s.%s: C offset %d size %d, ctypes %d %d" % (name, field, off, size, desc.offset,
                                                                         L.ctypes.sizeof(ctype)))
    for const, value in L.ENUM_CONSTANTS.items():
        if int(out[const]) != value:
            bad.append("%s: C %s, Python %d" % (const, out[const], value))
    assert bad == []
    assert out["version"] == umpire.__version__


def test_every_struct_field_of_the_header_is_bound():
    """The header's members of each bound struct, in order, are the ctypes fields (a field added
    at the end of a struct would not move any offset, but would change its size: caught above;
    this names it)."""
    header = open(os.path.join(REPO, "include", "umpire.h")).read()
    header = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    for cls, name in L.C_STRUCTS.items():
        body = re.search(r"struct %s \{(.*?)\n\};" % name, header, flags=re.S).group(1)
        members = []
        for decl in body.split(";"):
            decl = re.sub(r"\[[^\]]*\]", "", decl).strip()
            if not decl:
                continue
            decl = re.sub(r"^(const\s+)?(struct|enum)?\s*\w+(\s+const)?[\s*]+", "", decl, count=1)
            members += [re.sub(r"[\s*]|const", "", m) for m in decl.split(",")]
        assert members == [f for f, _ in cls._fields_], name


def c_kind(decl):
    """A C parameter or return type as a coarse kind: ptr, struct name, double, float, int4, int8, void."""
    decl = re.sub(r"\b(const|UMPIRE_API)\b", "", decl).strip()
    if "*" in decl or "[" in decl:
        return "ptr"
    m = re.match(r"(struct|enum)\s+(\w+)", decl)
    if m:
        return m.group(2) if m.group(1) == "struct" else "int4"
    t = decl.split()[0] if decl.split() else decl
    return {"double": "double", "float": "float", "void": "void", "size_t": "int8", "uint64_t": "int8",
            "int64_t": "int8"}.get(t, "int4")


def py_kind(t):
    if t is None:
        return "void"
    if t in L.C_STRUCTS:
        return L.C_STRUCTS[t]
    if t in (L.c_char_p, L.c_void_p) or hasattr(t, "_type_") and not isinstance(t._type_, str):
        return "ptr"
    if t is L.c_double:
        return "double"
    if t is L.c_float:
        return "float"
    return "int%d" % L.ctypes.sizeof(t)


def test_function_prototypes_match_the_header():
    """Every function the bindings call is declared UMPIRE_API in umpire.h with as many parameters,
    each of the same kind (pointer, double, 4- or 8-byte integer, struct by value), and the same
    kind of result."""
    header = re.sub(r"/\*.*?\*/", "", open(os.path.join(REPO, "include", "umpire.h")).read(), flags=re.S)
    decls = {m.group(2): (m.group(1), m.group(3)) for m in
             re.finditer(r"UMPIRE_API\s+([^;(]*?)\b(umpire_\w+)\s*\(([^)]*)\)\s*;", header)}
    bad = []
    for name, restype, argtypes in L._FUNCTIONS:
        if name not in decls:
            bad.append("%s: not in umpire.h" % name)
            continue
        ret, args = decls[name]
        c_args = [] if args.strip() in ("", "void") else [a for a in args.split(",")]
        want = (c_kind(ret), [c_kind(a) for a in c_args])
        have = (py_kind(restype), [py_kind(a) for a in argtypes])
        if want != have:
            bad.append("%s: header %s, bindings %s" % (name, want, have))
    assert bad == [] and len(L._FUNCTIONS) > 50
