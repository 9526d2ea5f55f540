#!/usr/bin/env python3
"""`gpt2cl sweep`, the per-layer measurements and scripts/plot_study.py (python3 + matplotlib).

A 2 x 2 grid of tiny runs on GPL-3 bytes: lr 3e-3 and 10 (which must diverge: diverge_loss = 8) times
warmup_frac 0 and 0.2, 150 steps, checkpoints every 25, measurements every 25 with grad_accum 2.
  sweep_lock              a second sweep on the running sweep's folder is refused (exit 1, names the lock)
  sweep_killed            SIGKILL of the sweep during its second run (after that run's step-25 checkpoint)
                          leaves no run process behind (the rerun may take every run folder's lock)
  sweep_resumed           the rerun skips the finished first run (its result.json and train.out untouched),
                          resumes the second from its checkpoint ("resumed from" in its train.out), trains the
                          rest, and reports 1 done before
  sweep_results           results.jsonl and results.csv hold the 4 runs: the lr 10 ones diverged at step
                          <= 3 with no final validation loss, the others finished all steps with a finite one
  sweep_rerun_noop        a third run of the same command trains nothing (4 done before)
  sweep_grid_grows        a grid with a third lr adds exactly its 2 runs, trained 2 at once (--jobs 2)
  sweep_base_changed      the same folder with another base config is refused
  per_layer_pools         in every measured step of a finished run, per-layer l2, rel, angle, angle_rows, rrc,
                          cos_gm and m_over_g pooled again (from the per-layer norms) equal the pooled values
                          to 1e-5 (relative; the device sums them in another order), vector tensors included
  plots                   plot_study.py writes every PNG (PNG signature, > 5 KB), an index.html that
                          references each of them, and summary.md with a row per lr of the grid (the lr 10
                          runs diverged) and the measurements of the finished pair
"""
import json
import math
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import make_shard  # noqa: E402
from harness import BIN, GPL, ROOT, report  # noqa: E402

BASE = dict(n_layer=2, n_head=4, n_embd=32, block_size=32, vocab_size=257, batch_size=4, seq_len=32, grad_accum=2,
            steps=150, train_data="train.bin", val_data="val.bin", val_every=50, val_steps=2, schedule="trapezoid",
            checkpoint_every=25, metrics_every=25, diverge_loss=8)
GRID = ["--grid", "lr=3e-3,10", "--grid", "warmup_frac=0,0.2"]
FIGURES = ["fig1_lr_warmup", "loss_curves", "angle_per_layer", "l2_update", "snr", "optimizers"]


def sweep(tmp, args, **kw):
    return subprocess.run([BIN, "sweep", "--config", "base.ini", "--out", "sw"] + args, cwd=tmp,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, **kw)


def wait_for(cond, timeout=120):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return True
        time.sleep(0.01)
    return False


