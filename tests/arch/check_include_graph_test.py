#!/usr/bin/env python3
"""Self-test of check_include_graph.py on a throw-away tree: a forbidden include and a forbidden link are
reported with file:line, tests are exempt, and a clean tree passes."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check_include_graph.py")
GRAPH = "core:\nexports: core\ndashboards: core exports\ncli: *\n"


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def run(root):
    p = subprocess.run([sys.executable, CHECK, root, os.path.join(root, "graph.txt")], capture_output=True, text=True)
    return p.returncode, p.stdout


def main():
    failures = []
    with tempfile.TemporaryDirectory() as root:
        write(root, "graph.txt", GRAPH)
        write(root, "core/a.h", '#include "core/b.h"\n')
        write(root, "dashboards/d.cc", '#include "exports/e.h"\n#include "core/a.h"\n')
        write(root, "exports/e.h", "// nothing\n")
        write(root, "exports/e_test.cc", '#include "dashboards/d.h"\n')  # tests are exempt
        write(root, "cli/main.cc", '#include "dashboards/d.h"\n#include "exports/e.h"\n')
        write(root, "exports/CMakeLists.txt", "add_library(minyi_exports e.cc)\n"
              "target_link_libraries(minyi_exports PUBLIC minyi::core)\n")
        write(root, "dashboards/CMakeLists.txt", "add_library(minyi_dashboards d.cc)\n")
        rc, out = run(root)
        if rc != 0:
            failures.append(f"clean tree: exit {rc}\n{out}")
        write(root, "exports/e.cc", '// x\n#include "dashboards/d.h"\n')
        write(root, "exports/CMakeLists.txt", "add_library(minyi_exports e.cc)\n"
              "target_link_libraries(minyi_exports\n  PRIVATE minyi::dashboards)\n")
        rc, out = run(root)
        if rc != 1:
            failures.append(f"forbidden edges: exit {rc}, expected 1")
        for expected in ['exports/e.cc:2: exports includes dashboards ("dashboards/d.h")',
                         "exports/CMakeLists.txt:2: minyi_exports (exports) links minyi::dashboards (dashboards)"]:
            if expected not in out:
                failures.append(f"missing '{expected}' in:\n{out}")
        if "e_test.cc" in out:
            failures.append(f"a test file was checked:\n{out}")
    for f in failures:
        print(f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
