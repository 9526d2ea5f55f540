#!/usr/bin/env python3
"""kill -9 during checkpoint writes, then resume: bit-identical to a run never interrupted (standard library only).

A model big enough that writing a checkpoint takes a while (vocabulary 50257: 13 MB of parameters, 26 MB of
AdamW moments, each file fsync'ed) trains with a checkpoint every step. Each trial starts the run (or resumes
it), watches its folder and sends SIGKILL as soon as a checkpoint's temporary file appears (the 3rd write of
the fresh run, then the 2nd and the 1st of the resumed runs). After every kill: no file under a real name is partial, and the next --resume
goes on from the latest complete checkpoint (and removes the killed process's temporary). Finally the run
is resumed to the end; its last model and resume state must equal those of the uninterrupted run, byte for byte.
Finds the binary via $GPT2CL_BIN.
"""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # do not leave __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_shard  # noqa: E402
from harness import BIN, GPL, report, run_in_temp_folder, write_ini  # noqa: E402

STEPS = 5
CONFIG = dict(n_layer=1, n_head=2, n_embd=64, block_size=32, vocab_size=50257, batch_size=2, seq_len=32,
              steps=STEPS, lr="1e-3", schedule="cosine", warmup_steps=1, checkpoint_every=1, data_order="shuffle")
# Trial i kills at the KILL_AT[i]-th checkpoint write of its process: the model of step 2 in the fresh run,
# then the state and the model of the resumed runs (which start again from step 1's checkpoint).
KILL_AT = (3, 2, 1)


def train(args, cwd):
    p = subprocess.run([BIN, "train"] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=600)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def kill_during_write(args, cwd, run_dir, nth):
    """Starts `gpt2cl train ARGS`; SIGKILLs it once the nth checkpoint temporary of this process appears.
    Returns (the temporary's name or None if the run ended first, seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen([BIN, "train"] + args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL)
    suffix, seen, hit = ".tmp.%d" % p.pid, set(), None
    while p.poll() is None and hit is None:
        try:
            names = os.listdir(run_dir)
        except FileNotFoundError:
            names = []
        for n in names:
            if n.endswith(suffix) and n.startswith(("model_", "state_")) and n not in seen:
                seen.add(n)
                if len(seen) == nth:
                    p.kill()
                    hit = n
        time.sleep(0.0005)
    p.wait()
    # The kill landed during the write only if the temporary is still there (else the rename won the race).
    if hit and not os.path.exists(os.path.join(run_dir, hit)):
        hit = None
    return hit, time.monotonic() - t0


def complete_files(run_dir, model_bytes, state_bytes):
    """Every checkpoint file under its real name has its full size."""
    bad = []
    for n in os.listdir(run_dir):
        if ".tmp." in n or not n.endswith(".bin"):
            continue
        want = model_bytes if n.startswith("model_") else state_bytes
        if os.path.getsize(os.path.join(run_dir, n)) != want:
            bad.append(n)
    return bad


def main():
    return run_in_temp_folder("test_crash_safety", cases)


def cases(tmp):
    text = open(GPL, "rb").read()
    make_shard.write(os.path.join(tmp, "train.bin"), list(text[:6000]))
    full = write_ini(os.path.join(tmp, "full.ini"), train_data="train.bin", out_dir="full", **CONFIG)
    cut = write_ini(os.path.join(tmp, "cut.ini"), train_data="train.bin", out_dir="cut", **CONFIG)
    rc, out = train(["--config", full], tmp)
    last = ["model_%08d.bin" % STEPS, "state_%08d.bin" % STEPS]
    if rc != 0 or not all(os.path.exists(os.path.join(tmp, "full", f)) for f in last):
        return report(False, "uninterrupted_run", "rc=%d\n%s" % (rc, out))
    model_bytes = os.path.getsize(os.path.join(tmp, "full", last[0]))
    state_bytes = os.path.getsize(os.path.join(tmp, "full", last[1]))
    report(True, "uninterrupted_run", "%d steps, checkpoints of %d + %d bytes" % (STEPS, model_bytes, state_bytes))

    run_dir = os.path.join(tmp, "cut")
    landed = 0
    for trial, nth in enumerate(KILL_AT, 1):
        started = os.path.isdir(run_dir) and any(n.startswith("state_") and ".tmp." not in n
                                                 for n in os.listdir(run_dir))
        args = ["--resume", "cut"] if started else ["--config", cut]
        hit, dt = kill_during_write(args, tmp, run_dir, nth)
        landed += hit is not None
        bad = complete_files(run_dir, model_bytes, state_bytes)
        report(not bad, "kill_%d_no_partial_file" % trial, "%s %s, SIGKILL %s after %.1f s; partial files: %s" %
               ("resume" if started else "fresh run", "killed" if hit else "ended",
                "while writing %s" % hit if hit else "missed the write", dt, bad or "none"))
    report(landed >= 1, "kills_during_writes", "%d of %d kills landed while a checkpoint was being written" %
           (landed, len(KILL_AT)))
    started = any(n.startswith("state_") and ".tmp." not in n for n in os.listdir(run_dir))
    rc, out = train(["--resume", "cut"] if started else ["--config", cut], tmp)
    left = [n for n in os.listdir(run_dir) if ".tmp." in n]
    report(rc == 0 and not left, "final_resume", "rc=%d; temporaries left: %s%s" % (rc, left or "none",
                                                                                 "" if rc == 0 else "\n" + out))
    same = rc == 0 and all(open(os.path.join(tmp, "full", f), "rb").read() == open(os.path.join(run_dir, f), "rb").read()
                           for f in last)
    report(same, "bit_identical_to_uninterrupted", "%s and %s of the interrupted run %s" %
           (last[0], last[1], "equal the uninterrupted run's" if same else "DIFFER"))


if __name__ == "__main__":
    sys.exit(main())
