#!/usr/bin/env python3
"""Data-parallel training on this machine's CPU: tokens/s of contenders run side by side.

  python3 scripts/bench_ranks.py [--config FILE] [--steps N] [--rounds R] [key=value ...]

Contenders, alternated R times (the machine is shared: compare ratios within one run):
  one process, POCL with every core          ./build/gpt2cl train ...
  2 ranks, one POCL thread each              mpirun -np 2 ... (default balance)
  2 ranks, rank 1 sharing its core with a busy loop, balance = equal, then balance = auto
Each figure is the median over rounds of the mean tokens/s of steps 4..N (earlier steps hold
start-up and the first re-splits); the gradient sum's time per step comes from the progress line.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BIN = os.path.join(ROOT, "build", "gpt2cl")
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root"]
STEP = re.compile(r"^step +(\d+)/\d+ .*?\| ([\d.]+) tok/s")
SUM = re.compile(r", sum (\d+) ms")


def run(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        sys.exit("bench_ranks: %s failed:\n%s" % (" ".join(cmd), out[-2000:]))
    toks, sums = [], []
    for line in out.splitlines():
        m = STEP.match(line)
        if m and int(m.group(1)) >= 4:
            toks.append(float(m.group(2)))
            s = SUM.search(line)
            if s:
                sums.append(float(s.group(1)))
    return statistics.mean(toks), (statistics.mean(sums) if sums else None)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "default.ini"))
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    args, keys = ap.parse_known_args()
    if not shutil.which("mpirun"):
        sys.exit("bench_ranks: mpirun not found (scripts/setup.sh installs Open MPI)")
    train = ["train", "--config", args.config, "steps=%d" % args.steps, "out_dir=", "log=", "val_data=",
             "sample_every=0", "checkpoint_every=0"] + keys
    one_thread = ["-x", "POCL_MAX_PTHREAD_COUNT=1"]
    contenders = [
        ("1 process x %d threads" % os.cpu_count(), lambda: run([BIN] + train)),
        ("2 ranks x 1 thread", lambda: run(MPIRUN + ["-np", "2"] + one_thread + [BIN] + train)),
    ]
    for balance in ("equal", "auto"):
        # rank 0 alone on core 0; rank 1 on core 1 beside a busy loop, so it runs at about half speed
        cmd = (MPIRUN + one_thread + ["-np", "1", "taskset", "-c", "0", BIN] + train + ["balance=" + balance] +
               [":"] + one_thread + ["-np", "1", "taskset", "-c", "1", BIN] + train + ["balance=" + balance])
        contenders.append(("2 ranks, rank 1 slowed, balance = " + balance, lambda cmd=cmd: slowed(cmd)))
    results = {name: [] for name, _ in contenders}
    for r in range(args.rounds):
        for name, fn in contenders:
            results[name].append(fn())
            print("round %d: %-40s %8.0f tok/s%s" % (r + 1, name, results[name][-1][0],
                  "" if results[name][-1][1] is None else ", gradient sum %.0f ms/step" % results[name][-1][1]),
                  flush=True)
    base = statistics.median(t for t, _ in results[contenders[0][0]])
    print("\n| contender | tokens/s (median of %d) | vs 1 process | gradient sum ms/step |" % args.rounds)
    print("|---|---|---|---|")
    for name, _ in contenders:
        t = statistics.median(x for x, _ in results[name])
        sums = [s for _, s in results[name] if s is not None]
        print("| %s | %.0f | %.2fx | %s |" % (name, t, t / base, "%.0f" % statistics.median(sums) if sums else "-"))


def slowed(cmd):
    hog = subprocess.Popen(["taskset", "-c", "1", sys.executable, "-c", "while True: pass"])
    try:
        return run(cmd)
    finally:
        hog.kill()
        hog.wait()


if __name__ == "__main__":
    main()
