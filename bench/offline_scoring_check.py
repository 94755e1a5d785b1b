#!/usr/bin/env python3
"""bench-offline's scoring of free text (tests/offline_callers/README.md, "How
a value is scored"): "a/b" accepts either key; every key is needed.

Usage: offline_scoring_check.py BENCH_OFFLINE. TAP on stdout.
"""
import os
import subprocess
import sys
import tempfile

# (id, lang, caller number, what is said, the claim's key): two of the
# three match ("tree" or "branch"; "voiture" the last of three)
CALLERS = [
    ("either-first", "en-GB", "+447700900123", "A tree fell on my shed yesterday at 3 pm.",
     "A tree fell on the shed | branch/tree shed"),
    ("either-last", "fr-FR", "+33612345678", "Un arbre est tombé sur la voiture hier à 15 heures.",
     "Arbre sur la voiture | arbre camion/velo/voiture"),
    ("neither", "en-GB", "+447700900123", "A tree fell on my shed yesterday at 3 pm.",
     "A tree fell on the garage | tree garage/house"),
]


def callers_yaml():
    out = ["callers:"]
    for cid, lang, number, said, key in CALLERS:
        out += [f"  - id: {cid}", f"    lang: {lang}", "    kind: cooperative",
                f'    from: "{number}"', "    say:", f'      - ["{said}"]', "    claim:",
                f'      incident_description: "{key}"']
    return "\n".join(out) + "\n"


def main():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "scoring.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(callers_yaml())
        out = subprocess.run([sys.argv[1], path, "--fields"], capture_output=True, text=True,
                             check=True).stdout
    line = next((l for l in out.splitlines() if l.strip().startswith("incident_description")), "")
    print("1..1")
    ok = line.split()[-1:] == ["0.667"] and " P 0.667 " in line
    print(("ok" if ok else "not ok") + " 1 - a/b accepts either key, every key is needed: " +
          line.strip())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
