#!/usr/bin/env python3
"""Reports cycles between the top-level modules of each crate (`crate::x` references
outside test modules), for ARCHITECTURE.md's "no module cycle". Exit 1 on a cycle.

    python3 scripts/module_cycles.py
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
found = False
for lib in sorted(root.glob("crates/*/src/lib.rs")) + [root / "src/lib.rs"]:
    src = lib.parent
    modules = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src)
        top = rel.parts[0].removesuffix(".rs")
        if top in ("lib", "main", "bin"):
            continue
        text = f.read_text()
        text = text.split("#[cfg(test)]")[0]
        # Doc links and comments name modules without depending on them.
        text = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("//"))
        if rel.name == "tests.rs":
            continue
        refs = set(re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", text))
        modules.setdefault(top, set()).update(refs)
    names = set(modules)
    graph = {m: {r for r in refs if r in names and r != m} for m, refs in modules.items()}
    # Tarjan-free: a cycle exists iff some module reaches itself.
    def reaches(a, b, seen):
        for n in graph.get(a, ()):
            if n == b:
                return True
            if n not in seen:
                seen.add(n)
                if reaches(n, b, seen):
                    return True
        return False
    crate = lib.parent.parent.name
    cycles = sorted(m for m in graph if reaches(m, m, set()))
    if cycles:
        found = True
        print(f"{crate}: modules in a cycle: {', '.join(cycles)}")
        for m in cycles:
            print(f"  {m} -> {', '.join(sorted(graph[m]))}")
    else:
        print(f"{crate}: no module cycle ({len(graph)} modules)")
sys.exit(1 if found else 0)
