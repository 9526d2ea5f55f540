#!/usr/bin/env python3
"""Data-parallel training over MPI ranks against one process (python3 standard library only).

Each rank's POCL runs one thread (POCL_MAX_PTHREAD_COUNT=1). Tiny model on GPL-3 bytes, global batch 8.
  adamw_ranks_equal_one      mpirun -np 2 and one process: the same losses for 10 AdamW steps (1e-6 relative)
                             and validation losses, parameters equal within fp32 rounding
  lionar_measured_ranks      the same for lionar with grad_accum 2 and metrics every 2 steps (parameters:
                             at most 1% differ beyond rounding, the elements whose sign update flipped on a
                             momentum within rounding of zero), and the measurements l2, angle, rrc, cos_gm agree
  unequal_shares             balance = 3,1 gives the run of balance = equal
  zero1_equals_plain         zero = 1 (lionar, grad_accum 2, metrics every 2 steps) on 2 ranks: the same losses
                             and bit-identical parameters as plain data parallelism, measurements within 1e-5,
                             and rank 0's optimizer state at most 55% of the whole
  resume_2_to_1, _2_to_2     a 2-rank zero = 1 run's step-5 checkpoint (its state gathered from the shards)
                             resumed on 1 rank and on 2 continues the uninterrupted run (steps 6-10 within 1e-6)
  rank_killed                SIGKILL to rank 1 mid-run: mpirun exits non-zero within 30 s naming the rank,
                             and every checkpoint file under its real name is whole
  rank_error                 a rank whose device does not exist: every rank stops within 30 s, the message
                             names rank 1
  bad_split_*                balance with the wrong number of weights, batch_size below the ranks, measurements
                             with unequal or automatic shares: one-line errors
Skipped (exit 77) where mpirun is missing or gpt2cl was built without MPI.
"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_shard  # noqa: E402
from harness import BIN, GPL, report, run_in_temp_folder, write_ini  # noqa: E402

MPIRUN = shutil.which("mpirun")
BASE = dict(n_layer=2, n_head=4, n_embd=64, block_size=32, vocab_size=257, train_data="train.bin",
            val_data="val.bin", val_every=5, val_steps=2, batch_size=8, seq_len=32, steps=10, lr="3e-3",
            warmup_steps=2, data_order="sequential", sample_every=0)
ENV = dict(os.environ, POCL_MAX_PTHREAD_COUNT="1")


def command(ranks, args):
    if ranks == 0:  # one process, no mpirun
        return [BIN, "train"] + args
    return [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np", str(ranks), BIN, "train"] + args


def train(tmp, ranks, args, timeout=300):
    p = subprocess.run(command(ranks, args), cwd=tmp, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        print("%s failed (%d):\n%s" % (" ".join(command(ranks, args)), p.returncode, out[-3000:]))
    return p.returncode == 0, out


def read_log(path):
    steps, vals, meas = {}, {}, {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if "loss" in r:
                steps[r["step"]] = r["loss"]
            elif "val_loss" in r:
                vals[r["step"]] = r["val_loss"]
            elif "tensors" in r:
                meas[r["step"]] = r
    return steps, vals, meas


def max_rel(a, b, keys):
    return max(abs(a[k] - b[k]) / max(abs(a[k]), 1e-30) for k in keys)


def params(path):
    with open(path, "rb") as f:
        data = f.read()[1024:]
    return struct.unpack("<%df" % (len(data) // 4), data)


def param_diff(a, b):
    """The largest difference relative to max |w|, and the share of parameters that differ by more than 1e-5 of it."""
    pa, pb = params(a), params(b)
    scale = max(abs(x) for x in pa)
    diffs = [abs(x - y) / scale for x, y in zip(pa, pb)]
    return max(diffs), sum(d > 1e-5 for d in diffs) / len(diffs)


def run_pair(tmp, name, extra, ranks_args=()):
    """One process and 2 ranks on the same config; returns their logs and final models."""
    results = []
    for ranks, args in ((0, []), (2, list(ranks_args))):
        out_dir = os.path.join(tmp, "%s_%d" % (name, ranks))
        ini = write_ini(os.path.join(tmp, "%s.ini" % name), **dict(BASE, **extra))
        ok, _ = train(tmp, ranks, ["--config", ini, "out_dir=" + out_dir, "log=" + out_dir + ".jsonl"] + args)
        if not ok:
            return None
        results.append((read_log(out_dir + ".jsonl"), os.path.join(out_dir, "model_%08d.bin" % BASE["steps"])))
    return results


def check_same_run(name, res, measured=False, sign_updates=False):
    if res is None:
        report(False, name, "a run failed")
        return
    (one, model1), (two, model2) = res
    loss = max_rel(one[0], two[0], one[0].keys())
    val = max_rel(one[1], two[1], one[1].keys())
    pdiff, share = param_diff(model1, model2)
    # A sign update (Lion family) turns a rounding difference in a momentum element near zero into a
    # step of 2 lr for that element: a few elements differ by more than rounding, the rest agree.
    params_ok = share <= 1e-2 if sign_updates else pdiff <= 1e-5
    ok = sorted(one[0]) == sorted(two[0]) == list(range(1, 11)) and loss <= 1e-6 and val <= 1e-6 and params_ok
    detail = "losses %.1e, val %.1e relative; params %.1e of max |w|, %.1e of them beyond 1e-5" % (
        loss, val, pdiff, share)
    if measured:
        fields = ("l2", "angle", "rrc", "cos_gm")
        worst = 0.0
        for step, m1 in one[2].items():
            m2 = two[2][step]
            for tensor, t1 in m1["tensors"].items():
                t2 = m2["tensors"][tensor]
                for f in fields:
                    if f in t1:
                        worst = max(worst, abs(t1[f] - t2[f]) / max(abs(t1[f]), 1e-12))
        ok = ok and len(one[2]) == 5 and sorted(one[2]) == sorted(two[2]) and worst <= 1e-3
        detail += "; measurements %s within %.1e relative" % ("/".join(fields), worst)
    report(ok, name, detail)


def state_bytes(out):
    """Rank 0's optimizer state, from the line train prints with several ranks."""
    m = re.search(r"optimizer state: ([\d.]+) (KiB|MiB|GiB)", out)
    return float(m.group(1)) * {"KiB": 1, "MiB": 1024, "GiB": 1024 * 1024}[m.group(2)] if m else float("nan")


