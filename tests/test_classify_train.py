#!/usr/bin/env python3
"""task = classify end to end (python3 standard library only): a tiny model learns a synthetic
classification from scratch, well above chance on held-out examples; a resumed run ends
bit-identical to an uninterrupted one (model, head and optimizer state); `gpt2cl classify` prints
the label and probabilities (text and JSON) that agree with the run's validation accuracy.

The task: random strings over a-h; the label is "yes" when the string holds a 'z' somewhere, else
"no" (chance 50%). Byte tokenizer (vocab 257).
"""
import filecmp
import json
import os
import random
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, report, run_in_temp_folder, write_ini  # noqa: E402

MODEL = dict(task="classify", vocab_size=257, n_layer=2, n_head=4, n_embd=64, block_size=32, seq_len=32,
             batch_size=16, lr="1e-3", warmup_steps=10, val_every=50)


def make_data(path, n, seed):
    r = random.Random(seed)
    rows = []
    for i in range(n):
        s = "".join(r.choice("abcdefgh") for _ in range(r.randint(8, 24)))
        label = "yes" if i % 2 else "no"
        if label == "yes":
            p = r.randrange(len(s))
            s = s[:p] + "z" + s[p + 1:]
        rows.append({"text": s, "label": label})
    with open(path, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return rows


def gpt2cl(args, cwd):
    p = subprocess.run([BIN] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def cases(tmp):
    j = lambda *p: os.path.join(tmp, *p)  # noqa: E731
    make_data(j("train.jsonl"), 800, 1)
    val = make_data(j("val.jsonl"), 200, 2)
    ini = write_ini(j("c.ini"), train_data=j("train.jsonl"), val_data=j("val.jsonl"), **MODEL)

    rc, out, err = gpt2cl(["train", "--config", ini, "steps=150", "out_dir=" + j("run")], tmp)
    accs = [float(line.split("val_accuracy")[1]) for line in out.splitlines() if "val_accuracy" in line]
    report(rc == 0 and accs and accs[-1] >= 0.9, "synthetic_task_learned",
           "rc=%d, held-out accuracy %s (chance 0.5, need >= 0.9)%s" % (rc, accs, "" if rc == 0 else err.strip()))
    labels = json.load(open(j("run", "labels.json"))) if os.path.exists(j("run", "labels.json")) else None
    report(labels == {"labels": ["no", "yes"]}, "labels_json", "labels.json: %s" % labels)

    # classify: every validation text, as JSON lines; its accuracy is the run's
    rc, out, err = gpt2cl(["classify", "--checkpoint", j("run"), "--file", j("val.jsonl"), "--json"], tmp)
    rows = [json.loads(line) for line in out.splitlines()] if rc == 0 else []
    correct = sum(r["label"] == v["label"] for r, v in zip(rows, val))
    sums_ok = all(abs(sum(r["probs"].values()) - 1) < 1e-5 and max(r["probs"], key=r["probs"].get) == r["label"]
                  for r in rows)
    report(rc == 0 and len(rows) == len(val) and sums_ok and accs and abs(correct / len(val) - accs[-1]) < 1e-6,
           "classify_file_json", "rc=%d, %d rows, accuracy %.4f vs the run's %s %s" %
           (rc, len(rows), correct / max(len(val), 1), accs[-1:], err.strip()))
    rc, out, err = gpt2cl(["classify", "--checkpoint", j("run"), "--text", "abcdzabcd"], tmp)
    report(rc == 0 and out.startswith("yes\t") and "no=" in out and "yes=" in out, "classify_text",
           "rc=%d | %s %s" % (rc, out.strip(), err.strip()))

    # resume: 20 steps, then 20 more, equal to 40 at once (grad_accum 2 covers the micro-batch order)
    keys = ["schedule=constant", "grad_accum=2", "batch_size=8"]
    rc1, _, e1 = gpt2cl(["train", "--config", ini, "steps=40", "out_dir=" + j("a")] + keys, tmp)
    rc2, _, e2 = gpt2cl(["train", "--config", ini, "steps=20", "out_dir=" + j("b")] + keys, tmp)
    rc3, _, e3 = gpt2cl(["train", "--resume", j("b"), "steps=40"], tmp)
    same = rc1 == rc2 == rc3 == 0 and all(
        filecmp.cmp(j("a", "%s_00000040.bin" % f), j("b", "%s_00000040.bin" % f), shallow=False)
        for f in ("model", "head", "state"))
    report(same, "resume_bit_identical", "model, head and state after 20+20 steps == 40 steps %s" %
           (e1 + e2 + e3).strip())


if __name__ == "__main__":
    sys.exit(run_in_temp_folder("test_classify_train", cases))
