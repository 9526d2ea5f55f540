"""What the Python tests share (standard library only): where the binary and
the source tree are, and a PASS/FAIL tally that ends in `N passed, N failed`."""
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.abspath(os.environ.get("GPT2CL_SOURCE_ROOT",
                                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")))
BIN = os.path.abspath(os.environ.get("GPT2CL_BIN", os.path.join(ROOT, "build", "gpt2cl")))
GPL = "/usr/share/common-licenses/GPL-3"  # a text every Debian machine has
tally = {"passed": 0, "failed": 0}


def data_dir():
    """gpt2cl's data folder, as the binary finds it (src/util/util.c)."""
    if os.environ.get("GPT2CL_DATA"):
        return os.environ["GPT2CL_DATA"]
    xdg = os.environ.get("XDG_DATA_HOME") or os.path.join(os.environ["HOME"], ".local", "share")
    return os.path.join(xdg, "gpt2cl")


def report(ok, name, detail, width=34):
    tally["passed" if ok else "failed"] += 1
    print("%s %-*s %s" % ("PASS" if ok else "FAIL", width, name, detail))
    sys.stdout.flush()


def require_binary(test):
    if not os.access(BIN, os.X_OK):
        sys.exit("%s: gpt2cl binary %r not found (set GPT2CL_BIN)" % (test, BIN))


def summary(test, extra=""):
    """Prints the tally; returns the exit status."""
    print("%s: %d passed, %d failed%s" % (test, tally["passed"], tally["failed"], extra))
    return 1 if tally["failed"] else 0


def run_in_temp_folder(test, cases):
    """Runs cases(tmp) in a fresh temporary folder, removed afterwards; returns the exit status."""
    require_binary(test)
    tmp = tempfile.mkdtemp(prefix="gpt2cl_%s_" % test)
    t0 = time.monotonic()
    try:
        cases(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary(test, " (%.1f s)" % (time.monotonic() - t0))


def write_ini(path, **keys):
    """A config file of key = value lines; returns its path."""
    with open(path, "w") as f:
        for k, v in keys.items():
            f.write("%s = %s\n" % (k, v))
    return path
