#!/usr/bin/env python3
"""PyTorch yardstick for `gpt2cl bench`: times fp32 GPT-2 training steps
(forward, backward, AdamW) on random tokens, with the model and batch of a
gpt2cl config, on a CPU or a CUDA GPU, eager or torch.compile'd.

    python3 scripts/torch_gpt2_bench.py --config configs/gpt2_124m.ini [--device cuda] [--compile]
        [--threads N] [--warmup N] [--steps N] [key=value ...]

key=value overrides config keys as in gpt2cl (n_layer, n_head, n_embd,
block_size, vocab_size, batch_size, seq_len). Prints one human line and one
JSON line ("torch_bench": {...}). Matrix products stay in full fp32 (TF32 off),
as gpt2cl computes them.
"""
import argparse
import configparser
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.c_fc_proj = nn.Linear(4 * C, C)

    def forward(self, x):  # (B, T, C)
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.NH, C // self.NH).transpose(1, 2) for t in (q, k, v))  # (B, NH, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.c_fc_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, L, NH, C, V, maxT):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(maxT, C)
        self.h = nn.ModuleList(Block(C, NH) for _ in range(L))
        self.ln_f = nn.LayerNorm(C)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, targets):  # (B, T) -> scalar loss
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()  # (B, T, V), tied weights
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def load_config(path, overrides):
    keys = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 256, "vocab_size": 50257,
            "batch_size": 8, "seq_len": 64}
    if path:
        cp = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
        with open(path) as f:
            cp.read_string("[top]\n" + f.read())
        for section in cp.sections():
            for k, v in cp[section].items():
                if k in keys:
                    keys[k] = int(v)
    for kv in overrides:
        k, _, v = kv.partition("=")
        if k in keys:
            keys[k] = int(v)
    return keys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("overrides", nargs="*")
    a = ap.parse_args()
    k = load_config(a.config, a.overrides)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(1337)
    dev = torch.device(a.device)
    model = GPT2(k["n_layer"], k["n_head"], k["n_embd"], k["vocab_size"], k["block_size"]).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    step_fn = model
    if a.compile:
        step_fn = torch.compile(model)
    B, T = k["batch_size"], k["seq_len"]
    x = torch.randint(0, k["vocab_size"], (B, T), device=dev)
    y = torch.randint(0, k["vocab_size"], (B, T), device=dev)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def step():
        loss = step_fn(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    t0 = time.perf_counter()
    for _ in range(a.warmup):
        step()
    sync()
    warm_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    sync()
    dt = (time.perf_counter() - t0) / a.steps
    params = sum(p.numel() for p in model.parameters())
    L, C = k["n_layer"], k["n_embd"]
    flops = (6 * params + 12 * L * C * T) * B * T  # as gpt2cl counts (attention included)
    mode = "compile" if a.compile else "eager"
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu, %d threads" % torch.get_num_threads()
    print("torch %s on %s: %.1f ms/step | %.0f tokens/s | %.1f GFLOP/s | batch %d x %d | loss %.4f | warm-up %.1f s"
          % (mode, name, dt * 1e3, B * T / dt, flops / dt / 1e9, B, T, loss.item(), warm_s))
    print(json.dumps({"torch_bench": {"mode": mode, "device": name, "torch": torch.__version__, "ms_per_step": dt * 1e3,
                                      "tokens_per_s": B * T / dt, "gflops": flops / dt / 1e9, "batch": B, "seq": T,
                                      "n_layer": L, "n_embd": C, "params": params}}))
    return 0 if math.isfinite(loss.item()) else 1


if __name__ == "__main__":
    sys.exit(main())
