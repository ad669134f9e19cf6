#!/usr/bin/env python3
"""Fails when a component includes (or links) another that the include graph does not allow.

Usage: check_include_graph.py SOURCE_DIR [GRAPH_FILE]

The graph is tests/arch/include_graph.txt (its header says the format). Every product source under the
graph's folders is scanned for `#include "<folder>/..."`; every violation is printed as
`file:line: <component> includes <component> ("path")`. The CMake targets are checked the same way:
a `target_link_libraries(minyi_x ...)` naming `minyi::y` is an edge from the folder that defines
minyi_x to the folder that defines minyi_y. Exit status 0 when clean, 1 on a violation, 2 on a bad graph.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
ADD_LIBRARY = re.compile(r"add_library\(\s*(minyi_\w+)(?!\s+ALIAS)", re.S)
LINK = re.compile(r"target_link_libraries\(\s*(minyi_\w+|minyi)\b([^)]*)\)", re.S)
LINKED = re.compile(r"\bminyi::(\w+)")
SOURCE_EXT = (".cc", ".h", ".cpp", ".hpp")


def read_graph(path):
    allowed = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if ":" not in line:
                sys.exit(f"{path}:{number}: expected '<component>: <components>'")
            name, targets = line.split(":", 1)
            name = name.strip().rstrip("/")
            if name in allowed:
                sys.exit(f"{path}:{number}: component '{name}' listed twice")
            allowed[name] = set(targets.split())
    for name, targets in allowed.items():
        for t in targets - {"*"}:
            if t not in allowed:
                sys.exit(f"{path}: '{name}' may include '{t}', which is not a component")
    return allowed


def component_of(path, components):
    """The longest listed folder `path` (relative, with /) lies in, or None."""
    best = None
    for c in components:
        if (path == c or path.startswith(c + "/")) and (best is None or len(c) > len(best)):
            best = c
    return best


def exempt(rel):
    name = os.path.basename(rel)
    return (name.endswith("_test.cc") or name.endswith("_for_test.h") or rel.startswith("tests/")
            or rel.startswith("bench/"))


def may_include(allowed, source, target):
    return target is None or target == source or "*" in allowed[source] or target in allowed[source]


def check_includes(root, allowed):
    problems = []
    for top in sorted({c.split("/")[0] for c in allowed}):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d not in ("node_modules", "build"))
            for name in sorted(filenames):
                if not name.endswith(SOURCE_EXT):
                    continue
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                if exempt(rel):
                    continue
                source = component_of(rel, allowed)
                with open(full, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = component_of(m.group(1), allowed)
                        if not may_include(allowed, source, target):
                            problems.append(f'{rel}:{number}: {source} includes {target} ("{m.group(1)}")')
    return problems


def check_links(root, allowed):
    """Edges between the folders whose CMakeLists.txt define the minyi_* libraries."""
    defined = {}  # minyi_x -> component of its CMakeLists.txt
    links = []  # (CMakeLists path, line, target, linked minyi:: names)
    for top in sorted({c.split("/")[0] for c in allowed}):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d not in ("node_modules", "build"))
            if "CMakeLists.txt" not in filenames:
                continue
            full = os.path.join(dirpath, "CMakeLists.txt")
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            component = component_of(os.path.dirname(rel), allowed)
            with open(full, encoding="utf-8") as f:
                text = f.read()
            for m in ADD_LIBRARY.finditer(text):
                defined[m.group(1)] = component
            for m in LINK.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                links.append((rel, line, m.group(1), LINKED.findall(m.group(2)), component))
    problems = []
    for rel, line, target, names, component in links:
        for name in names:
            linked = defined.get("minyi_" + name)
            if not may_include(allowed, component, linked):
                problems.append(f"{rel}:{line}: {target} ({component}) links minyi::{name} ({linked})")
    return problems


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = argv[1]
    graph = argv[2] if len(argv) > 2 else os.path.join(root, "tests", "arch", "include_graph.txt")
    allowed = read_graph(graph)
    problems = check_includes(root, allowed) + check_links(root, allowed)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} edge(s) outside the allowed graph ({os.path.relpath(graph, root)})")
        return 1
    print(f"include graph OK ({len(allowed)} components)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