def kill_during_second_run(tmp):
    """Starts the sweep, tries a second sweep on its folder, kills the first during its second run."""
    first, second = os.path.join(tmp, "sw", "lr=3e-3,warmup_frac=0"), os.path.join(tmp, "sw", "lr=3e-3,warmup_frac=0.2")
    p = subprocess.Popen([BIN, "sweep", "--config", "base.ini", "--out", "sw"] + GRID, cwd=tmp,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = wait_for(lambda: os.path.exists(os.path.join(tmp, "sw", "sweep.ini")))
    other = sweep(tmp, GRID)
    out = other.stdout.decode()
    report(ok and other.returncode == 1 and "in use" in out and "train.lock" in out, "sweep_lock",
           "second sweep: exit %d, %s" % (other.returncode, out.strip()[-160:]))
    # the state file is written after the model: with it the checkpoint is complete
    ok = wait_for(lambda: os.path.exists(os.path.join(second, "state_00000025.bin")))
    done_before = os.path.exists(os.path.join(second, "result.json"))
    p.send_signal(signal.SIGKILL)
    p.wait()
    return ok and not done_before, first, second


def check_kill_and_resume(tmp):
    killed, first, second = kill_during_second_run(tmp)
    stamp = {f: os.stat(os.path.join(first, f)).st_mtime_ns for f in ("result.json", "train.out", "log.jsonl")}
    # The runs' processes die with the sweep: every run lock is free again shortly after.
    free = wait_for(lambda: subprocess.run(["flock", "-n", os.path.join(second, "train.lock"), "true"]).returncode == 0,
                    timeout=10)
    report(killed and free, "sweep_killed", "killed during run 2 after its checkpoint: %s; run locks free: %s"
           % (killed, free))
    p = sweep(tmp, GRID)
    out = p.stdout.decode()
    same = all(os.stat(os.path.join(first, f)).st_mtime_ns == t for f, t in stamp.items())
    with open(os.path.join(second, "train.out")) as f:
        resumed = "resumed from" in f.read()
    report(p.returncode == 0 and "1 done before" in out and same and resumed, "sweep_resumed",
           "exit %d, first run untouched: %s, second resumed: %s" % (p.returncode, same, resumed))
    if p.returncode:
        print(out)


def check_results(tmp):
    rows = [json.loads(line) for line in open(os.path.join(tmp, "sw", "results.jsonl"))]
    with open(os.path.join(tmp, "sw", "results.csv")) as f:
        csv_lines = f.read().splitlines()
    good = len(rows) == 4 and len(csv_lines) == 5
    for r in rows:
        if r["lr"] == 10:
            good &= r["diverged"] and r["outcome"] == "diverged" and 1 <= r["diverged_step"] <= 3 \
                and r["final_val_loss"] is None
        else:
            good &= not r["diverged"] and r["steps_trained"] == 150 and math.isfinite(r["final_val_loss"]) \
                and r["best_val_loss"] <= r["final_val_loss"] + 1e-9 and r["tokens_per_s"] > 0
    report(good, "sweep_results", "; ".join("%s %s val %s" % (r["name"], r["outcome"], r["final_val_loss"])
                                             for r in rows))


def check_reruns(tmp):
    p = sweep(tmp, GRID)
    out = p.stdout.decode()
    report(p.returncode == 0 and "4 done before, 0 to train" in out, "sweep_rerun_noop", out.splitlines()[0])
    p = sweep(tmp, ["--jobs", "2", "--grid", "lr=3e-3,10,1e-3", "--grid", "warmup_frac=0,0.2"])
    out = p.stdout.decode()
    rows = [json.loads(line) for line in open(os.path.join(tmp, "sw", "results.jsonl"))]
    new = [r for r in rows if r["lr"] == 1e-3]
    report(p.returncode == 0 and "4 done before, 2 to train, 2 at once" in out and len(rows) == 6 and
           all(r["outcome"] == "finished" and r["steps_trained"] == 150 for r in new), "sweep_grid_grows",
           out.splitlines()[0])
    p = sweep(tmp, GRID + ["steps=151"])
    out = p.stdout.decode()
    report(p.returncode == 1 and "another base config" in out, "sweep_base_changed", out.strip())


def angle_from_sums(ww, dw, dd):
    nn2 = ww + 2 * dw + dd
    na, nn = math.sqrt(ww), math.sqrt(nn2)
    inv = -(2 * dw + dd) / (na + nn) / (na * nn)
    chord2 = dd / nn2 + ww * inv * inv + 2 * dw / nn * inv
    return 2 * math.asin(min(math.sqrt(max(chord2, 0)) / 2, 1))


def pool(layers, matrix):
    """The pooled measurements of a tensor from its per-layer ones (their sums, as measure.c pools rows)."""
    ww = sum(x["norm"] ** 2 for x in layers)
    dd = sum(x["l2"] ** 2 for x in layers)
    dw = (sum(x["norm_new"] ** 2 for x in layers) - ww - dd) / 2  # sum of (w'-w).w
    g2 = sum(x["g_norm"] ** 2 for x in layers)
    m2 = sum((x["m_over_g"] * x["g_norm"]) ** 2 for x in layers)
    gm = sum(x["cos_gm"] * x["m_over_g"] * x["g_norm"] ** 2 for x in layers)
    p = dict(l2=math.sqrt(dd), rel=math.sqrt(dd / ww), angle=angle_from_sums(ww, dw, dd),
             cos_gm=gm / math.sqrt(g2 * m2), m_over_g=math.sqrt(m2 / g2))
    if matrix:  # every row of these layers is nonzero, so each layer weighs its row count, the same for all
        p["angle_rows"] = math.sqrt(sum(x["angle_rows"] ** 2 for x in layers) / len(layers))
    if "out_norm" in layers[0]:
        p["rrc"] = math.sqrt(sum((x["rrc"] * x["out_norm"]) ** 2 for x in layers) /
                             sum(x["out_norm"] ** 2 for x in layers))
    return p


def check_per_layer(tmp):
    log = os.path.join(tmp, "sw", "lr=3e-3,warmup_frac=0", "log.jsonl")
    measured = [r for r in map(json.loads, open(log)) if "layers" in r]
    worst, where, checked = 0.0, "", 0
    for r in measured:
        for name, layers in r["layers"].items():
            matrix = name in r["tensors"]
            ref = (r["tensors"] if matrix else r["vector_tensors"])[name]
            for k, v in pool(layers, matrix).items():
                err = abs(v - ref[k]) / (abs(ref[k]) + 1e-6)
                checked += 1
                if err > worst:
                    worst, where = err, "step %d %s %s: %.9g vs %.9g" % (r["step"], name, k, v, ref[k])
    fields = {k for r in measured for ls in r["layers"].values() for x in ls for k in x}
    want = {"l2", "rel", "angle", "angle_rows", "rrc", "cos_gm", "m_over_g", "phi", "b_noise", "norm"}
    report(len(measured) == 6 and checked > 500 and worst < 1e-5 and want <= fields, "per_layer_pools",
           "%d records, %d values, worst relative difference %.2g (%s)" % (len(measured), checked, worst, where))


def check_plots(tmp):
    p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "plot_study.py"), "sw"], cwd=tmp,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    plots = os.path.join(tmp, "sw", "plots")
    bad = []
    for name in FIGURES:
        path = os.path.join(plots, name + ".png")
        head = open(path, "rb").read(8) if os.path.exists(path) else b""
        if head != b"\x89PNG\r\n\x1a\n" or os.path.getsize(path) < 5000:
            bad.append(name)
    index = open(os.path.join(plots, "index.html")).read() if os.path.exists(os.path.join(plots, "index.html")) else ""
    missing = [n for n in FIGURES if "src='%s.png'" % n not in index]
    path = os.path.join(plots, "summary.md")
    summary = open(path).read() if os.path.exists(path) else ""
    rows = [line for line in summary.splitlines() if line.startswith(("| 0.003 |", "| 10 |"))]
    table_ok = len(rows) == 2 and rows[1].count("diverged at") == 2 and "# Measurements of sw at peak lr 0.003" in summary
    report(p.returncode == 0 and not bad and not missing and table_ok, "plots",
           "bad PNGs %s, not in index.html %s, summary rows %s %s"
           % (bad, missing, rows, p.stdout.decode()[-300:] if p.returncode else ""))


def cases(tmp):
    make_shard.write(os.path.join(tmp, "train.bin"), list(open(GPL, "rb").read()[:30000]))
    make_shard.write(os.path.join(tmp, "val.bin"), list(open(GPL, "rb").read()[30000:]))
    harness.write_ini(os.path.join(tmp, "base.ini"), **BASE)
    check_kill_and_resume(tmp)
    check_results(tmp)
    check_per_layer(tmp)
    check_reruns(tmp)
    check_plots(tmp)


if __name__ == "__main__":
    sys.exit(harness.run_in_temp_folder("sweep", cases))
