#!/usr/bin/python3
"""Checks `gpt2cl export --format hf` against the real transformers package (not in CI: it needs torch and
transformers; run it by hand after changing the exporter).

1. The tiny transformers fixture (tests/fixtures/hf/f32), imported and exported again by gpt2cl (F32 and
   BF16): GPT2LMHeadModel.from_pretrained reports no missing, unexpected or mismatched weights, and its logits
   on the fixture's batch equal the fixture's (which the hf_formats test shows gpt2cl computes to 1e-5).
2. A GPT-2 124M-shaped llm.c checkpoint (random weights, or --model FILE), exported with gpt2cl's tokenizer
   files: from_pretrained loads it cleanly; GPT2TokenizerFast.from_pretrained gives tiktoken's ids on every
   valid-UTF-8 case of tests/fixtures/tokenizer/cases.txt (split_special_tokens, as
   tiktoken's encode_ordinary); greedy decoding by transformers and by
   `gpt2cl sample greedy=1` continue a prompt with the same text.

Usage: python3 tests/check_hf_export.py [--model FILE] [--bin build/gpt2cl]
"""
import argparse
import json
import logging
import os
import struct
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import transformers
from transformers import GPT2LMHeadModel, GPT2TokenizerFast

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIX = os.path.join(ROOT, "tests", "fixtures", "hf")
results = []


def report(ok, what):
    results.append(ok)
    print("%s %s" % ("PASS" if ok else "FAIL", what))
    sys.stdout.flush()


def export(gpt2cl, src, out, *extra):
    subprocess.run([gpt2cl, "export", "--checkpoint", src, "--format", "hf", "--out", out] + list(extra),
                   check=True, stdout=subprocess.DEVNULL)


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def load_clean(folder, **kw):
    """from_pretrained with its loading report; the model and the problems it lists or warns about."""
    caught = Records()
    logger = logging.getLogger("transformers")
    logger.addHandler(caught)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        model, info = GPT2LMHeadModel.from_pretrained(folder, output_loading_info=True, **kw)
    logger.removeHandler(caught)
    problems = {k: v for k, v in info.items() if v}
    if caught.lines or warned:
        problems["warnings"] = caught.lines + [str(w.message) for w in warned]
    return model.eval(), problems


def tiny(gpt2cl, tmp):
    ref = json.load(open(os.path.join(FIX, "reference.json")))
    x = torch.tensor(ref["x"]).reshape(ref["B"], ref["T"])
    for dtype, logits_file in (("f32", "logits_f32.bin"), ("bf16", "logits_bf16.bin")):
        src = os.path.join(FIX, dtype)
        out = os.path.join(tmp, "tiny_" + dtype)
        export(gpt2cl, src, out, "--dtype", dtype)
        model, problems = load_clean(out, dtype=torch.float64)
        report(not problems, "tiny %s: from_pretrained reports no missing/unexpected weights nor warnings %s" % (dtype, problems))
        with torch.no_grad():
            logits = model(input_ids=x).logits.float().numpy().reshape(-1)
        want = np.frombuffer(open(os.path.join(FIX, logits_file), "rb").read(), dtype="<f4")
        rel = float(np.abs(logits - want).max() / np.abs(want).max())
        report(rel <= 1e-6, "tiny %s: transformers' logits of the export = the fixture's (max rel diff %.1e)"
               % (dtype, rel))


def random_124m(path):
    V, Vp, T, L, NH, C = 50257, 50304, 1024, 12, 12, 768
    n = Vp * C + T * C + L * (12 * C * C + 13 * C) + 2 * C
    p = np.random.default_rng(0).standard_normal(n, dtype=np.float32) * 0.02
    p[V * C:Vp * C] = 0
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *([20240326, 3, T, V, L, NH, C, Vp] + [0] * 248)))
        f.write(p.astype("<f4").tobytes())


def tokenizer_cases(tok):
    bad = total = 0
    for line in open(os.path.join(ROOT, "tests", "fixtures", "tokenizer", "cases.txt")):
        hexed, _, ids = line.rstrip("\n").partition("\t")
        try:
            text = bytes.fromhex(hexed).decode("utf-8")
        except ValueError:
            continue  # invalid UTF-8: no str for transformers to take
        total += 1
        want = [int(i) for i in ids.split()]
        # tiktoken's encode_ordinary reads "<|endoftext|>" in text as text; transformers only when told so.
        if tok(text, split_special_tokens=True)["input_ids"] != want:
            bad += 1
    report(bad == 0 and total > 0, "GPT2TokenizerFast gives tiktoken's ids on %d of %d cases" % (total - bad, total))


def big(gpt2cl, tmp, model_file):
    if not model_file:
        model_file = os.path.join(tmp, "gpt2_124M.bin")
        random_124m(model_file)
    out = os.path.join(tmp, "big")
    export(gpt2cl, model_file, out)
    model, problems = load_clean(out)
    report(not problems, "124M: from_pretrained reports no missing/unexpected weights nor warnings %s" % problems)
    tok = GPT2TokenizerFast.from_pretrained(out)
    report(len(tok) == 50257 and tok.eos_token_id == 50256, "tokenizer: %d tokens, eos %s" % (len(tok), tok.eos_token))
    tokenizer_cases(tok)
    prompt, n = "The quick brown fox jumps over the lazy dog.", 16
    ids = tok(prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        gen = model.generate(ids, max_new_tokens=n, do_sample=False, pad_token_id=50256)
    theirs = prompt + tok.decode(gen[0, ids.shape[1]:])
    mine = subprocess.run([gpt2cl, "sample", "--checkpoint", out, "--prompt", prompt, "greedy=1", "stop_at_eot=0",
                           "max_new_tokens=%d" % n], check=True, stdout=subprocess.PIPE).stdout.decode().rstrip("\n")
    report(mine == theirs, "greedy continuation: gpt2cl %r, transformers %r" % (mine, theirs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="an llm.c checkpoint to export (default: random 124M weights)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "gpt2cl"))
    a = ap.parse_args()
    print("transformers %s, torch %s" % (transformers.__version__, torch.__version__))
    with tempfile.TemporaryDirectory() as tmp:
        tiny(a.bin, tmp)
        big(a.bin, tmp, a.model)
    print("%d passed, %d failed" % (results.count(True), results.count(False)))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
