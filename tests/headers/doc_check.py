#!/usr/bin/env python3
"""Every public function says what it returns, who owns what, and where it
may be called (STYLE.md, "Ownership and lifecycles").

    doc_check.py SRCDIR            check the public headers
    doc_check.py --self-test       check the checker on made-up headers

A public function is a CCAI_EXPORT declaration of include/ccai/ccai.h, or a
`static inline` function of include/ccai/adapters/*.h whose name does not end
in '_' (the adapters' private helpers do). Its doc comment is the /** ... */
right before it (blank lines allowed); it must hold "Statuses:",
"Ownership:", "Context:" and "@since". The checker fails naming each
function and what its comment lacks.
"""
import pathlib
import re
import sys

REQUIRED = ("Statuses:", "Ownership:", "Context:", "@since")

EXPORT = re.compile(r"^CCAI_EXPORT\b[^;{]*?\b(ccai_\w+)\s*\(", re.M)
INLINE = re.compile(r"^static inline\b[^;{(]*?\b(ccai_\w+)\s*\(", re.M)


def doc_before(text, start):
    """The /** */ comment that ends right before offset start, or None."""
    head = text[:start].rstrip()
    if not head.endswith("*/"):
        return None
    opening = head.rfind("/*")
    if opening < 0 or not head.startswith("/**", opening):
        return None
    return head[opening:]


def declarations(text, adapter):
    """(name, offset of the declaration's first line) for each public function."""
    if adapter:
        for m in INLINE.finditer(text):
            if not m.group(1).endswith("_"):
                yield m.group(1), m.start()
        return
    for m in EXPORT.finditer(text):
        yield m.group(1), m.start()


def check_text(name, text, adapter):
    problems = []
    count = 0
    for fn, start in declarations(text, adapter):
        count += 1
        doc = doc_before(text, start)
        if doc is None:
            problems.append(f"{name}: {fn}: no doc comment")
            continue
        lacks = [r for r in REQUIRED if r not in doc]
        if lacks:
            problems.append(f"{name}: {fn}: the doc comment lacks {', '.join(lacks)}")
    return count, problems


def check_tree(srcdir):
    inc = pathlib.Path(srcdir) / "include" / "ccai"
    headers = [(inc / "ccai.h", False)] + [(p, True) for p in sorted((inc / "adapters").glob("*.h"))]
    total, problems = 0, []
    for path, adapter in headers:
        n, p = check_text(str(path.relative_to(srcdir)), path.read_text(), adapter)
        total += n
        problems += p
    return total, problems


GOOD = """
/**
 * Do it.
 * Statuses: CCAI_OK.
 * Ownership: nothing changes hands.
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_do(int x);
"""


def self_test():
    cases = [
        ("complete", GOOD, False, 1, 0),
        ("no comment", "int x;\nCCAI_EXPORT void ccai_a(void);\n", False, 1, 1),
        ("plain comment", "/* Do it. */\nCCAI_EXPORT void ccai_a(void);\n", False, 1, 1),
        ("no statuses", GOOD.replace("Statuses:", "Returns"), False, 1, 1),
        ("no ownership", GOOD.replace("Ownership:", ""), False, 1, 1),
        ("no context", GOOD.replace("Context:", ""), False, 1, 1),
        ("no since", GOOD.replace("@since 0.1", ""), False, 1, 1),
        ("two-line declaration", GOOD.replace("(int x)", "(int x,\n    int y)"), False, 1, 0),
        ("comment of the previous one", GOOD + "CCAI_EXPORT void ccai_b(void);\n", False, 2, 1),
        ("adapter", GOOD.replace("CCAI_EXPORT", "static inline") +
         "static inline int ccai_x_helper_(void) { return 0; }\n", True, 1, 0),
        ("adapter without doc", "static inline int ccai_x_run(void) { return 0; }\n", True, 1, 1),
    ]
    failed = 0
    for what, text, adapter, want_n, want_problems in cases:
        n, problems = check_text(what, text, adapter)
        if n != want_n or len(problems) != want_problems:
            print(f"self-test {what}: {n} functions, {problems}; wanted {want_n} and "
                  f"{want_problems} problem(s)")
            failed += 1
    print(f"doc_check self-test: {len(cases) - failed} of {len(cases)} cases right")
    return 1 if failed else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    total, problems = check_tree(argv[1])
    for p in problems:
        print(p)
    print(f"public functions: {total}, {total - len(problems)} with Statuses, Ownership, "
          f"Context and @since")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
