#!/usr/bin/env python3
"""The library's layers: every #include of src/ and tune/ goes down a layer or stays in its folder.

cli -> train -> model -> runtime -> util, text -> util, and tune -> runtime. A folder may include
only folders of a lower rank, so no include goes up and no two folders include each other.
And errors are values: outside src/cli/ no code calls die(, exit(, _exit( or abort( but the
fatal exits of ALLOWED_EXITS.
Prints the include graph by folder; exits 1 on any include that breaks the order or any such call.
"""
import collections
import os
import re
import sys
import tempfile

RANK = {"util": 0, "runtime": 1, "text": 1, "model": 2, "tune": 2, "train": 3, "cli": 4}
ROOT = os.environ.get("GPT2CL_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
EXIT_CALL = re.compile(r'(?<![\w.>])(die|exit|_exit|abort)\s*\(')
# (file, function) of the library's fatal exits: util's die (the command layer's one
# exit, defined in util so that the tests share it), out_of_memory (host memory
# is gone) and internal_error (a bug, not an input), with comm_abort, their way out that
# stops every rank of an MPI run at once; and the tuner's watchdog,
# which ends a tune at its --budget while the search may be inside CLBlast or
# the OpenCL compiler.
ALLOWED_EXITS = {("src/util/util.c", "die"), ("src/util/util.c", "out_of_memory"),
                 ("src/util/util.c", "internal_error"), ("src/util/comm_mpi.c", "comm_abort"),
                 ("src/util/comm_single.c", "comm_abort"), ("tune/tuner.c", "watchdog")}
# Comments, string and character literals (replaced by blanks, keeping the lines).
NOT_CODE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def folder_of(rel):
    """The layer of a path relative to the root (src/model/x.c -> model, tune/x.c -> tune), else None."""
    parts = rel.split("/")
    if parts[0] == "tune" and len(parts) == 2:
        return "tune"
    if parts[0] == "src" and len(parts) == 3:
        return parts[1]
    return None


def sources(root):
    for top in ("src", "tune"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if n.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, n), root)


def blank(m):
    return "".join(c if c == "\n" else " " for c in m.group(0))


def exit_calls(rel, text):
    """The calls of die/exit/_exit/abort in function bodies of a file, but those ALLOWED_EXITS lets be."""
    problems = []
    depth, function = 0, None
    for n, line in enumerate(NOT_CODE.sub(blank, text).split("\n"), 1):
        if depth == 0:
            named = re.match(r"[A-Za-z_][^;=]*?\b(\w+)\s*\(", line)  # a definition's first line
            if named:
                function = named.group(1)
        else:
            for call in EXIT_CALL.findall(line):
                if (rel, function) not in ALLOWED_EXITS:
                    problems.append("%s:%d: %s() calls %s( outside src/cli/: return a Status (util/status.h), or "
                                    "call out_of_memory / internal_error" % (rel, n, function, call))
        depth += line.count("{") - line.count("}")
    return problems


def check(root):
    """(include graph by folder, problems) of the tree at root."""
    graph = collections.defaultdict(collections.Counter)
    problems = []
    for rel in sources(root):
        if rel.startswith("src/tools/"):  # build tools (the kernel embedder) are not part of the library
            continue
        here = folder_of(rel)
        if here not in RANK:
            problems.append("%s: not in a layer folder (%s)" % (rel, ", ".join(sorted(RANK))))
            continue
        text = open(os.path.join(root, rel)).read()
        if here != "cli":
            problems.extend(exit_calls(rel, text))
        for inc in INCLUDE.findall(text):
            if "/" not in inc:
                problems.append("%s: #include \"%s\" names no layer (write \"folder/%s\")" % (rel, inc, inc))
                continue
            there = inc.split("/")[0]
            if there not in RANK:
                problems.append("%s: #include \"%s\": unknown folder" % (rel, inc))
                continue
            if not os.path.exists(os.path.join(root, "src", inc)) and not os.path.exists(os.path.join(root, inc)):
                problems.append("%s: #include \"%s\": no such header" % (rel, inc))
            if there != here:
                graph[here][there] += 1
                if RANK[there] >= RANK[here]:
                    problems.append("%s: #include \"%s\" goes from %s (rank %d) to %s (rank %d)" %
                                    (rel, inc, here, RANK[here], there, RANK[there]))
    return graph, problems


def self_check():
    """The checker finds what it must: an include up a layer, one between folders of a rank, a bare name,
    an exit in library code (not one in a comment, a string, a declaration or an allowed function)."""
    with tempfile.TemporaryDirectory() as tmp:
        files = {"src/util/u.h": "", "src/model/m.h": '#include "train/t.h"\n', "src/train/t.h": '#include "util/u.h"\n',
                 "src/text/x.h": '#include "runtime/r.h"\n', "src/runtime/r.h": '#include "u.h"\n',
                 "src/train/y.c": 'int f(int x) {\n    if (x) {\n        exit(1);\n    }\n    return atexit(NULL);\n}\n',
                 "src/util/util.c": 'void die(const char *m);  // die("x")\n'
                                    'void internal_error(const char *m) {\n    puts("abort(");\n    abort();\n}\n'}
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
            with open(os.path.join(tmp, rel), "w") as f:
                f.write(text)
        found = sorted(p.split(":")[0] for p in check(tmp)[1])
    want = ["src/model/m.h", "src/runtime/r.h", "src/text/x.h", "src/train/y.c"]
    return found == want, "self-check: planted problems found in %s (want %s)" % (found, want)


def main():
    ok, line = self_check()
    print(("PASS " if ok else "FAIL ") + line)
    graph, problems = check(ROOT)
    if not ok:
        problems.append("the checker missed a planted problem")
    print("include graph by folder (includes of each folder into the others):")
    for here in sorted(RANK, key=lambda f: (-RANK[f], f)):
        print("  %-8s -> %s" % (here, ", ".join("%s (%d)" % (t, n) for t, n in sorted(graph[here].items())) or "-"))
    for p in problems:
        print("FAIL " + p)
    print("test_layering: %d problem(s): includes out of order, exits outside src/cli/" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
