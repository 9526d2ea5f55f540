#!/usr/bin/env python3
"""Supervised fine-tuning and freezing end to end (python3 standard library only).

  prepare_sft     `prepare --format sft --tokenizer byte` writes the shard and its mask file exactly as
                  the template says (tokens = UTF-8 bytes, <|endoftext|> = 256), computed here by hand
  sft_trains      task = sft on a copy-the-word task: the masked validation loss falls well below its
                  value after one step
  freeze_resume   with freeze = layers:0 embeddings, the frozen tensors of the final checkpoint are
                  bit-identical to the initial weights, the others changed, and a run resumed at step 3
                  ends with the same model and resume state files, byte for byte
"""
import json
import os
import random
import re
import struct
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, report, run_in_temp_folder, write_ini  # noqa: E402

EOT = 256
MODEL = dict(n_layer=2, n_head=2, n_embd=32, block_size=64, vocab_size=257)


def run(args, cwd):
    p = subprocess.run([BIN] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        print("gpt2cl %s failed (%d):\n%s" % (" ".join(args), p.returncode, out))
    return p.returncode == 0, out


def read_u16_shard(path):
    data = open(path, "rb").read()
    h = struct.unpack("<256i", data[:1024])
    return h, list(struct.unpack("<%dH" % h[2], data[1024:]))


def read_mask(path):
    data = open(path, "rb").read()
    return struct.unpack("<256i", data[:1024]), list(data[1024:])


def expected_stream(examples):
    """Tokens and mask bytes of the template (text/sft_example.h), by hand, for the byte tokenizer."""
    toks, mask = [], []
    for i, ex in enumerate(examples):
        toks.append(EOT)
        mask.append(2 | (1 if i > 0 else 0))  # starts an example; ends the one before (a target)
        if "prompt" in ex:
            parts = [(ex["prompt"], 0), (ex["completion"], 1)]
        else:
            parts = []
            for m in ex["messages"]:
                parts += [(m["role"] + ":", 0), (" " + m["content"] + "\n", 1 if m["role"] == "assistant" else 0)]
        for text, target in parts:
            b = list(text.encode("utf-8"))
            toks += b
            mask += [target] * len(b)
    toks.append(EOT)
    mask.append(1)
    return toks, mask


def test_prepare(tmp):
    examples = [{"prompt": "abc=", "completion": "cba"},
                {"messages": [{"role": "user", "content": "hé"}, {"role": "assistant", "content": "yo"},
                              {"role": "user", "content": "x"}, {"role": "assistant", "content": "zz"}]},
                {"prompt": "", "completion": "q"}]
    with open(os.path.join(tmp, "ex.jsonl"), "w") as f:
        for ex in examples:
            f.write(json.dumps(ex) + "\n")
    ok, out = run(["prepare", "--format", "sft", "--tokenizer", "byte", "--val-frac", "0", "--out", "p", "ex.jsonl"],
                  tmp)
    if not ok:
        return report(False, "prepare_sft", "prepare failed")
    h, toks = read_u16_shard(os.path.join(tmp, "p", "train_000000.bin"))
    mh, mask = read_mask(os.path.join(tmp, "p", "train_000000.mask"))
    want_t, want_m = expected_stream(examples)
    report(h[:3] == (20240520, 1, len(want_t)) and toks == want_t, "prepare_sft_tokens",
           "shard: llm.c header, %d tokens as the template gives" % len(toks))
    report(mh[:3] == (20240521, 1, len(want_t)) and mask == want_m, "prepare_sft_mask",
           "mask: header and %d bytes (%d targets, %d starts) as by hand" %
           (len(mask), sum(m & 1 for m in mask), sum(m >> 1 for m in mask)))
    report("3 examples" in out, "prepare_sft_summary", out.strip().splitlines()[-1])


def copy_task(tmp, name, n, seed):
    rnd = random.Random(seed)
    with open(os.path.join(tmp, name), "w") as f:
        for _ in range(n):
            w = "".join(rnd.choice("abcdefgh") for _ in range(rnd.randint(3, 6)))
            f.write(json.dumps({"prompt": "copy %s:" % w, "completion": " " + w}) + "\n")


def test_sft_trains(tmp):
    copy_task(tmp, "copy.jsonl", 3000, 1)
    ok, _ = run(["prepare", "--format", "sft", "--tokenizer", "byte", "--val-frac", "0.1", "--split-block", "512",
                 "--context", "32", "--out", "copy", "copy.jsonl"], tmp)
    if not ok:
        return report(False, "sft_trains", "prepare failed")
    write_ini(os.path.join(tmp, "sft.ini"), task="sft", train_data="copy/train_*.bin", val_data="copy/val_*.bin",
              batch_size=8, seq_len=32, steps=150, lr="3e-3", warmup_steps=10, val_every=1, val_steps=8,
              log="sft.jsonl", **MODEL)
    # lr = 0 for one step leaves the model as initialised: its validation is the loss before training.
    ok, out = run(["train", "--config", "sft.ini", "steps=1", "lr=0"], tmp)
    before = [float(v) for v in re.findall(r"val_loss ([0-9.]+)", out)][:1]
    ok2, out2 = run(["train", "--config", "sft.ini", "val_every=0"], tmp)
    ok = ok and ok2
    after = [float(v) for v in re.findall(r"val_loss ([0-9.]+)", out2)][:1]
    report(ok and before and after and after[0] < 0.5 * before[0], "sft_trains",
           "masked val_loss %s before, %s after 150 steps (wants after < 0.5 x before)" % (before, after))


def params_of(path, L, C, Vp, T):
    """The tensors of an llm.c model file, by name, as raw bytes per layer slice."""
    data = open(path, "rb").read()[1024:]
    shapes = [("wte", 1, Vp * C), ("wpe", 1, T * C), ("ln1w", L, C), ("ln1b", L, C), ("qkvw", L, 3 * C * C),
              ("qkvb", L, 3 * C), ("attprojw", L, C * C), ("attprojb", L, C), ("ln2w", L, C), ("ln2b", L, C),
              ("fcw", L, 4 * C * C), ("fcb", L, 4 * C), ("fcprojw", L, 4 * C * C), ("fcprojb", L, C),
              ("lnfw", 1, C), ("lnfb", 1, C)]
    out, off = {}, 0
    for name, n, size in shapes:
        for l in range(n):
            out[(name, l)] = data[4 * off:4 * (off + size)]
            off += size
    return out


def test_freeze_resume(tmp):
    copy_task(tmp, "fr.jsonl", 800, 2)
    ok, _ = run(["prepare", "--format", "sft", "--tokenizer", "byte", "--val-frac", "0", "--context", "32", "--out",
                 "fr", "fr.jsonl"], tmp)
    common = dict(task="sft", train_data="fr/train_*.bin", batch_size=4, seq_len=32, lr="1e-3", schedule="constant",
                  freeze="layers:0 embeddings", **MODEL)
    write_ini(os.path.join(tmp, "fr.ini"), **common)
    ok = ok and run(["train", "--config", "fr.ini", "steps=1", "lr=0", "out_dir=init"], tmp)[0]
    ok = ok and run(["train", "--config", "fr.ini", "steps=6", "checkpoint_every=3", "out_dir=full"], tmp)[0]
    ok = ok and run(["train", "--config", "fr.ini", "steps=3", "out_dir=cut"], tmp)[0]
    ok2, out = run(["train", "--resume", "cut", "steps=6"], tmp) if ok else (False, "")
    if not (ok and ok2):
        return report(False, "freeze_resume", "a run failed")
    shape = (2, 32, 384, 64)
    init = params_of(os.path.join(tmp, "init", "model_00000001.bin"), *shape)
    final = params_of(os.path.join(tmp, "full", "model_00000006.bin"), *shape)
    frozen = {k for k in init if k[0] == "wte" or (k[1] == 0 and k[0] not in ("wpe", "lnfw", "lnfb"))}
    same = {k for k in init if init[k] == final[k]}
    report(same == frozen, "freeze_bit_identical",
           "%d frozen slices (wte, layer 0) bit-identical after 6 steps, the %d others changed%s" %
           (len(frozen), len(init) - len(frozen), "" if same == frozen else ": DIFFER %s" % sorted(same ^ frozen)))
    files = ("model_00000006.bin", "state_00000006.bin")
    identical = all(open(os.path.join(tmp, "full", f), "rb").read() == open(os.path.join(tmp, "cut", f), "rb").read()
                    for f in files)
    report(identical and "freeze: " in out, "freeze_resume_identical",
           "resumed at step 3 with freeze: %s byte-identical to the uninterrupted run" % " and ".join(files))


def cases(tmp):
    test_prepare(tmp)
    test_sft_trains(tmp)
    test_freeze_resume(tmp)


if __name__ == "__main__":
    sys.exit(run_in_temp_folder("sft_training", cases))
