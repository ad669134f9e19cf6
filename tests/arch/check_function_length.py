#!/usr/bin/env python3
"""Fails when a product function is longer than the limit and not on the allow-list.

Usage: check_function_length.py SOURCE_DIR [LIMIT] [ALLOW_FILE]

A function is read top to bottom in one sitting: about 150 lines at most (issue 17). Every product
source (.cc/.h) of core/ collector/ aggregator/ exports/ dashboards/ sql/ cli/ is scanned (tests, bench,
fuzz and node_modules exempt). A function's length counts its lines from the first line of its
declaration to its closing brace, lambdas inside it included. The allow-list (function_length_allow.txt)
names the functions that stay longer, one `path name  # why` a line; an entry that no longer exceeds the
limit is reported too, so the list only shrinks. Exit status 0 when clean, 1 otherwise.

Why a brace scan and not clang's AST: the AST needs every third-party header and the build's flags; a scan
of the text after removing comments, strings and preprocessor lines finds the same function bodies in this
code base in well under a second (checked against Universal Ctags' `end:` field when this was written).
"""
import os
import re
import sys

FOLDERS = ("core", "collector", "aggregator", "exports", "dashboards", "sql", "cli")
SOURCE_EXT = (".cc", ".h", ".cpp", ".hpp")
SCOPE = re.compile(r"\b(namespace|class|struct|union|enum)\b")
ACCESS = re.compile(r"\s*(?:public|protected|private)\s*:(?!:)\s*")
NAME = re.compile(r"((?:[A-Za-z_]\w*\s*::\s*)*~?[A-Za-z_]\w*|operator\s*[^\s(]+)\s*\($")


def exempt(rel):
    name = os.path.basename(rel)
    parts = rel.split("/")
    return (name.endswith("_test.cc") or name.endswith("_for_test.h") or "fuzz" in parts
            or "node_modules" in parts or "build" in parts)


def blank_out(text):
    """`text` with comments, string and character literals and preprocessor lines replaced by spaces,
    newlines kept, so that offsets still give line numbers and braces inside them do not count."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "#":
            # A preprocessor line, with its continuations.
            j = i
            while j < n and (text[j] != "\n" or text[j - 1] == "\\"):
                j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        if c == "\n":
            line_start = True
            out.append(c)
            i += 1
            continue
        if not c.isspace():
            line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif c == "R" and text.startswith('"', i + 1) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")) or (
                c in "uUL8" and re.match(r'(?:u8|u|U|L)R"', text[i:i + 4])
                and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_"))):
            q = text.find('"', i)
            p = text.find("(", q)
            delim = ")" + text[q + 1:p] + '"'
            j = text.find(delim, p)
            j = n if j < 0 else j + len(delim)
        elif c == '"' or (c == "'" and not in_number(text, i)):
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
        else:
            out.append(c)
            i += 1
            continue
        out.append(re.sub(r"[^\n]", " ", text[i:j]))
        i = j
    return "".join(out)


def in_number(text, i):
    """Whether the quote at `i` is a digit separator (1'000'000, 0xFF'FF) rather than opening a literal."""
    k = i
    while k > 0 and (text[k - 1].isalnum() or text[k - 1] in "_'"):
        k -= 1
    return k < i and text[k].isdigit()


def functions(text):
    """(name, first line, last line) of each function body at namespace or class scope of `text`."""
    code = blank_out(text)
    found = []
    header_start = 0  # offset just after the last ; { or } at the current scope level
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if c in ";}":
            header_start = i + 1
        elif c == "{":
            header = code[header_start:i]
            flat = " ".join(header.split())
            if SCOPE.search(flat) and not flat.endswith(")") and "(" not in flat.split(SCOPE.search(flat).group(1), 1)[0]:
                # namespace, class, struct, union, enum: their members are at scope level too.
                header_start = i + 1
            else:
                close = matching_brace(code, i)
                if "(" in flat and not flat.rstrip().endswith("=") and not re.search(r"=\s*$", flat):
                    access = ACCESS.match(header)  # `private:` before a member function
                    skip = access.end() if access else len(header) - len(header.lstrip())
                    start = header_start + skip
                    first = code.count("\n", 0, start) + 1
                    last = code.count("\n", 0, close) + 1
                    found.append((function_name(flat), first, last))
                i = close
                header_start = close + 1
        i += 1
    return found


def matching_brace(code, open_at):
    depth = 0
    for j in range(open_at, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(code) - 1


def function_name(header):
    """The name before the parameter list: `ns::Type::Name` of `Result<T> ns::Type::Name(int a) const`."""
    depth = 0
    for k, ch in enumerate(header):
        if ch in "<":
            depth += 1
        elif ch == ">" and depth > 0:
            depth -= 1
        elif ch == "(" and depth == 0:
            m = NAME.search(header[:k + 1])
            if m:
                name = re.sub(r"\s+", "", m.group(1))
                if name not in ("if", "for", "while", "switch", "catch", "return"):
                    return name
    return header[:60]


def scan(root):
    """[(path, name, lines)] of every function of the product sources under root."""
    result = []
    for top in FOLDERS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d not in ("node_modules", "build"))
            for name in sorted(filenames):
                if not name.endswith(SOURCE_EXT):
                    continue
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                if exempt(rel):
                    continue
                with open(full, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for fname, first, last in functions(text):
                    result.append((rel, fname, first, last - first + 1))
    return result


def read_allow(path):
    allowed = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            entry, _, why = line.partition("#")
            entry = entry.strip()
            if not entry:
                continue
            parts = entry.split()
            if len(parts) != 2 or not why.strip():
                sys.exit(f"{path}:{number}: expected '<path> <function>  # why it stays longer'")
            allowed[(parts[0], parts[1])] = number
    return allowed


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = argv[1]
    limit = int(argv[2]) if len(argv) > 2 else 150
    allow_file = argv[3] if len(argv) > 3 else os.path.join(root, "tests", "arch", "function_length_allow.txt")
    allowed = read_allow(allow_file) if os.path.exists(allow_file) else {}
    problems = []
    long_ones = set()
    for rel, name, first, lines in scan(root):
        if lines <= limit:
            continue
        long_ones.add((rel, name))
        if (rel, name) in allowed:
            print(f"{rel}:{first}: {name} is {lines} lines (allowed)")
        else:
            problems.append(f"{rel}:{first}: {name} is {lines} lines, over {limit}")
    for (rel, name), number in sorted(allowed.items(), key=lambda kv: kv[1]):
        if (rel, name) not in long_ones:
            problems.append(f"{os.path.relpath(allow_file, root)}:{number}: {rel} {name} is no longer over "
                            f"{limit} lines (or gone): remove it from the allow-list")
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s): split the function along a natural seam, or list it with the reason")
        return 1
    print(f"function length OK (limit {limit}, {len(long_ones)} allowed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
