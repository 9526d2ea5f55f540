#!/usr/bin/python3
"""Generate the classification-head reference for gpt2cl's head test.

Runs Hugging Face transformers' GPT2ForSequenceClassification (float64) with the
weights of tests/fixtures/tiny/model.bin and a random 3-label score matrix on a
right-padded batch, and writes tests/fixtures/tiny/classify.bin:

  256 int32 header (20261202, 1, B, T, K, PAD, 0...), then
  x (B*T int32, padded with PAD), last (B int32: HF's last non-pad position),
  labels (B int32), W (K*C float32, score.weight), logits (B*K float32),
  loss (1 float32, mean cross-entropy), dW (K*C float32), then the gradients of
  all transformer parameters (float32, model.bin layout; padded wte rows zero).

Run:  python3 tests/make_classify_fixtures.py   (needs torch and transformers)
The output is deterministic.
"""
import os
import sys

import numpy as np
import torch
from transformers import GPT2Config, GPT2ForSequenceClassification

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
TINY = os.path.join(HERE, "fixtures", "tiny")
B, T, K = 3, 12, 3
LENGTHS = [12, 7, 1]  # a full window, a padded one, a single token
LABELS = [2, 0, 1]


def read_model(path):
    raw = open(path, "rb").read()
    h = np.frombuffer(raw[:1024], dtype=np.int32)
    assert h[0] == 20240326 and h[1] == 3, "bad model.bin header"
    maxT, V, L, NH, C, Vp = (int(v) for v in h[2:8])
    flat = np.frombuffer(raw[1024:], dtype=np.float32).astype(np.float64)
    shapes = [("wte", (Vp, C)), ("wpe", (maxT, C)), ("ln1w", (L, C)), ("ln1b", (L, C)),
              ("qkvw", (L, 3 * C, C)), ("qkvb", (L, 3 * C)), ("attprojw", (L, C, C)), ("attprojb", (L, C)),
              ("ln2w", (L, C)), ("ln2b", (L, C)), ("fcw", (L, 4 * C, C)), ("fcb", (L, 4 * C)),
              ("fcprojw", (L, C, 4 * C)), ("fcprojb", (L, C)), ("lnfw", (C,)), ("lnfb", (C,))]
    p, off = {}, 0
    for name, shape in shapes:
        n = int(np.prod(shape))
        p[name] = flat[off:off + n].reshape(shape)
        off += n
    assert off == flat.size
    return (maxT, V, L, NH, C, Vp), shapes, p


# HF parameter name -> (llm.c tensor, layer or None, transposed: HF's Conv1D stores (in, out))
def hf_map(L):
    m = {"transformer.wte.weight": ("wte", None, False), "transformer.wpe.weight": ("wpe", None, False),
         "transformer.ln_f.weight": ("lnfw", None, False), "transformer.ln_f.bias": ("lnfb", None, False)}
    per = [("ln_1.weight", "ln1w", False), ("ln_1.bias", "ln1b", False), ("attn.c_attn.weight", "qkvw", True),
           ("attn.c_attn.bias", "qkvb", False), ("attn.c_proj.weight", "attprojw", True),
           ("attn.c_proj.bias", "attprojb", False), ("ln_2.weight", "ln2w", False), ("ln_2.bias", "ln2b", False),
           ("mlp.c_fc.weight", "fcw", True), ("mlp.c_fc.bias", "fcb", False),
           ("mlp.c_proj.weight", "fcprojw", True), ("mlp.c_proj.bias", "fcprojb", False)]
    for l in range(L):
        for hf, ours, tr in per:
            m[f"transformer.h.{l}.{hf}"] = (ours, l, tr)
    return m


def main():
    (maxT, V, L, NH, C, Vp), shapes, p = read_model(os.path.join(TINY, "model.bin"))
    pad = V - 1  # the tiny vocabulary's "end of text", never inside the sequences below
    cfg = GPT2Config(vocab_size=V, n_positions=maxT, n_embd=C, n_layer=L, n_head=NH, num_labels=K,
                     pad_token_id=pad, bos_token_id=pad, eos_token_id=pad, activation_function="gelu_new", layer_norm_epsilon=1e-5,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, summary_first_dropout=0.0)
    cfg._attn_implementation = "eager"
    model = GPT2ForSequenceClassification(cfg).double().eval()
    names = hf_map(L)
    rng = np.random.default_rng(20261202)
    W = rng.normal(0.0, 0.3, size=(K, C))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name == "score.weight":
                param.copy_(torch.from_numpy(W))
                continue
            ours, l, tr = names[name]
            src = p[ours] if l is None else p[ours][l]
            if ours == "wte":
                src = src[:V]
            param.copy_(torch.from_numpy(np.ascontiguousarray(src.T if tr else src)))
    assert set(names) | {"score.weight"} == {n for n, _ in model.named_parameters()}

    x = np.full((B, T), pad, dtype=np.int32)
    for b, n in enumerate(LENGTHS):
        x[b, :n] = rng.integers(0, pad, size=n)
    labels = torch.tensor(LABELS)
    out = model(input_ids=torch.from_numpy(x).long(), labels=labels)
    out.loss.backward()
    last = np.array(LENGTHS, dtype=np.int32) - 1  # HF's rule: the rightmost non-pad token
    ids = torch.from_numpy(x).long()
    hf_last = ((ids != pad).int() * torch.arange(T)).argmax(-1).numpy()
    assert (hf_last == last).all(), (hf_last, last)

    grads = {name: np.zeros(shape) for name, shape in shapes}
    for name, param in model.named_parameters():
        if name == "score.weight":
            continue
        ours, l, tr = names[name]
        g = param.grad.numpy()
        g = g.T if tr else g
        if ours == "wte":
            grads[ours][:V] = g
        elif l is None:
            grads[ours][...] = g
        else:
            grads[ours][l] = g
    header = np.zeros(256, dtype=np.int32)
    header[:6] = [20261202, 1, B, T, K, pad]
    f32 = lambda a: np.asarray(a, dtype=np.float32).tobytes()
    blob = (header.tobytes() + x.tobytes() + last.tobytes() + np.array(LABELS, dtype=np.int32).tobytes() +
            f32(W) + f32(out.logits.detach().numpy()) + f32([out.loss.item()]) +
            f32(model.score.weight.grad.numpy()) + b"".join(f32(grads[n]) for n, _ in shapes))
    path = os.path.join(TINY, "classify.bin")
    with open(path, "wb") as f:
        f.write(blob)
    print(f"wrote {path} ({len(blob)} bytes); loss {out.loss.item():.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
