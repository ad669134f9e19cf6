#!/usr/bin/env python3
"""Fails when code or a README cites a document or a section that is not in the repository's docs/,
or points to a README section that does not exist.

Code comments and READMEs cite the project's documents as `docs/<name>.md`, optionally followed by
sections: `docs/methodology.md §3`, `§3.6`, `§3–§4`, `§4.2, §4.3`. A citation resolves when the file
exists in docs/ and every section number cited is the number of a heading in it (`## 3. …`,
`### 3.6 …`). Also refused, because a reader cannot follow them from a checkout:
  - a path to a docs/ folder outside the repository (an absolute path such as /srv/x/docs/a.md);
  - a bare document name (`methodology.md`) when no file of that name exists in the repository
    outside docs/ (README.md names a real file and is not a citation);
  - a shorthand (`methodology §3`, `Channels preamble`) for a document cited somewhere as `<name>.md`
    or present in docs/.
README sections are cited by their heading's text, or its beginning: `README "Questionnaires"`,
`tests/README.md "Fuzzing"`. With a path, that README (from the repository root or the citing file's
folder); without, the README of the citing file's folder or of one of its parents up to the top README.

Usage: check_doc_citations.py [SOURCE_DIR]   (default: the repository holding this script)
       check_doc_citations.py --self-test    (the rules above on small texts)
Exit status 0 when every citation resolves, 1 otherwise (one line per problem: file:line: reason).
Standard library only (Python 3), so the check runs wherever ctest runs.
"""
import os
import re
import sys

SCANNED_SUFFIXES = ('.cc', '.h', '.md', '.txt', '.cmake', '.R', '.sh', '.mjs', '.js', '.py')
SKIPPED_DIRS = {'.git', 'node_modules', 'corpus', 'fixtures'}

DOC_PATH = re.compile(r'([\w./-]*)docs/([\w-]+)\.md')
BARE_DOC = re.compile(r'(?<![\w/.-])([\w-]+)\.md\b')
SECTIONS = re.compile(r'\s*(§\s*\d+(?:\.\d+)*\.?(?:\s*(?:–|-|—|,|and|or)\s*§?\s*\d+(?:\.\d+)*\.?)*)')
SECTION_NUMBER = re.compile(r'\d+(?:\.\d+)*')
HEADING = re.compile(r'^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s', re.MULTILINE)
README_POINTER = re.compile(r'([\w./-]*)README(?:\.md)?(?:\'s)?\s+"([^"\n]+)"')


def section_numbers(doc_text):
    return set(HEADING.findall(doc_text))


def document_names(texts, docs):
    """The names that denote a document: the files of docs/, and every name cited as docs/<name>.md or
    as <name>.md followed by a section anywhere in the tree."""
    names = set(docs)
    for text in texts:
        names.update(m.group(2) for m in DOC_PATH.finditer(text))
        names.update(m.group(1) for m in BARE_DOC.finditer(text) if SECTIONS.match(text, m.end()))
    return names


def readme_candidates(path, prefix):
    """The READMEs a pointer in file `path` may mean, as repository-relative paths."""
    if prefix:
        return [os.path.normpath(prefix + 'README.md'),
                os.path.normpath(os.path.join(os.path.dirname(path), prefix + 'README.md'))]
    out = []
    folder = os.path.dirname(path)
    while folder:
        out.append(os.path.join(folder, 'README.md'))
        folder = os.path.dirname(folder)
    return out + ['README.md']


def check_text(path, text, docs, other_files, names, readme_headings=lambda readme: None):
    """Problems of one file's text. docs: name → set of section numbers (the files in docs/);
    other_files: basenames of the repository's files outside docs/; names: document_names();
    readme_headings: repository-relative README path → its headings' texts (None: no such file)."""
    problems = []

    def where(pos):
        return '%s:%d' % (path, text.count('\n', 0, pos) + 1)

    for m in DOC_PATH.finditer(text):
        prefix, name = m.group(1), m.group(2)
        if prefix.startswith('/'):
            problems.append('%s: %s is outside the repository (documents the code cites live in docs/)' %
                            (where(m.start()), m.group(0)))
            continue
        if name not in docs:
            problems.append('%s: docs/%s.md does not exist' % (where(m.start()), name))
            continue
        s = SECTIONS.match(text, m.end())
        if s:
            for number in SECTION_NUMBER.findall(s.group(1)):
                if number not in docs[name]:
                    problems.append('%s: docs/%s.md has no section %s' % (where(m.start()), name, number))
    for m in BARE_DOC.finditer(text):
        name = m.group(1)
        if name + '.md' in other_files or name not in names:
            continue
        hint = 'cite docs/%s.md' % name if name in docs else 'no such document in docs/'
        problems.append('%s: %s.md without its path (%s)' % (where(m.start()), name, hint))
    for m in README_POINTER.finditer(text):
        prefix, section = m.group(1), m.group(2)
        readmes = readme_candidates(path, prefix)
        if not any(any(h.startswith(section) for h in (readme_headings(r) or [])) for r in readmes):
            problems.append('%s: no section "%s" in %s' % (where(m.start()), section, ' or '.join(readmes)))
    if names:
        alternatives = '|'.join(re.escape(n) for n in sorted(names))
        shorthand = re.compile(r'(?<![\w/.-])(%s)\s*(§|preamble\b)' % alternatives, re.IGNORECASE)
        for m in shorthand.finditer(text):
            problems.append('%s: "%s" is a shorthand; cite docs/%s.md with its section' %
                            (where(m.start()), m.group(0), m.group(1).lower()))
    return problems