def zero_case(tmp):
    extra = dict(optimizer="lionar", lr="3e-2", grad_accum=2, metrics_every=2)
    runs = []
    for zero in (0, 1):
        out_dir = os.path.join(tmp, "zero%d" % zero)
        ini = write_ini(os.path.join(tmp, "zero.ini"), **dict(BASE, **extra))
        ok, out = train(tmp, 2, ["--config", ini, "out_dir=" + out_dir, "log=" + out_dir + ".jsonl", "zero=%d" % zero])
        if not ok:
            report(False, "zero1_equals_plain", "a run failed")
            return
        model = open(os.path.join(out_dir, "model_%08d.bin" % BASE["steps"]), "rb").read()
        runs.append((read_log(out_dir + ".jsonl"), model, state_bytes(out)))
    (plain, model0, bytes0), (zero, model1, bytes1) = runs
    worst = 0.0
    for step, m0 in plain[2].items():
        for tensor, t0 in m0["tensors"].items():
            for f, v in t0.items():
                worst = max(worst, abs(v - zero[2][step]["tensors"][tensor][f]) / max(abs(v), 1e-12))
    ok = plain[0] == zero[0] and model0 == model1 and sorted(plain[2]) == sorted(zero[2]) and worst <= 1e-5 and \
        bytes1 <= 0.55 * bytes0
    report(ok, "zero1_equals_plain", "losses %s, parameters %s, measurements within %.1e; state %.0f of %.0f KiB" % (
        "equal" if plain[0] == zero[0] else "differ", "bit-identical" if model0 == model1 else "differ", worst,
        bytes1, bytes0))


def resume_cases(tmp):
    full = os.path.join(tmp, "full")
    ini = write_ini(os.path.join(tmp, "resume.ini"), **dict(BASE, checkpoint_every=5, zero=1))
    ok, _ = train(tmp, 2, ["--config", ini, "out_dir=" + full, "log=" + full + ".jsonl"])
    reference = read_log(full + ".jsonl")[0] if ok else {}
    for ranks, name in ((0, "resume_2_to_1"), (2, "resume_2_to_2")):  # zero = 1 from the config copy
        run = os.path.join(tmp, name)
        shutil.copytree(full, run)
        for f in ("model_00000010.bin", "state_00000010.bin"):
            os.remove(os.path.join(run, f))
        ok2, _ = train(tmp, ranks, ["--resume", run, "log=" + run + ".jsonl"])
        steps = read_log(run + ".jsonl")[0] if ok2 else {}
        good = ok and ok2 and sorted(steps) == list(range(6, 11))
        diff = max_rel(reference, steps, steps.keys()) if good else float("nan")
        report(good and diff <= 1e-6, name, "steps 6-10 within %.1e of the uninterrupted 2-rank run" % diff)


def rank_pids(mpirun_pid):
    """gpt2cl processes under mpirun, by their MPI rank."""
    pids = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            env = open("/proc/%s/environ" % pid, "rb").read().split(b"\0")
            cmd = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")[0]
        except OSError:
            continue
        if os.path.basename(cmd) == b"gpt2cl":
            for kv in env:
                if kv.startswith(b"OMPI_COMM_WORLD_RANK="):
                    pids[int(kv.split(b"=")[1])] = int(pid)
    return pids


