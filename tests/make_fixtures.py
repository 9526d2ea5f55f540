#!/usr/bin/python3
"""Generate the tiny GPT-2 reference fixtures for gpt2cl's whole-model test.

Writes tests/fixtures/tiny/{model.bin,state.bin,fixture.json} (see
tests/fixtures/README.md). GPT-2 is written by hand in PyTorch (no
transformers); the reference is computed in float64 and stored as float32.

Run with Debian's python3-torch:  /usr/bin/python3 tests/make_fixtures.py
The output is deterministic (same bytes on every run).
"""
import json
import math
import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)  # reproducible reductions

# ----------------------------------------------------------------------------
# configuration
V, Vp, maxT, L, NH, C = 101, 128, 16, 2, 4, 32
B, T = 2, 12
NSTEPS = 10
SEED = 1337
LR, BETA1, BETA2, EPS, WD = 1e-3, 0.9, 0.95, 1e-8, 0.1
LN_EPS = 1e-5

MODEL_MAGIC, MODEL_VERSION = 20240326, 3
STATE_MAGIC, STATE_VERSION = 20240327, 2

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "tiny")

# llm.c parameter order and shapes (all layers stacked)
PARAM_SHAPES = [
    ("wte", (Vp, C)),
    ("wpe", (maxT, C)),
    ("ln1w", (L, C)),
    ("ln1b", (L, C)),
    ("qkvw", (L, 3 * C, C)),
    ("qkvb", (L, 3 * C)),
    ("attprojw", (L, C, C)),
    ("attprojb", (L, C)),
    ("ln2w", (L, C)),
    ("ln2b", (L, C)),
    ("fcw", (L, 4 * C, C)),
    ("fcb", (L, 4 * C)),
    ("fcprojw", (L, C, 4 * C)),
    ("fcprojb", (L, C)),
    ("lnfw", (C,)),
    ("lnfb", (C,)),
]
# tensors that are matrices (per layer) -> weight decay
DECAY = {"wte", "wpe", "qkvw", "attprojw", "fcw", "fcprojw"}


def init_params():
    """Random float32 parameters, generated in llm.c order from one seeded stream."""
    g = torch.Generator().manual_seed(SEED)

    def randn(shape):
        return torch.randn(shape, generator=g, dtype=torch.float32)

    p = {}
    for name, shape in PARAM_SHAPES:
        if name == "wte":
            t = 0.02 * randn(shape)
            t[V:] = 0.0
        elif name == "wpe":
            t = 0.02 * randn(shape)
        elif name in ("qkvw", "fcw"):
            t = 0.02 * randn(shape)
        elif name in ("attprojw", "fcprojw"):
            t = (0.02 / math.sqrt(2 * L)) * randn(shape)
        elif name in ("ln1w", "ln2w", "lnfw"):
            t = 1.0 + 0.1 * randn(shape)
        elif name in ("ln1b", "ln2b", "lnfb"):
            t = 0.1 * randn(shape)
        else:  # linear biases
            t = 0.02 * randn(shape)
        p[name] = t.contiguous()
    tokens = torch.randint(0, V, (2, B, T), generator=g, dtype=torch.int64)
    return p, tokens[0], tokens[1]


# ----------------------------------------------------------------------------
# the model (hand-written GPT-2)