def check_tree(root, skip_file):
    docs_dir = os.path.join(root, 'docs')
    docs = {}
    if os.path.isdir(docs_dir):
        for entry in sorted(os.listdir(docs_dir)):
            if entry.endswith('.md'):
                with open(os.path.join(docs_dir, entry), encoding='utf-8') as f:
                    docs[entry[:-3]] = section_numbers(f.read())
    files = []
    other_files = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        # Build trees are not sources: any top-level directory holding a CMakeCache.txt.
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and
                             not os.path.exists(os.path.join(dirpath, d, 'CMakeCache.txt')))
        for name in sorted(filenames):
            if rel_dir != 'docs':
                other_files.add(name)
            if name.endswith(SCANNED_SUFFIXES) or name == 'CMakeLists.txt':
                files.append(os.path.join(dirpath, name))
    texts = {}
    for path in files:
        if os.path.abspath(path) == os.path.abspath(skip_file):
            continue
        try:
            with open(path, encoding='utf-8') as f:
                texts[os.path.relpath(path, root)] = f.read()
        except UnicodeDecodeError:
            continue
    names = document_names(texts.values(), docs)
    headings = {}

    def readme_headings(readme):
        if readme not in headings:
            full = os.path.join(root, readme)
            headings[readme] = None
            if os.path.isfile(full):
                with open(full, encoding='utf-8') as f:
                    headings[readme] = [line.lstrip('#').strip() for line in f if line.startswith('#')]
        return headings[readme]

    problems = []
    for path, text in texts.items():
        problems += check_text(path, text, docs, other_files, names, readme_headings)
    return problems


def self_test():
    docs = {'methodology': {'1', '3', '3.2', '4'}, 'channels': {'2', '2.4'}}
    others = {'README.md', 'RESULTS.md'}
    readmes = {'README.md': ['minyi (民意)', 'The two commands', 'Questionnaires (问卷星, 腾讯问卷)'],
               'tests/README.md': ['tests', 'Fuzzing (`fuzz/`)']}
    cases = [
        ('// weights (docs/methodology.md §3.2)', 0),
        ('// docs/methodology.md §3–§4 and docs/channels.md §2.4.', 0),
        ('see [README.md](README.md) and bench/RESULTS.md', 0),
        ('[methodology](../docs/methodology.md)', 0),
        ('// docs/methodology.md §5', 1),            # no such section
        ('// docs/methodology.md §3–§7', 1),         # the end of a range is checked too
        ('// docs/channels.md §2.4, §2.9', 1),       # so is every number of a list
        ('// docs/environment.md', 1),               # no such document
        ('// see /work/x/docs/methodology.md', 1),   # outside the repository
        ('// (methodology.md §3)', 1),               # bare name: where is it?
        ('// methodology §3', 1),                    # shorthand
        ('// (Methodology preamble)', 1),
        ('// RFC 9110 §5.3; Higham, §10.3', 0),      # other references are not ours to check
        ('out << "cb.md"; // a file the code writes', 0),
        ('// (channels.md)', 1),                     # a document's name without its path
        ('# Keep in sync with README "The two commands".', 0),
        ('# Keep in sync with README "Set-up".', 1),           # no such heading
        ('// format in README "Questionnaire exports"', 1),
        ('see tests/README.md "Fuzzing"', 0),                # a README named by its path
        ('see tests/README.md "The two commands"', 1),       # ... and only that one
        ('README.md "Questionnaires", Limits', 0),
    ]
    failures = 0
    for text, expected in cases:
        got = check_text('cli/case.cc', text, docs, others, document_names([text], docs), readmes.get)
        if len(got) != expected:
            failures += 1
            print('self-test: %r: expected %d problem(s), got %r' % (text, expected, got))
    print('self-test: %d of %d cases as expected' % (len(cases) - failures, len(cases)))
    return 1 if failures else 0


def main(argv):
    if len(argv) > 1 and argv[1] == '--self-test':
        return self_test()
    here = os.path.abspath(__file__)
    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(here)))
    problems = check_tree(root, here)
    for p in problems:
        print(p)
    print('%d unresolved citation(s)' % len(problems))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
