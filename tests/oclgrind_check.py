"""Runs one test program under Oclgrind, a simulated OpenCL GPU with real
work-group and barrier semantics, and fails on any diagnostic it reports
(data races, out-of-bounds or misaligned accesses, barrier divergence, failed
or invalid OpenCL API calls), even when the program itself passes: Oclgrind's
exit status stays 0 after most diagnostics, so its output is read instead.
Kernel diagnostics go to the --log file, but --check-api's reports ("Oclgrind -
OpenCL runtime error detected") still go to stderr, so both are scanned.

    oclgrind_check.py [--expect REGEX]... PROGRAM [ARG...]

The program runs with GPT2CL_TEST_SMALL=1 (small shapes, GPU-shaped kernel
parameters; tests/test_util.h) under `oclgrind --data-races --check-api`.
With --expect, the run must instead report diagnostics matching every REGEX
(the planted-bug check, tests/oclgrind_plant.c). Oclgrind's --uninitialized
plugin is left off: in Oclgrind 21.10 it aborts on LLVM's `freeze` instruction.

Exit status: 0 pass, 1 fail, 77 (meson's SKIP) when oclgrind is not installed.
Standard library only."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Lines of Oclgrind's diagnostics in the program's output (the tests themselves
# print "device: Oclgrind Simulator", which does not start a line with it).
DIAGNOSTIC = re.compile(r"^Oclgrind\b|data race|Invalid (read|write)|out-of-bounds|divergence|Uninitialized")
SHOW_LINES = 200  # of the diagnostics, enough for the first few reports


def main(argv):
    expect = []
    while len(argv) >= 2 and argv[0] == "--expect":
        expect.append(re.compile(argv[1]))
        argv = argv[2:]
    if not argv:
        sys.exit(__doc__)
    oclgrind = shutil.which("oclgrind")
    if not oclgrind:
        print("SKIP oclgrind is not installed (Debian: apt-get install oclgrind; scripts/setup.sh installs it)")
        return 77
    # Programs compiled from source, never the program cache's binaries, so reports quote kernel source lines.
    env = dict(os.environ, GPT2CL_TEST_SMALL="1", GPT2CL_PROGRAM_CACHE="0")
    with tempfile.TemporaryDirectory(prefix="gpt2cl-oclgrind-") as tmp:
        log_path = os.path.join(tmp, "oclgrind.log")
        cmd = [oclgrind, "--data-races", "--check-api", "--log", log_path] + argv
        print("running:", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace")
        log = open(log_path, errors="replace").read() if os.path.exists(log_path) else ""
    sys.stdout.write(proc.stdout)
    stray = [line for line in proc.stdout.splitlines() if DIAGNOSTIC.search(line)
             and not line.startswith("running:")]
    diagnostics = log.strip()
    if diagnostics:
        lines = diagnostics.splitlines()
        shown = "\n".join(lines[:SHOW_LINES])
        more = "\n... and %d more lines" % (len(lines) - SHOW_LINES) if len(lines) > SHOW_LINES else ""
        print("---- Oclgrind diagnostics ----\n%s%s\n---- end of Oclgrind diagnostics ----" % (shown, more))
    if expect:  # a planted bug: the program may fail, but Oclgrind must have reported each pattern
        missing = [e.pattern for e in expect if not e.search(log) and not e.search(proc.stdout)]
        if missing:
            print("FAIL Oclgrind did not report: %s" % ", ".join(missing))
            return 1
        print("ok   Oclgrind reported the planted bugs (%s)" % ", ".join(e.pattern for e in expect))
        return 0
    failed = False
    if proc.returncode != 0:
        print("FAIL %s exited with status %d under Oclgrind" % (argv[0], proc.returncode))
        failed = True
    if diagnostics:
        print("FAIL Oclgrind reported %d diagnostic line(s) (above)" % len(diagnostics.splitlines()))
        failed = True
    if stray:
        print("FAIL Oclgrind diagnostics in the program's output:\n  " + "\n  ".join(stray))
        failed = True
    if not failed:
        print("ok   %s under Oclgrind: no diagnostics" % os.path.basename(argv[0]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