def layernorm(x, w, b):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)  # biased variance
    return (x - mean) / torch.sqrt(var + LN_EPS) * w + b


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def forward(p, idx, targets):
    """Returns (logits over Vp, loss). p: dict of tensors; idx/targets: (B,T) int64."""
    Bn, Tn = idx.shape
    hs = C // NH
    x = p["wte"][idx] + p["wpe"][:Tn].unsqueeze(0)  # (B,T,C)
    mask = torch.tril(torch.ones(Tn, Tn, dtype=torch.bool))
    for l in range(L):
        h = layernorm(x, p["ln1w"][l], p["ln1b"][l])
        qkv = h @ p["qkvw"][l].T + p["qkvb"][l]  # (B,T,3C)
        q, k, v = qkv.split(C, dim=-1)
        q = q.view(Bn, Tn, NH, hs).transpose(1, 2)  # (B,NH,T,hs)
        k = k.view(Bn, Tn, NH, hs).transpose(1, 2)
        v = v.view(Bn, Tn, NH, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(~mask, float("-inf"))
        att = torch.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(Bn, Tn, C)
        x = x + (y @ p["attprojw"][l].T + p["attprojb"][l])
        h = layernorm(x, p["ln2w"][l], p["ln2b"][l])
        h = gelu_tanh(h @ p["fcw"][l].T + p["fcb"][l])
        x = x + (h @ p["fcprojw"][l].T + p["fcprojb"][l])
    x = layernorm(x, p["lnfw"], p["lnfb"])
    logits = x @ p["wte"].T  # (B,T,Vp)
    loss = torch.nn.functional.cross_entropy(
        logits[..., :V].reshape(-1, V), targets.reshape(-1), reduction="mean")
    return logits, loss


def forward_independent(p, idx, targets):
    """Cross-check forward using torch's built-in ops (layer_norm, gelu, sdpa-less)."""
    F = torch.nn.functional
    Bn, Tn = idx.shape
    hs = C // NH
    x = F.embedding(idx, p["wte"]) + F.embedding(torch.arange(Tn), p["wpe"])
    for l in range(L):
        h = F.layer_norm(x, (C,), p["ln1w"][l], p["ln1b"][l], eps=LN_EPS)
        qkv = F.linear(h, p["qkvw"][l], p["qkvb"][l])
        q, k, v = [t.reshape(Bn, Tn, NH, hs).permute(0, 2, 1, 3) for t in qkv.chunk(3, dim=-1)]
        s = torch.einsum("bhtd,bhsd->bhts", q, k) / math.sqrt(hs)
        s = s + torch.triu(torch.full((Tn, Tn), float("-inf"), dtype=s.dtype), 1)
        y = torch.einsum("bhts,bhsd->bhtd", F.softmax(s, -1), v).permute(0, 2, 1, 3).reshape(Bn, Tn, C)
        x = x + F.linear(y, p["attprojw"][l], p["attprojb"][l])
        h = F.layer_norm(x, (C,), p["ln2w"][l], p["ln2b"][l], eps=LN_EPS)
        x = x + F.linear(F.gelu(F.linear(h, p["fcw"][l], p["fcb"][l]), approximate="tanh"),
                         p["fcprojw"][l], p["fcprojb"][l])
    x = F.layer_norm(x, (C,), p["lnfw"], p["lnfb"], eps=LN_EPS)
    logits = F.linear(x, p["wte"])
    mask = torch.zeros(Vp, dtype=logits.dtype)
    mask[V:] = float("-inf")
    loss = F.cross_entropy((logits + mask).reshape(-1, Vp), targets.reshape(-1))
    return logits, loss


# ----------------------------------------------------------------------------

def flat_f32(tensors):
    return np.concatenate([t.detach().to(torch.float32).numpy().ravel() for t in tensors]).astype("<f4")


def header(vals):
    h = np.zeros(256, dtype="<i4")
    h[: len(vals)] = vals
    return h.tobytes()


def check(cond, msg):
    if not cond:
        print("CHECK FAILED:", msg, file=sys.stderr)
        sys.exit(1)
    print("ok:", msg)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    p32, xtok, ytok = init_params()
    names = [n for n, _ in PARAM_SHAPES]

    # ---- float64 reference forward/backward at the initial parameters
    p64 = {n: p32[n].to(torch.float64).requires_grad_(True) for n in names}
    logits64, loss64 = forward(p64, xtok, ytok)
    grads64 = torch.autograd.grad(loss64, [p64[n] for n in names])
    grads64 = {n: g.detach() for n, g in zip(names, grads64)}
    loss0 = loss64.item()

    # ---- sanity checks
    q32 = {n: p32[n].clone().requires_grad_(True) for n in names}
    _, loss32 = forward(q32, xtok, ytok)
    check(abs(loss32.item() - loss0) / abs(loss0) < 1e-5,
          f"float32 loss {loss32.item():.8f} vs float64 {loss0:.8f}")
    g32 = torch.autograd.grad(loss32, [q32[n] for n in names])
    g32_maxdiff = max((a.double() - grads64[n]).abs().max().item() for n, a in zip(names, g32))
    g_max = max(g.abs().max().item() for g in grads64.values())
    check(g32_maxdiff < 1e-3 * g_max, f"float32 grads vs float64: max abs diff {g32_maxdiff:.3e} (max |g| {g_max:.3e})")
    with torch.no_grad():
        lg_ind, loss_ind = forward_independent({n: p64[n].detach() for n in names}, xtok, ytok)
    check(abs(loss_ind.item() - loss0) < 1e-12 * abs(loss0) + 1e-13
          and (lg_ind - logits64.detach()).abs().max().item() < 1e-12,
          f"independent built-in-op forward matches (loss {loss_ind.item():.15f})")
    check(abs(loss0 - math.log(V)) < 0.5, f"initial loss {loss0:.6f} near ln(V)={math.log(V):.6f}")
    check(grads64["wte"][V:].eq(0).all().item(), "padded wte rows have zero grad")

    # finite differences on a few entries of every tensor (float64, central)
    rng = np.random.RandomState(SEED)
    worst = 0.0
    with torch.no_grad():
        pd = {n: p64[n].detach().clone() for n in names}
        for n in names:
            for _ in range(3):
                i = int(rng.randint(pd[n].numel()))
                if n == "wte":
                    i = int(rng.randint(V * C))
                flat = pd[n].view(-1)
                old = flat[i].item()
                h = 1e-6
                flat[i] = old + h
                lp = forward(pd, xtok, ytok)[1].item()
                flat[i] = old - h
                lm = forward(pd, xtok, ytok)[1].item()
                flat[i] = old
                fd = (lp - lm) / (2 * h)
                an = grads64[n].view(-1)[i].item()
                err = abs(fd - an) / max(1e-4, abs(an), abs(fd))
                worst = max(worst, err)
    check(worst < 1e-5, f"finite-difference gradient check (worst rel err {worst:.2e})")

    # ---- 10 AdamW steps (float64) on the same batch
    params = [p32[n].to(torch.float64).clone().requires_grad_(True) for n in names]
    pmap = dict(zip(names, params))
    # clip at half the initial grad norm, 2 significant digits
    gn0 = math.sqrt(sum((g ** 2).sum().item() for g in grads64.values()))
    grad_clip = float(f"{0.5 * gn0:.2g}")
    opt = torch.optim.AdamW(
        [{"params": [pmap[n] for n in names if n in DECAY], "weight_decay": WD},
         {"params": [pmap[n] for n in names if n not in DECAY], "weight_decay": 0.0}],
        lr=LR, betas=(BETA1, BETA2), eps=EPS, foreach=False, amsgrad=False, maximize=False)

    # manual AdamW mirror to verify torch's form (decoupled wd * lr, bias correction, eps after sqrt)
    man = {n: p32[n].to(torch.float64).clone() for n in names}
    m_ = {n: torch.zeros_like(man[n]) for n in names}
    v_ = {n: torch.zeros_like(man[n]) for n in names}

    losses, grad_norms, clip_coefs = [], [], []
    for step in range(1, NSTEPS + 1):
        opt.zero_grad(set_to_none=True)
        _, loss = forward(pmap, xtok, ytok)
        loss.backward()
        losses.append(loss.item())
        total = torch.nn.utils.clip_grad_norm_(params, grad_clip, norm_type=2.0).item()
        grad_norms.append(total)
        coef = min(1.0, grad_clip / (total + 1e-6))
        clip_coefs.append(coef)
        # manual mirror
        man_req = {n: man[n].clone().requires_grad_(True) for n in names}
        _, lman = forward(man_req, xtok, ytok)
        gm = torch.autograd.grad(lman, [man_req[n] for n in names])
        with torch.no_grad():
            for n, g in zip(names, gm):
                g = g * coef
                wd = WD if n in DECAY else 0.0
                man[n].mul_(1 - LR * wd)
                m_[n].mul_(BETA1).add_(g, alpha=1 - BETA1)
                v_[n].mul_(BETA2).addcmul_(g, g, value=1 - BETA2)
                mhat = m_[n] / (1 - BETA1 ** step)
                vhat = v_[n] / (1 - BETA2 ** step)
                man[n].sub_(LR * mhat / (vhat.sqrt() + EPS))
        opt.step()
    with torch.no_grad():
        final_loss = forward(pmap, xtok, ytok)[1].item()
        mdiff = max((pmap[n] - man[n]).abs().max().item() for n in names)
    check(abs(losses[0] - loss0) < 1e-12, "loss[0] equals expected loss")
    check(mdiff < 1e-12, f"torch AdamW == manual PyTorch-form AdamW (max param diff {mdiff:.1e})")
    check(pmap["wte"][V:].eq(0).all().item(), "padded wte rows stay exactly 0 after AdamW")
    nclipped = sum(c < 1.0 for c in clip_coefs)
    check(nclipped >= NSTEPS // 2, f"clipping triggered on {nclipped}/{NSTEPS} steps")
    check(losses[-1] < losses[0], "loss decreases")

    # ---- write model.bin
    model_hdr = header([MODEL_MAGIC, MODEL_VERSION, maxT, V, L, NH, C, Vp])
    pflat = flat_f32([p32[n] for n in names])
    with open(os.path.join(OUT_DIR, "model.bin"), "wb") as f:
        f.write(model_hdr)
        f.write(pflat.tobytes())

    # ---- write state.bin
    state_hdr = header([STATE_MAGIC, STATE_VERSION, B, T, NSTEPS])
    with open(os.path.join(OUT_DIR, "state.bin"), "wb") as f:
        f.write(state_hdr)
        f.write(xtok.numpy().astype("<i4").tobytes())
        f.write(ytok.numpy().astype("<i4").tobytes())
        f.write(logits64.detach()[..., :V].numpy().astype("<f4").tobytes())
        f.write(np.array([loss0], dtype="<f4").tobytes())
        f.write(flat_f32([grads64[n] for n in names]).tobytes())
        f.write(np.array(losses, dtype="<f4").tobytes())

    # ---- write fixture.json
    offsets, off = {}, 0
    for n, shape in PARAM_SHAPES:
        cnt = int(np.prod(shape))
        offsets[n] = {"offset": off, "shape": list(shape), "count": cnt, "weight_decay": n in DECAY}
        off += cnt
    meta = {
        "description": "tiny GPT-2 reference (float64 PyTorch, stored float32); see tests/fixtures/README.md",
        "V": V, "Vp": Vp, "maxT": maxT, "L": L, "NH": NH, "C": C,
        "B": B, "T": T, "nsteps": NSTEPS, "seed": SEED,
        "lr": LR, "lr_schedule": "constant, no warmup",
        "beta1": BETA1, "beta2": BETA2, "eps": EPS,
        "weight_decay": WD, "weight_decay_on": sorted(DECAY),
        "grad_clip": grad_clip, "grad_clip_form": "coef = min(1, grad_clip / (total_norm + 1e-6)), total_norm = global L2 over all params",
        "adamw_form": "p -= lr*wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)",
        "num_parameters": off,
        "param_layout": offsets,
        "loss0": loss0,
        "losses": losses,
        "grad_norms_preclip": grad_norms,
        "clip_coefs": clip_coefs,
        "loss_after_final_step": final_loss,
        "diag_float32_vs_float64_max_grad_absdiff": float(f"{g32_maxdiff:.3e}"),
        "diag_float32_loss": loss32.item(),
    }
    with open(os.path.join(OUT_DIR, "fixture.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")

    print(f"num_parameters {off}, grad_clip {grad_clip}, loss0 {loss0:.6f}")
    print("losses:", " ".join(f"{l:.6f}" for l in losses))
    print("grad norms:", " ".join(f"{g:.5f}" for g in grad_norms))
    print("final loss after step 10:", f"{final_loss:.6f}")
    for fn in ("model.bin", "state.bin", "fixture.json"):
        print(fn, os.path.getsize(os.path.join(OUT_DIR, fn)), "bytes")


if __name__ == "__main__":
    main()