def kill_case(tmp):
    out_dir = os.path.join(tmp, "killed")
    ini = write_ini(os.path.join(tmp, "kill.ini"), **dict(BASE, steps=100000, checkpoint_every=3, val_every=0))
    log = out_dir + ".jsonl"
    p = subprocess.Popen(command(2, ["--config", ini, "out_dir=" + out_dir, "log=" + log]), cwd=tmp, env=ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (os.path.exists(log) and os.path.getsize(log) > 0 and
                                               len(open(log).readlines()) >= 4):
        time.sleep(0.2)
    pids = rank_pids(p.pid)
    if 1 not in pids:
        p.kill()
        report(False, "rank_killed", "rank 1 not found")
        return
    os.kill(pids[1], signal.SIGKILL)
    t0 = time.monotonic()
    try:
        out, _ = p.communicate(timeout=30)
        took = time.monotonic() - t0
    except subprocess.TimeoutExpired:
        p.kill()
        out, took = p.communicate()[0], float("inf")
    text = out.decode("utf-8", "replace")
    # Under its real name every checkpoint file is whole (the model files all one size, the states too);
    # a temporary (NAME.tmp.PID) may remain, which the next train in that folder removes.
    names = os.listdir(out_dir)
    sizes = {k: {os.path.getsize(os.path.join(out_dir, f)) for f in names if f.startswith(k) and f.endswith(".bin")}
             for k in ("model_", "state_")}
    leftovers = [f for f in names if ".tmp." not in f and f not in ("config.ini", "train.lock")
                 and not (f[:6] in sizes and f.endswith(".bin"))]
    leftovers += ["%s* of %d sizes" % (k, len(v)) for k, v in sizes.items() if len(v) != 1]
    ok = p.returncode != 0 and took < 30 and "rank 1" in text and not leftovers
    report(ok, "rank_killed", "exit %d after %.1f s; %s; other files %s" % (
        p.returncode, took, "names rank 1" if "rank 1" in text else "no 'rank 1' in: " + text[-300:], leftovers))


def error_case(tmp):
    ini = write_ini(os.path.join(tmp, "err.ini"), **dict(BASE, steps=100000, device="0,99"))
    t0 = time.monotonic()
    try:
        p = subprocess.run(command(2, ["--config", ini]), cwd=tmp, env=ENV, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        code, text = p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        code, text = None, "timed out"
    took = time.monotonic() - t0
    ok = code not in (0, None) and took < 30 and "gpt2cl: error: rank 1: device 99 does not exist" in text
    line = [l for l in text.splitlines() if "gpt2cl: error:" in l]
    report(ok, "rank_error", "exit %s after %.1f s: %s" % (code, took, line[0] if line else text[-500:]))


def bad_split_cases(tmp):
    ini = write_ini(os.path.join(tmp, "split.ini"), **BASE)
    for name, keys, want in [
            ("bad_split_weights", ["balance=1,2,3"], "gives 3 weight(s) for 2 rank(s)"),
            ("bad_split_not_a_weight", ["balance=2,x"], "give equal, auto or positive weights"),
            ("bad_split_batch", ["batch_size=1"], "batch_size (1) is smaller than the number of ranks (2)"),
            ("bad_split_measured_auto", ["balance=auto", "metrics_every=1"], "must be equal and fixed"),
            ("bad_split_measured_unequal", ["balance=3,1", "metrics_every=1"], "must be equal and fixed")]:
        p = subprocess.run(command(2, ["--config", ini] + keys), cwd=tmp, env=ENV, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        text = p.stdout.decode("utf-8", "replace")
        lines = [l for l in text.splitlines() if l.startswith("gpt2cl: error:")]
        report(p.returncode != 0 and lines and want in lines[0], name, lines[0] if lines else text[-300:])


def cases(tmp):
    make_shard.write(os.path.join(tmp, "train.bin"), list(open(GPL, "rb").read()[:30000]))
    make_shard.write(os.path.join(tmp, "val.bin"), list(open(GPL, "rb").read()[30000:34000]))
    check_same_run("adamw_ranks_equal_one", run_pair(tmp, "adamw", {}))
    check_same_run("lionar_measured_ranks",
                   run_pair(tmp, "lionar", dict(optimizer="lionar", lr="3e-2", grad_accum=2, metrics_every=2)),
                   measured=True, sign_updates=True)
    res = run_pair(tmp, "unequal", {}, ["balance=3,1"])
    check_same_run("unequal_shares", res)
    zero_case(tmp)
    resume_cases(tmp)
    kill_case(tmp)
    error_case(tmp)
    bad_split_cases(tmp)


def has_mpi():
    if not MPIRUN:
        return False
    p = subprocess.run(command(2, []), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return b"built without MPI" not in p.stdout


if __name__ == "__main__":
    if not os.access(BIN, os.X_OK) or not has_mpi():
        print("test_mpi: skipped (no mpirun, or gpt2cl built without MPI)")
        sys.exit(77)
    sys.exit(run_in_temp_folder("test_mpi", cases))
