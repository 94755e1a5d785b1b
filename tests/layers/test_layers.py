#!/usr/bin/env python3
"""The layer rule of libccai (libccai/layers.map), checked on every
#include "..." of libccai/: a file includes its own folder and lower layers
only, never a peer or a higher layer, and none of what the map denies.
Prints TAP; each wrong-way include is named with its file and line.

    test_layers.py SRCDIR            check libccai/ against libccai/layers.map
    test_layers.py --self-test       check the checker on trees made for it
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


class MapError(Exception):
    pass


def read_map(path):
    """(ranks, denies): ranks maps a folder pattern to its rank; denies is a
    list of (from pattern, to pattern)."""
    ranks, denies = {}, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if words[0] == "rank" and len(words) > 1:
                for w in words[1:]:
                    if w in ranks:
                        raise MapError(f"{path}:{n}: {w} has a rank already")
                    ranks[w] = len(set(ranks.values()))
            elif words[0] == "deny" and len(words) == 3:
                denies.append((words[1], words[2]))
            else:
                raise MapError(f"{path}:{n}: expected 'rank FOLDER...' or 'deny FROM TO'")
    return ranks, denies


def unit_of(rel, ranks):
    """The map's pattern and the concrete folder of a file (relative to
    libccai/): channels/twilio/x.c is ("channels/*", "channels/twilio")."""
    parts = rel.split("/")
    folder = "/".join(parts[:-1]) or "."
    best = None
    for pat in ranks:
        if pat == folder or (pat != "." and folder.startswith(pat + "/")):
            cand = (pat, pat)
        elif pat.endswith("/*") and folder.startswith(pat[:-1]):
            cand = (pat, pat[:-1] + folder[len(pat) - 1:].split("/")[0])
        else:
            continue
        if best is None or len(cand[1]) > len(best[1]):
            best = cand
    return best


def check(root, map_path):
    """Problems found, as "file:line: message" strings."""
    ranks, denies = read_map(map_path)
    files = {}
    for d, _, names in os.walk(root):
        for name in names:
            if name.endswith((".c", ".h")):
                p = os.path.join(d, name)
                files[os.path.relpath(p, root)] = p
    problems = []
    for rel in sorted(files):
        unit = unit_of(rel, ranks)
        if unit is None:
            problems.append(f"libccai/{rel}:1: its folder is in no layer of layers.map")
            continue
        with open(files[rel], encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
        for n, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            if target not in files:
                near = os.path.normpath(os.path.join(os.path.dirname(rel), target))
                if near not in files:
                    continue  # not libccai's (a generated or system header)
                target = near
            tunit = unit_of(target, ranks)
            if tunit is None or tunit[1] == unit[1]:
                continue
            where = f"libccai/{rel}:{n}"
            if ranks[tunit[0]] >= ranks[unit[0]]:
                what = "a peer" if ranks[tunit[0]] == ranks[unit[0]] else "a higher layer"
                problems.append(f"{where}: includes {target} ({what}: {tunit[1]} is not "
                                f"below {unit[1]} in layers.map)")
                continue
            for a, b in denies:
                if unit_of_pattern(unit, a) and unit_of_pattern(tunit, b):
                    problems.append(f"{where}: includes {target} (layers.map: deny {a} {b})")
    return problems


def unit_of_pattern(unit, pattern):
    return unit[0] == pattern or unit[1] == pattern


def tap(results):
    """results: (ok, description, details) tuples. Returns the exit code."""
    failed = 0
    for i, (ok, desc, details) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {desc}")
        for d in details:
            print(f"# {d}")
        failed += not ok
    print(f"1..{len(results)}")
    return 1 if failed else 0


def write(root, files):
    for rel, text in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)


def self_test():
    """The checker on small trees: what it must refuse, and what it must let
    through."""
    layers = "rank core\nrank engine\nrank channels/common\nrank channels/*\nrank web\n" \
             "deny channels/* engine\n"
    cases = [
        ("a lower layer's include is fine",
         {"engine/e.c": '#include "core/c.h"\n', "core/c.h": ""}, []),
        ("an include of a higher layer is named with its file and line",
         {"core/c.c": '/* x */\n#include "engine/e.h"\n', "engine/e.h": ""},
         ["libccai/core/c.c:2: includes engine/e.h (a higher layer"]),
        ("a channel including another channel is refused",
         {"channels/a/a.c": '#include "channels/b/b.h"\n', "channels/b/b.h": ""},
         ["libccai/channels/a/a.c:1: includes channels/b/b.h (a peer"]),
        ("a channel including itself and channels/common is fine",
         {"channels/a/a.c": '#include "channels/a/a.h"\n#include "channels/common/c.h"\n',
          "channels/a/a.h": "", "channels/common/c.h": ""}, []),
        ("a denied include is refused though it points down",
         {"channels/a/a.c": '#include "engine/e.h"\n', "engine/e.h": ""},
         ["libccai/channels/a/a.c:1: includes engine/e.h (layers.map: deny channels/* engine)"]),
        ("a channel including web is refused",
         {"channels/a/a.c": '\n\n#include "web/w.h"\n', "web/w.h": ""},
         ["libccai/channels/a/a.c:3: includes web/w.h (a higher layer"]),
        ("a folder the map does not name is refused",
         {"stray/s.c": "int x;\n"}, ["libccai/stray/s.c:1: its folder is in no layer"]),
        ("a relative include is resolved",
         {"core/c.c": '#include "../engine/e.h"\n', "engine/e.h": ""},
         ["libccai/core/c.c:1: includes engine/e.h (a higher layer"]),
    ]
    results = []
    for desc, files, want in cases:
        with tempfile.TemporaryDirectory() as tmp:
            write(tmp, files)
            map_path = os.path.join(tmp, "layers.map")
            with open(map_path, "w", encoding="utf-8") as f:
                f.write(layers)
            got = check(tmp, map_path)
        ok = len(got) == len(want) and all(g.startswith(w) for g, w in zip(got, want))
        results.append((ok, desc, [] if ok else [f"got {got!r}", f"want {want!r}"]))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "layers.map")
            with open(p, "w", encoding="utf-8") as f:
                f.write("rank core\nranks engine\n")
            read_map(p)
        results.append((False, "a malformed map line is refused", ["no error"]))
    except MapError as e:
        results.append(("layers.map:2:" in str(e), "a malformed map line is refused", [str(e)]))
    return tap(results)


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = os.path.join(argv[1], "libccai")
    map_path = os.path.join(root, "layers.map")
    try:
        problems = check(root, map_path)
    except MapError as e:
        return tap([(False, "layers.map reads", [str(e)])])
    return tap([(not problems, "every #include of libccai/ follows libccai/layers.map", problems)])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
