#!/usr/bin/env python3
"""End-to-end training behaviour of gpt2cl (python3 standard library only).

  overfit        a tiny model memorises one repeated batch (loss falls below 10% of its first value)
  real_text      a short run on GPL-3 bytes lowers the validation loss
  resume         a run killed after its step-6 checkpoint and resumed with --resume continues bit-identically
                 (steps 7..12 losses/grad norms/lr/val losses and the final checkpoint files), grad_accum=2,
                 several shards, cosine schedule with warmup
  grad_accum     batch_size=4 x grad_accum=1 == batch_size=2 x grad_accum=2 (loss and gradient norm)
  samples        sample_every prints samples during training without changing it; `gpt2cl sample` is reproducible
                 from its seed, greedy is deterministic, max_new_tokens bounds the output
  init_from      a checkpoint written by train, loaded with init_from and lr=0, reproduces the run's final
                 validation loss exactly
Finds the binary via $GPT2CL_BIN and the source tree via $GPT2CL_SOURCE_ROOT.
"""
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # do not leave __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_shard  # noqa: E402
from harness import BIN, GPL, ROOT, report, require_binary, summary  # noqa: E402,F401

MODEL = dict(n_layer=2, n_head=4, n_embd=64, block_size=64, vocab_size=257)

def write_ini(path, **keys):
    with open(path, "w") as f:
        for k, v in keys.items():
            f.write("%s = %s\n" % (k, v))
    return path


