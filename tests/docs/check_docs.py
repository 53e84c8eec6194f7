#!/usr/bin/env python3
"""The documents the code cites exist and say what is cited.

Code comments cite the contract in docs/ by file and heading
(`docs/api.md, "Roles and scopes"`).  This check reads every tracked source
file, joins each comment's lines, and requires each cited file to exist and
each cited heading to be a heading of that file (or the start of one).  It
also requires docs/api.md to name every error id skrd can answer with
(include/skr/error.h), so the error table cannot fall behind the code.
"""
import os
import re
import subprocess
import sys

root = sys.argv[1]
failed = 0
passed = 0


def ok(cond, what):
    global failed, passed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL - " + what, file=sys.stderr)


def strip_md(text):
    text = re.sub(r"[`*_]", "", text)
    return " ".join(text.split())


headings = {}
docs = os.path.join(root, "docs")
for name in os.listdir(docs):
    if name.endswith(".md"):
        with open(os.path.join(docs, name), encoding="utf-8") as f:
            headings["docs/" + name] = [
                strip_md(line.lstrip("#")) for line in f
                if re.match(r"#{1,6} ", line)]
with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
    headings["README.md"] = [strip_md(line.lstrip("#")) for line in f
                             if re.match(r"#{1,6} ", line)]

files = subprocess.run(["git", "-C", root, "ls-files"], capture_output=True,
                       text=True, check=True).stdout.split()
cite = re.compile(r'(docs/[a-z0-9-]+\.md|README\.md),\s+"([^"]+)"')
mention = re.compile(r"\bdocs/([a-z0-9-]+\.md)\b")
for path in files:
    if not re.search(r"\.(c|h|sh|py|build|md|1|service)$", path):
        continue
    full = os.path.join(root, path)
    if not os.path.isfile(full):
        continue
    with open(full, encoding="utf-8", errors="replace") as f:
        text = f.read()
    # Join comment lines so a citation broken across lines is read whole.
    joined = re.sub(r"\n[ \t]*(\*|#|//)?[ \t]*", " ", text)
    for m in mention.finditer(text):
        ok("docs/" + m.group(1) in headings,
           "%s names docs/%s, which does not exist" % (path, m.group(1)))
    for m in cite.finditer(joined):
        doc, head = m.group(1), strip_md(m.group(2))
        if doc not in headings:
            continue
        ok(any(h == head or h.startswith(head) for h in headings[doc]),
           '%s cites %s, "%s": no such heading' % (path, doc, head))

with open(os.path.join(root, "include/skr/error.h"), encoding="utf-8") as f:
    ids = re.findall(r'X\([A-Z0-9_]+, "(SKR\.[A-Z0-9_.]+)"', f.read())
with open(os.path.join(root, "docs/api.md"), encoding="utf-8") as f:
    api = f.read()
ok(len(ids) > 50, "error ids read from include/skr/error.h")
for i in ids:
    if i.startswith(("SKR.CLIENT.", "SKR.TPM.")):
        continue  # client side: docs/libskr.md
    ok("`" + i + "`" in api, "docs/api.md does not list " + i)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
