#!/usr/bin/env python3
"""bench-offline's scoring of free text (tests/offline_callers/README.md, "How
a value is scored"): "a/b" accepts either key; every key is needed.

Usage: offline_scoring_check.py BENCH_OFFLINE. TAP on stdout.
"""
import os
import subprocess
import sys
import tempfile

CALLERS = """callers:
  - id: either-first
    lang: en-GB
    kind: cooperative
    from: "+447700900123"
    say:
      - ["A tree fell on my shed yesterday at 3 pm."]
    claim:
      incident_description: "A tree fell on the shed | branch/tree shed"
  - id: either-last
    lang: fr-FR
    kind: cooperative
    from: "+33612345678"
    say:
      - ["Un arbre est tombé sur la voiture hier à 15 heures."]
    claim:
      incident_description: "Arbre sur la voiture | arbre camion/velo/voiture"
  - id: neither
    lang: en-GB
    kind: cooperative
    from: "+447700900123"
    say:
      - ["A tree fell on my shed yesterday at 3 pm."]
    claim:
      incident_description: "A tree fell on the garage | tree garage/house"
"""


def main():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "scoring.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(CALLERS)
        out = subprocess.run([sys.argv[1], path, "--fields"], capture_output=True, text=True,
                             check=True).stdout
    line = next((l for l in out.splitlines() if l.strip().startswith("incident_description")), "")
    print("1..1")
    # two of the three values match: "tree" or "branch", "voiture" among three
    ok = line.split()[-1:] == ["0.667"] and " P 0.667 " in line
    print(("ok" if ok else "not ok") + " 1 - a/b accepts either key, every key is needed: " +
          line.strip())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
