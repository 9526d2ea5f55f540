#!/usr/bin/python3
"""Generate the masked-loss (supervised fine-tuning) and freezing fixture of gpt2cl's test sft_vs_pytorch.

Uses the tiny GPT-2 of tests/make_fixtures.py (its model.bin, same parameters and batch) and writes
tests/fixtures/sft/{state.bin,fixture.json}:
  - the batch's targets with a loss mask applied (-1 = not a target, as gpt2cl's data loader
    writes them for task = sft): the first tokens of every row and every third position are masked;
  - the masked loss (the mean over the unmasked targets only) and every parameter gradient, float64;
  - the losses of NSTEPS AdamW steps (clipped) with layer 0, wte and wpe frozen: they take no
    gradient and no update, and the gradient norm covers the trained parameters only.

Run with PyTorch:  python3 tests/make_sft_fixtures.py   (deterministic output)
"""
import json
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402

NSTEPS = 4
FREEZE = "layers:0 embeddings positions"
FROZEN = {"wte": None, "wpe": None}  # every slice; the per-layer tensors freeze their layer 0
LAYER_TENSORS = [n for n, _ in mf.PARAM_SHAPES[2:14]]
MAGIC, VERSION = 20240601, 1
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "sft")


def masked_targets(y):
    y = y.clone()
    Bn, Tn = y.shape
    for b in range(Bn):
        for t in range(Tn):
            if t < 2 + b or (b * Tn + t) % 3 == 0:
                y[b, t] = -1
    return y


def masked_loss(p, x, y):
    logits, _ = mf.forward(p, x, torch.zeros_like(x))
    lv = logits[..., :mf.V].reshape(-1, mf.V)
    return torch.nn.functional.cross_entropy(lv, y.reshape(-1), ignore_index=-1, reduction="sum") / (y >= 0).sum()


def frozen_mask(name):
    """1 where the parameter is frozen (whole tensor for wte/wpe, layer 0 of the per-layer tensors)."""
    shape = dict(mf.PARAM_SHAPES)[name]
    m = torch.zeros(shape, dtype=torch.bool)
    if name in FROZEN:
        m[...] = True
    elif name in LAYER_TENSORS:
        m[0] = True
    return m


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    p32, x, y_full = mf.init_params()
    y = masked_targets(y_full)
    names = [n for n, _ in mf.PARAM_SHAPES]
    p64 = {n: p32[n].to(torch.float64).requires_grad_(True) for n in names}
    loss = masked_loss(p64, x, y)
    grads = {n: g.detach() for n, g in zip(names, torch.autograd.grad(loss, [p64[n] for n in names]))}
    # The mean over unmasked positions, by hand: the masked ones contribute nothing.
    with torch.no_grad():
        logits, _ = mf.forward(p64, x, torch.zeros_like(x))
        lsm = torch.log_softmax(logits[..., :mf.V], dim=-1)
        keep = [(b, t) for b in range(y.shape[0]) for t in range(y.shape[1]) if y[b, t] >= 0]
        by_hand = -sum(lsm[b, t, y[b, t]].item() for b, t in keep) / len(keep)
    mf.check(abs(by_hand - loss.item()) < 1e-12, f"masked loss {loss.item():.10f} = mean over {len(keep)} targets")

    # NSTEPS AdamW steps with FREEZE: frozen entries masked out of the gradient (so out of the norm) and the update.
    grad_clip = float(json.load(open(os.path.join(mf.OUT_DIR, "fixture.json")))["grad_clip"])
    q = {n: p32[n].to(torch.float64).clone() for n in names}
    m_ = {n: torch.zeros_like(q[n]) for n in names}
    v_ = {n: torch.zeros_like(q[n]) for n in names}
    fm = {n: frozen_mask(n) for n in names}
    losses = []
    for step in range(1, NSTEPS + 1):
        req = {n: q[n].clone().requires_grad_(True) for n in names}
        lo = masked_loss(req, x, y)
        losses.append(lo.item())
        g = {n: gg.detach().masked_fill(fm[n], 0.0) for n, gg in zip(names, torch.autograd.grad(lo, [req[n] for n in names]))}
        norm = torch.sqrt(sum((gg ** 2).sum() for gg in g.values())).item()
        coef = min(1.0, grad_clip / (norm + 1e-6))
        with torch.no_grad():
            for n in names:
                gg = g[n] * coef
                wd = mf.WD if n in mf.DECAY else 0.0
                new = q[n] * (1 - mf.LR * wd)
                m_[n] = torch.where(fm[n], m_[n], mf.BETA1 * m_[n] + (1 - mf.BETA1) * gg)
                v_[n] = torch.where(fm[n], v_[n], mf.BETA2 * v_[n] + (1 - mf.BETA2) * gg * gg)
                mhat = m_[n] / (1 - mf.BETA1 ** step)
                vhat = v_[n] / (1 - mf.BETA2 ** step)
                new = new - mf.LR * mhat / (vhat.sqrt() + mf.EPS)
                q[n] = torch.where(fm[n], q[n], new)
    mf.check(all(torch.equal(q[n][fm[n]], p32[n].to(torch.float64)[fm[n]]) for n in names), "frozen entries unchanged")
    mf.check(losses[-1] < losses[0], f"masked loss decreases with freezing: {losses}")

    with open(os.path.join(OUT_DIR, "state.bin"), "wb") as f:
        f.write(mf.header([MAGIC, VERSION, x.shape[0], x.shape[1], NSTEPS]))
        f.write(x.numpy().astype("<i4").tobytes())
        f.write(y.numpy().astype("<i4").tobytes())
        f.write(np.array([loss.item()], dtype="<f4").tobytes())
        f.write(mf.flat_f32([grads[n] for n in names]).tobytes())
        f.write(np.array(losses, dtype="<f4").tobytes())
    meta = {"description": "masked loss, gradients and frozen AdamW steps of tests/fixtures/tiny's model; "
                           "see tests/make_sft_fixtures.py",
            "model": "../tiny/model.bin", "freeze": FREEZE, "targets": len(keep), "loss": loss.item(),
            "losses": losses, "lr": mf.LR, "beta1": mf.BETA1, "beta2": mf.BETA2, "eps": mf.EPS,
            "weight_decay": mf.WD, "grad_clip": grad_clip}
    with open(os.path.join(OUT_DIR, "fixture.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("masked loss %.6f over %d targets; frozen steps %s" % (loss.item(), len(keep), losses))


if __name__ == "__main__":
    main()
