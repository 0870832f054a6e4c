#!/usr/bin/env python3
"""Fails when a public symbol of the named modules has no doc comment.

Reads the symbol graphs that `swift package generate-documentation` extracted under .build/. Symbols the compiler
synthesizes (no source location: Hashable's hash(into:), inherited collection methods) and extensions of other
modules' types (documented at their members) are skipped. scripts/doc-coverage-known.txt lists symbols known to be
undocumented in files another change owns; a listed symbol that gets documented must leave the list.
"""
import glob
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
known = set()
with open(os.path.join(here, "doc-coverage-known.txt")) as f:
    known = {line.strip() for line in f if line.strip() and not line.startswith("#")}

missing, total = set(), 0
for module in sys.argv[1:]:
    files = glob.glob(f".build/*/extracted-symbols/*/{module}/*.symbols.json")
    if not files:
        sys.exit(f"doc coverage: no symbol graph for {module}; run generate-documentation first")
    for path in files:
        for symbol in json.load(open(path))["symbols"]:
            if symbol.get("accessLevel") not in ("public", "open") or "location" not in symbol:
                continue
            if symbol["kind"]["identifier"] == "swift.extension":
                continue
            total += 1
            if not symbol.get("docComment"):
                missing.add(f"{module}.{'.'.join(symbol['pathComponents'])}")

unexpected = sorted(missing - known)
stale = sorted(known - missing)
for name in unexpected:
    print(f"doc coverage: public symbol without a doc comment: {name}")
for name in stale:
    print(f"doc coverage: {name} is documented now: remove it from scripts/doc-coverage-known.txt")
print(f"doc coverage: {total - len(missing)} of {total} public symbols documented ({len(missing & known)} known gaps)")
sys.exit(1 if unexpected or stale else 0)