def train(args, cwd, timeout=300):
    """Runs `gpt2cl train ARGS`; returns (ok, stdout+stderr, seconds)."""
    t0 = time.monotonic()
    p = subprocess.run([BIN, "train"] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    dt = time.monotonic() - t0
    if p.returncode != 0:
        print("gpt2cl train %s failed with status %d:\n%s" % (" ".join(args), p.returncode, out))
    else:
        print("     (gpt2cl train %s: %.1f s)" % (" ".join(args), dt))
    return p.returncode == 0, out, dt


def read_log(path, raw=False):
    """(step objects, validation objects) of a JSONL log; raw=True keeps numbers as their JSON text."""
    steps, vals = [], []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            o = json.loads(line, parse_float=str, parse_int=str) if raw else json.loads(line)
            (vals if "val_loss" in o else steps).append(o)
    return steps, vals


def check_log_format(name, steps, n):
    keys = {"step", "loss", "lr", "grad_norm", "ms", "tokens_per_s", "mfu"}
    ok = [int(o["step"]) for o in steps] == list(range(1, n + 1)) and all(set(o) == keys for o in steps)
    # MFU: the step's model FLOP/s over the measured peak, a positive fraction (not a percentage).
    ok = ok and all(0 < float(o["mfu"]) < 2 for o in steps)
    report(ok, name + "_log_format", "%d step objects, keys %s" % (len(steps), sorted(steps[0]) if steps else "-"))
    return ok


def file_bytes(p):
    with open(p, "rb") as f:
        return f.read()


def test_overfit(tmp, text):
    """(a) One batch repeated: shard of exactly batch_size*seq_len+1 tokens, constant lr."""
    B, T, steps = 4, 64, 80
    make_shard.write(os.path.join(tmp, "one.bin"), list(text[:B * T + 1]))
    cfg = write_ini(os.path.join(tmp, "overfit.ini"), train_data="one.bin", batch_size=B, seq_len=T, steps=steps,
                    lr="2e-3", schedule="constant", log="overfit.jsonl", **MODEL)
    ok, out, dt = train(["--config", cfg], tmp)
    if not ok:
        return report(False, "overfit", "run failed")
    steps_log, _ = read_log(os.path.join(tmp, "overfit.jsonl"))
    check_log_format("overfit", steps_log, steps)
    first, last = steps_log[0]["loss"], steps_log[-1]["loss"]
    lrs = {o["lr"] for o in steps_log}
    report(len(lrs) == 1 and abs(lrs.pop() - 2e-3) < 1e-9, "overfit_constant_lr", "lr constant at 2e-3")
    report(last < 0.1 * first, "overfit",
           "%d steps on one batch: loss %.4f -> %.4f (%.1f%% of first; need < 10%%), %.1f s" %
           (steps, first, last, 100 * last / first, dt))


def test_real_text(tmp, text):
    """(b) GPL-3 bytes: validation on a held-out middle slice must drop clearly."""
    make_shard.write(os.path.join(tmp, "gpl_train.bin"), list(text[:15000] + text[20000:]))
    make_shard.write(os.path.join(tmp, "gpl_val.bin"), list(text[15000:20000]))
    steps = 40
    cfg = write_ini(os.path.join(tmp, "real.ini"), train_data="gpl_train.bin", val_data="gpl_val.bin", val_every=5,
                    val_steps=8, batch_size=4, seq_len=64, steps=steps, lr="3e-3", warmup_steps=3,
                    schedule="cosine", min_lr="3e-4", log="real.jsonl", **MODEL)
    ok, out, dt = train(["--config", cfg], tmp)
    if not ok:
        return report(False, "real_text_val_loss", "run failed")
    steps_log, vals = read_log(os.path.join(tmp, "real.jsonl"))
    check_log_format("real_text", steps_log, steps)
    report([o["step"] for o in vals] == list(range(5, steps + 1, 5)), "real_text_val_schedule",
           "validation at steps %s" % [o["step"] for o in vals])
    # warmup: step 1 uses lr/warmup_steps; cosine then decays towards min_lr
    lr1, lr3, lrN = steps_log[0]["lr"], steps_log[2]["lr"], steps_log[-1]["lr"]
    report(abs(lr1 - 1e-3) < 1e-8 and abs(lr3 - 3e-3) < 1e-8 and 3e-4 <= lrN < 4e-4, "real_text_lr_schedule",
           "lr step1 %.3g, step3 %.3g, step%d %.3g" % (lr1, lr3, steps, lrN))
    first, last = vals[0]["val_loss"], vals[-1]["val_loss"]
    report(last < 0.85 * first, "real_text_val_loss",
           "val_loss step %d %.4f -> step %d %.4f (need < 85%% of first); train loss %.4f -> %.4f, %.1f s" %
           (vals[0]["step"], first, vals[-1]["step"], last, steps_log[0]["loss"], steps_log[-1]["loss"], dt))


def kill_after_checkpoint(args, cwd, step):
    """Starts `gpt2cl train ARGS`, SIGKILLs it once it reports the checkpoint of `step`: a real interruption."""
    p = subprocess.Popen([BIN, "train"] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen, out = False, []
    for line in iter(p.stdout.readline, b""):
        out.append(line.decode("utf-8", "replace"))
        if "checkpoint:" in out[-1] and out[-1].rstrip().endswith("model_%08d.bin" % step):
            p.kill()
            seen = True
            break
    p.stdout.close()
    p.wait()
    return seen, "".join(out)


def test_resume(tmp, text, order):
    """(c) Interrupted + resumed run == uninterrupted run, bit for bit, in both data orders. The uninterrupted run
    also prints samples (sample_every=6): identical losses show that sampling leaves training untouched."""
    # Three shards of 400 tokens: with batch 2 x 32 a shard holds 6 micro-batches, i.e. 3 steps of grad_accum=2,
    # so the resume point (after step 6) sits on a shard boundary and later steps cross further boundaries.
    if not os.path.isdir(os.path.join(tmp, "rshards")):
        os.mkdir(os.path.join(tmp, "rshards"))
        for i in range(3):
            make_shard.write(os.path.join(tmp, "rshards", "s%d.bin" % i), list(text[1000 * i:1000 * i + 400]))
        make_shard.write(os.path.join(tmp, "rval.bin"), list(text[20000:21000]))
    full, cut = "full_" + order, "cut_" + order
    steps = 12
    common = dict(train_data="rshards", val_data="rval.bin", val_every=4, val_steps=2, batch_size=2, seq_len=32,
                  grad_accum=2, steps=steps, lr="2e-3", warmup_steps=2, schedule="cosine", min_lr="1e-4",
                  checkpoint_every=6, data_order=order, **MODEL)
    write_ini(os.path.join(tmp, full + ".ini"), out_dir=full, log=full + ".jsonl", sample_every=6, sample_tokens=20,
              **common)
    write_ini(os.path.join(tmp, cut + ".ini"), out_dir=cut, log=cut + "_first.jsonl", **common)
    ok, out, dt_full = train(["--config", full + ".ini"], tmp)
    if not ok:
        return report(False, "resume", "uninterrupted run failed")
    samples = re.findall(r"^step (\d+) \| sample: ", out, re.M)
    report(samples == ["6", "12"], "samples_during_training_" + order, "samples printed at steps %s" % samples)
    seen, out = kill_after_checkpoint(["--config", cut + ".ini"], tmp, 6)
    if not seen:
        print(out)
        return report(False, "resume", "interrupted run never wrote its step-6 checkpoint")
    cut_dir = os.path.join(tmp, cut)
    # If it got further before the kill landed (fast device), drop what a crash right after step 6 would not have.
    for fn in os.listdir(cut_dir):
        if fn.startswith(("model_", "state_")) and not fn.endswith("00000006.bin"):
            os.remove(os.path.join(cut_dir, fn))
    report(sorted(f for f in os.listdir(cut_dir) if f.endswith(".bin")) == ["model_00000006.bin", "state_00000006.bin"],
           "resume_interrupted_state_" + order, "after SIGKILL: %s" % sorted(os.listdir(cut_dir)))
    ok, out, dt = train(["--resume", cut, "log=%s_resumed.jsonl" % cut], tmp)
    if not ok:
        return report(False, "resume", "--resume failed")
    report("resumed from %s at step 6" % cut in out, "resume_message_" + order,
           "stdout says 'resumed from %s at step 6'" % cut)
    full_steps, full_vals = read_log(os.path.join(tmp, full + ".jsonl"), raw=True)
    res_steps, res_vals = read_log(os.path.join(tmp, cut + "_resumed.jsonl"), raw=True)
    fields = ("step", "loss", "lr", "grad_norm")  # ms, tokens_per_s and mfu are timings
    a = [tuple(o[k] for k in fields) for o in full_steps[6:]]
    b = [tuple(o[k] for k in fields) for o in res_steps]
    report(a == b and len(a) == 6, "resume_losses_identical_" + order,
           "steps 7..12 (loss, lr, grad_norm as JSON text) %s; e.g. step 12 loss %s vs %s" %
           ("identical" if a == b else "DIFFER:\n  full    %s\n  resumed %s" % (a, b),
            a[-1][1] if a else "-", b[-1][1] if b else "-"))
    va = [(o["step"], o["val_loss"]) for o in full_vals if int(o["step"]) > 6]
    vb = [(o["step"], o["val_loss"]) for o in res_vals]
    report(va == vb and len(va) == 2, "resume_val_identical_" + order, "val_loss at steps 8, 12: %s vs %s" % (va, vb))
    same = all(file_bytes(os.path.join(tmp, full, f)) == file_bytes(os.path.join(cut_dir, f))
               for f in ("model_00000012.bin", "state_00000012.bin"))
    report(same, "resume_checkpoint_identical_" + order,
           "model_00000012.bin and state_00000012.bin byte-identical (%d + %d bytes); full run %.1f s" %
           (os.path.getsize(os.path.join(cut_dir, "model_00000012.bin")),
            os.path.getsize(os.path.join(cut_dir, "state_00000012.bin")), dt_full))
    # the interrupted run's own log agrees with the full run on steps 1..6 (same run, before the kill)
    first_steps, _ = read_log(os.path.join(tmp, cut + "_first.jsonl"), raw=True)
    c = [tuple(o[k] for k in fields) for o in first_steps[:6]]
    report(c == [tuple(o[k] for k in fields) for o in full_steps[:6]], "resume_prefix_identical_" + order,
           "steps 1..6 of the two runs agree (determinism)")
    return True


def test_init_from(tmp):
    """(e) init_from the final checkpoint of the resume test's run with lr=0: after one step that changes nothing,
    the validation loss is exactly the run's final validation loss (same weights, same validation batches)."""
    ck = os.path.join(tmp, "full_shuffle", "model_00000012.bin")
    _, full_vals = read_log(os.path.join(tmp, "full_shuffle.jsonl"), raw=True)
    if not os.path.exists(ck) or not full_vals:
        return report(False, "init_from_roundtrip", "no checkpoint from the resume test")
    # no model keys: the shape comes from the checkpoint
    cfg = write_ini(os.path.join(tmp, "init.ini"), train_data="rshards", val_data="rval.bin", val_steps=2,
                    batch_size=2, seq_len=32, steps=1, lr=0, log="init.jsonl")
    ok, out, dt = train(["--config", cfg, "init_from=" + ck], tmp)
    if not ok:
        return report(False, "init_from_roundtrip", "run failed")
    _, vals = read_log(os.path.join(tmp, "init.jsonl"), raw=True)
    want, got = full_vals[-1]["val_loss"], vals[-1]["val_loss"] if vals else None
    report(got == want and "n_layer 2" in out, "init_from_roundtrip",
           "val_loss after loading %s with lr=0: %s, run's final val_loss %s" % (os.path.basename(ck), got, want))


def sample(args, cwd):
    p = subprocess.run([BIN, "sample"] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if p.returncode != 0:
        print("gpt2cl sample %s failed with status %d:\n%s" % (" ".join(args), p.returncode, p.stderr.decode()))
    return p.returncode, p.stdout


def test_sample(tmp):
    """`gpt2cl sample` on the byte-level model of the resume test: a seed reproduces the text, another seed changes
    it, greedy is deterministic, the prompt comes first and max_new_tokens bounds the output (1 byte per token)."""
    ck = ["--checkpoint", "full_shuffle", "--prompt", "The "]
    runs = {}
    for name, extra in (("a", ["seed=3"]), ("b", ["seed=3"]), ("c", ["seed=4"]), ("g1", ["greedy=1"]),
                        ("g2", ["greedy=1", "seed=9"]), ("zero", ["max_new_tokens=0"])):
        base = ["stop_at_eot=0"] + ([] if any(e.startswith("max_new_tokens=") for e in extra) else ["max_new_tokens=40"])
        rc, out = sample(ck + base + extra, tmp)
        if rc != 0:
            return report(False, "sample", "run %s failed" % name)
        runs[name] = out
    report(runs["a"] == runs["b"] and runs["a"].startswith(b"The ") and len(runs["a"]) == len("The ") + 40 + 1,
           "sample_seed_reproducible", "seed=3 twice: %r" % runs["a"][:60])
    report(runs["a"] != runs["c"], "sample_seed_changes", "seed=4: %r" % runs["c"][:60])
    report(runs["g1"] == runs["g2"], "sample_greedy_deterministic", "greedy: %r" % runs["g1"][:60])
    report(runs["zero"] == b"The \n", "sample_max_new_tokens_0", "output %r" % runs["zero"])


def test_grad_accum(tmp, text):
    """(d) batch_size=4 x grad_accum=1 vs batch_size=2 x grad_accum=2 see the same 4 sequences per step.
    Tolerance: 1e-5 relative on the step-1 loss (only the float summation order of the token losses differs) and
    1e-4 relative on the step-1 gradient norm and the step-2 loss (gradients are summed in a different order,
    then go through one AdamW update)."""
    make_shard.write(os.path.join(tmp, "acc.bin"), list(text[5000:9000]))
    res = {}
    for B, A in ((4, 1), (2, 2)):
        cfg = write_ini(os.path.join(tmp, "acc%d.ini" % B), train_data="acc.bin", batch_size=B, grad_accum=A,
                        seq_len=64, steps=2, lr="1e-3", schedule="constant", log="acc%d.jsonl" % B, **MODEL)
        ok, out, dt = train(["--config", cfg], tmp)
        if not ok:
            return report(False, "grad_accum_equivalence", "run B=%d accum=%d failed" % (B, A))
        res[B] = read_log(os.path.join(tmp, "acc%d.jsonl" % B))[0]
    rel = lambda x, y: abs(x - y) / abs(y)  # noqa: E731
    l1 = rel(res[2][0]["loss"], res[4][0]["loss"])
    n1 = rel(res[2][0]["grad_norm"], res[4][0]["grad_norm"])
    l2 = rel(res[2][1]["loss"], res[4][1]["loss"])
    report(l1 <= 1e-5, "grad_accum_loss",
           "step-1 loss B4xA1 %.7f vs B2xA2 %.7f, rel diff %.2e (tol 1e-5)" % (res[4][0]["loss"], res[2][0]["loss"], l1))
    report(n1 <= 1e-4, "grad_accum_grad_norm",
           "step-1 grad_norm %.7f vs %.7f, rel diff %.2e (tol 1e-4)" %
           (res[4][0]["grad_norm"], res[2][0]["grad_norm"], n1))
    report(l2 <= 1e-4, "grad_accum_step2_loss",
           "step-2 loss %.7f vs %.7f, rel diff %.2e (tol 1e-4)" % (res[4][1]["loss"], res[2][1]["loss"], l2))


def main():
    require_binary("test_training")
    text = file_bytes(GPL)
    tmp = tempfile.mkdtemp(prefix="gpt2cl_test_training_")
    t0 = time.monotonic()
    try:
        test_overfit(tmp, text)
        test_real_text(tmp, text)
        test_grad_accum(tmp, text)
        test_resume(tmp, text, "sequential")
        if test_resume(tmp, text, "shuffle"):
            test_init_from(tmp)
            test_sample(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary("test_training", " (%.1f s)" % (time.monotonic() - t0))


if __name__ == "__main__":
    sys.exit(main())
