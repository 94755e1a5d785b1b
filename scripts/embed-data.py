#!/usr/bin/env python3
"""Compile data files into the library as a C table.

    embed-data.py --output OUT.c [--depfile OUT.c.d] ROOT ENTRY...

Each ENTRY is a file or a directory under ROOT (data/); a directory stands
for every regular file below it (names starting with '.' are skipped). Each
file becomes a NUL-terminated byte array, listed in Ccai_embedded_files[]
(core/embedded.h) under its path relative to ROOT, in byte order of the
paths, so a lookup can bisect. Bytes rather than string literals: no
escaping, and no limit on the length of a literal (-Woverlength-strings).

Run by meson at build time (libccai/meson.build), on the build machine: the
output depends on the files' bytes and names only, so it is the same for
every host and every run. The depfile names every file and every directory
read, so ninja runs it again when a file changes, or is added or removed.
Nothing it writes is committed.
"""

import argparse
import os
import re
import sys

NAME_OK = re.compile(r"^[A-Za-z0-9_./-]+$")
# The library reads these at start-up; a file this large is a mistake.
MAX_FILE_BYTES = 4 * 1024 * 1024


def fail(message):
    print(f"embed-data.py: {message}", file=sys.stderr)
    sys.exit(1)


def collect(root, entries):
    """(relative path, absolute path) of every file, and the directories read."""
    files, dirs = {}, []
    for entry in entries:
        top = os.path.join(root, entry)
        if os.path.isfile(top):
            found = [(entry, top)]
        elif os.path.isdir(top):
            found = []
            for here, subdirs, names in os.walk(top):
                dirs.append(here)
                subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
                for name in names:
                    if name.startswith("."):
                        continue
                    path = os.path.join(here, name)
                    if os.path.isfile(path):
                        found.append((os.path.relpath(path, root).replace(os.sep, "/"), path))
        else:
            fail(f"{top}: no such file or directory")
        if not found:
            fail(f"{top}: no files")
        for rel, path in found:
            if not NAME_OK.match(rel):
                fail(f"{rel}: file names may only hold [A-Za-z0-9_./-]")
            files[rel] = path
    return sorted(files.items(), key=lambda kv: kv[0].encode()), dirs


def c_bytes(data):
    values = [str(b) for b in data] + ["0"]
    lines = []
    for i in range(0, len(values), 20):
        lines.append("    " + ",".join(values[i : i + 20]) + ",")
    return "\n".join(lines)


def render(files):
    out = [
        "/* Generated at build time by scripts/embed-data.py from data/: do not edit. */",
        '#include "core/embedded.h"',
        "",
    ]
    for i, (rel, path) in enumerate(files):
        with open(path, "rb") as f:
            data = f.read()
        if len(data) > MAX_FILE_BYTES:
            fail(f"{rel}: larger than {MAX_FILE_BYTES} bytes")
        out.append(f"/* {rel} */")
        out.append(f"static const unsigned char d{i}[] = {{")
        out.append(c_bytes(data))
        out.append("};")
        out.append("")
    out.append("const Ccai_embedded Ccai_embedded_files[] = {")
    for i, (rel, _) in enumerate(files):
        out.append(f'    {{"{rel}", d{i}, sizeof d{i} - 1}},')
    out.append("};")
    out.append("")
    out.append(
        "const size_t Ccai_embedded_count = "
        "sizeof Ccai_embedded_files / sizeof Ccai_embedded_files[0];"
    )
    return "\n".join(out) + "\n"


def depfile_escape(path):
    return path.replace("\\", "\\\\").replace(" ", "\\ ").replace("#", "\\#").replace("$", "$$")


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", required=True)
    ap.add_argument("--depfile")
    ap.add_argument("root")
    ap.add_argument("entries", nargs="+")
    args = ap.parse_args()
    files, dirs = collect(args.root, args.entries)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(render(files))
    if args.depfile:
        deps = [path for _, path in files] + dirs
        write_if_changed(
            args.depfile,
            depfile_escape(args.output)
            + ": "
            + " \\\n  ".join(depfile_escape(os.path.abspath(p)) for p in deps)
            + "\n",
        )


if __name__ == "__main__":
    main()
