#!/usr/bin/env python3
"""The sweep's overhead per run: `gpt2cl sweep` of N runs vs N `gpt2cl train` processes, on a config.

Usage: python3 tests/bench_sweep.py [--bin build/gpt2cl] [--config configs/default.ini] [--runs 3] [--rounds 2]
                                    [key=value ...]

Both sides train the same N runs (seeds seed, seed+1, ...; default steps=1, so start-up dominates: device,
compiled programs, tuning database, peak benchmark, data, the final validation and sample) into a
temporary folder, one run at a time; the contenders alternate, `--rounds` times. Prints the wall time of
each and the sweep's extra time per run.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time


def timed(cmds, cwd):
    t0 = time.monotonic()
    for c in cmds:
        subprocess.run(c, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.monotonic() - t0


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(root, "build", "gpt2cl"))
    ap.add_argument("--config", default=os.path.join(root, "configs", "default.ini"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("keys", nargs="*", default=["steps=1"])
    a = ap.parse_args()
    b, cfg = os.path.abspath(a.bin), os.path.abspath(a.config)
    seeds = [str(1337 + k) for k in range(a.runs)]
    tmp = tempfile.mkdtemp(prefix="gpt2cl_bench_sweep_")
    try:
        rows = []
        for r in range(a.rounds):
            sw = timed([[b, "sweep", "--config", cfg, "--grid", "seed=" + ",".join(seeds), "--out", "sw%d" % r]
                        + a.keys], tmp)
            tr = timed([[b, "train", "--config", cfg, "seed=" + s, "out_dir=t%d_%s" % (r, s),
                         "log=t%d_%s/log.jsonl" % (r, s)] + a.keys for s in seeds], tmp)
            rows.append((sw, tr))
            print("round %d: sweep of %d runs %.2f s, %d x train %.2f s, sweep - train = %+.2f s per run"
                  % (r + 1, a.runs, sw, a.runs, tr, (sw - tr) / a.runs))
        sw, tr = sum(x for x, _ in rows) / len(rows), sum(y for _, y in rows) / len(rows)
        print("mean: sweep %.2f s, train %.2f s, ratio %.3f, %+.2f s per run (%s)"
              % (sw, tr, sw / tr, (sw - tr) / a.runs, " ".join(a.keys)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
