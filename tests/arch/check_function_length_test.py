#!/usr/bin/env python3
"""Self-test of check_function_length.py on a throw-away tree: a long function is reported with file:line
and its length, braces in comments, strings, raw strings and character literals do not count, a member
function defined in a class is found, tests are exempt, the allow-list silences an entry and an entry that
is no longer long fails."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check_function_length.py")


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def run(root, limit):
    p = subprocess.run([sys.executable, CHECK, root, str(limit), os.path.join(root, "allow.txt")],
                       capture_output=True, text=True)
    return p.returncode, p.stdout


def body(lines):
    return "".join(f"  x += {i};\n" for i in range(lines))


def main():
    failures = []
    with tempfile.TemporaryDirectory() as root:
        write(root, "allow.txt", "")
        # Long: its name, {, 10 + 2 lines and } = 15 lines, with braces hidden in a comment, strings and literals.
        write(root, "core/a.cc",
              "namespace minyi {\nnamespace {\n\n"
              "int Long(int x)\n{\n" + body(10) +
              '  const char* s = "}}}"; // }\n  const char c = \'}\'; /* } */ auto r = R"x(})x";\n'
              "}\n\n}  // namespace\n\n"
              "int Short(int x) {\n" + body(3) + "}\n}  // namespace minyi\n")
        write(root, "collector/b.h",
              "#define OPEN {\nclass Widget {\n public:\n  int Member(int x) const {\n" + body(12) +
              "    return x;\n  }\n};\n")
        write(root, "collector/b_test.cc", "void LongTest() {\n" + body(40) + "}\n")
        rc, out = run(root, 12)
        if rc != 1:
            failures.append(f"long functions: exit {rc}, expected 1\n{out}")
        for expected in ["core/a.cc:4: Long is 15 lines, over 12", "collector/b.h:4: Member is 15 lines, over 12"]:
            if expected not in out:
                failures.append(f"missing '{expected}' in:\n{out}")
        for unexpected in ["Short", "LongTest"]:
            if unexpected in out:
                failures.append(f"'{unexpected}' reported:\n{out}")
        write(root, "allow.txt", "core/a.cc Long  # a reason\ncollector/b.h Member  # another\n")
        rc, out = run(root, 12)
        if rc != 0:
            failures.append(f"allowed: exit {rc}, expected 0\n{out}")
        rc, out = run(root, 15)
        if rc != 1 or "core/a.cc Long is no longer over 15 lines" not in out:
            failures.append(f"a stale allow-list entry: exit {rc}, expected 1 naming it\n{out}")
        write(root, "allow.txt", "core/a.cc Long\n")
        rc, out = run(root, 12)
        if rc == 0:
            failures.append("an allow-list entry without its reason was accepted")
    for f in failures:
        print(f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
