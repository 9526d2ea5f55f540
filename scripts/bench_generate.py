#!/usr/bin/python3
"""Generation speed of GPT-2 124M (random weights) on this machine: gpt2cl's KV
cache vs its recompute path (kv_cache=0) vs Hugging Face transformers' cached
greedy generate() on the same weights, at several prompt lengths.

Each contender is a whole command, timed from start to exit (start-up, model
load and kernel build included), run in turn (alternating, --reps rounds); each
also reports its own generation rate (tokens / seconds of the generate call,
the prompt's processing included). gpt2cl's greedy text must equal the text of
transformers' greedy tokens (checked; the prompt is the decoding of corpus
tokens, which gpt2cl's --verbose confirms it encodes to the same count).

Needs torch and transformers (pip); not part of the tests.
    python3 scripts/bench_generate.py                # contexts 8, 64, 256
    python3 scripts/bench_generate.py --recompute-new 4 --reps 3
The checkpoint (llm.c fp32 format, GPT-2 initialisation, seed 1337) is written
once to --checkpoint. gpt2cl runs with its own cache folder (--cache-dir; by
default a fresh one: untuned defaults), filled by one untimed warm-up run, so
start-up does not include compiling the kernels. A child process of this script (--hf) runs transformers.
"""
import argparse
import base64
import os
import re
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.expanduser(os.environ.get("GPT2CL_DATA", "~/.local/share/gpt2cl"))
V, VP, MAXT, L, NH, C = 50257, 50304, 1024, 12, 12, 768
SHAPES = [("wte", (VP, C)), ("wpe", (MAXT, C)), ("ln1w", (L, C)), ("ln1b", (L, C)), ("qkvw", (L, 3 * C, C)),
          ("qkvb", (L, 3 * C)), ("attprojw", (L, C, C)), ("attprojb", (L, C)), ("ln2w", (L, C)), ("ln2b", (L, C)),
          ("fcw", (L, 4 * C, C)), ("fcb", (L, 4 * C)), ("fcprojw", (L, C, 4 * C)), ("fcprojb", (L, C)),
          ("lnfw", (C,)), ("lnfb", (C,))]


def write_checkpoint(path, seed=1337):
    """GPT-2's initialisation: N(0, 0.02) matrices (projections into the residual scaled by 1/sqrt(2L)), unit
    LayerNorm weights, zero biases; wte's padding rows zero."""
    rng = np.random.default_rng(seed)
    parts = []
    for name, shape in SHAPES:
        if name.endswith("w") and name.startswith("ln"):
            t = np.ones(shape, np.float32)
        elif name in ("wte", "wpe", "qkvw", "fcw", "attprojw", "fcprojw"):
            std = 0.02 / np.sqrt(2 * L) if name in ("attprojw", "fcprojw") else 0.02
            t = (rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32)
            if name == "wte":
                t[V:] = 0
        else:
            t = np.zeros(shape, np.float32)
        parts.append(t.ravel())
    header = np.zeros(256, np.int32)
    header[:8] = [20240326, 3, MAXT, V, L, NH, C, VP]
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(header.tobytes())
        for p in parts:
            f.write(p.astype("<f4").tobytes())
    os.replace(tmp, path)


def load_checkpoint(path):
    raw = np.fromfile(path, dtype="<f4", offset=1024)
    out, off = {}, 0
    for name, shape in SHAPES:
        n = int(np.prod(shape))
        out[name] = raw[off:off + n].reshape(shape)
        off += n
    return out


def hf_model(path):
    """The llm.c checkpoint as a transformers GPT2LMHeadModel: Conv1D weights are (in, out), llm.c's (out, in)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    cfg = GPT2Config(vocab_size=V, n_positions=MAXT, n_embd=C, n_layer=L, n_head=NH, activation_function="gelu_new",
                     layer_norm_epsilon=1e-5, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(cfg)
    p = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in load_checkpoint(path).items()}
    sd = {"transformer.wte.weight": p["wte"][:V], "transformer.wpe.weight": p["wpe"],
          "transformer.ln_f.weight": p["lnfw"], "transformer.ln_f.bias": p["lnfb"]}
    for i in range(L):
        h = "transformer.h.%d." % i
        sd.update({h + "ln_1.weight": p["ln1w"][i], h + "ln_1.bias": p["ln1b"][i],
                   h + "attn.c_attn.weight": p["qkvw"][i].T, h + "attn.c_attn.bias": p["qkvb"][i],
                   h + "attn.c_proj.weight": p["attprojw"][i].T, h + "attn.c_proj.bias": p["attprojb"][i],
                   h + "ln_2.weight": p["ln2w"][i], h + "ln_2.bias": p["ln2b"][i],
                   h + "mlp.c_fc.weight": p["fcw"][i].T, h + "mlp.c_fc.bias": p["fcb"][i],
                   h + "mlp.c_proj.weight": p["fcprojw"][i].T, h + "mlp.c_proj.bias": p["fcprojb"][i]})
    sd["lm_head.weight"] = sd["transformer.wte.weight"]
    missing, unexpected = model.load_state_dict({k: v.contiguous() for k, v in sd.items()}, strict=False)
    if unexpected or [k for k in missing if not k.endswith("attn.bias") and not k.endswith("masked_bias")]:
        sys.exit("conversion: missing %s, unexpected %s" % (missing, unexpected))
    model.generation_config.eos_token_id = None  # as gpt2cl's stop_at_eot=0
    model.generation_config.pad_token_id = 50256
    return model.eval()


def hf_main(path, prompt_file, max_new, threads):
    """The transformers contender (a child process): prints the generated ids and the generate() time."""
    import torch
    if threads > 0:
        torch.set_num_threads(threads)
    ids = [int(x) for x in open(prompt_file).read().split()]
    model = hf_model(path)
    x = torch.tensor([ids])
    with torch.inference_mode():
        t0 = time.perf_counter()
        y = model.generate(x, max_new_tokens=max_new, do_sample=False, num_beams=1, use_cache=True)
        dt = time.perf_counter() - t0
    print("ids", " ".join(str(int(t)) for t in y[0, len(ids):]))
    print("time %.6f" % dt)


def vocab_bytes():
    """GPT-2's token bytes from the tiktoken file scripts/setup.sh installs."""
    table = {}
    for line in open(os.path.join(DATA, "gpt2.tiktoken"), "rb"):
        b64, rank = line.split()
        table[int(rank)] = base64.b64decode(b64)
    return table


def corpus_tokens(n, start=1000):
    path = os.path.join(DATA, "tokens", "gpt2", "val_000000.bin")
    return [int(t) for t in np.fromfile(path, dtype="<u2", offset=1024)[start:start + n]]


def run_gpt2cl(args, ck, prompt_path, max_new, keys):
    cmd = [args.bin, "sample", "--checkpoint", ck, "--prompt-file", prompt_path, "--verbose", "greedy=1",
           "stop_at_eot=0", "max_new_tokens=%d" % max_new] + keys
    env = dict(os.environ, GPT2CL_CACHE_DIR=args.cache_dir)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - t0
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode:
        sys.exit("gpt2cl failed: %s\n%s" % (" ".join(cmd), err))
    n_prompt = int(re.search(r"prompt: (\d+) tokens", err).group(1))
    m = re.search(r"generated (\d+) tokens in ([0-9.]+) s", err)
    return {"wall": wall, "gen": float(m.group(2)), "n": int(m.group(1)), "text": p.stdout[:-1],
            "n_prompt": n_prompt}


def run_hf(args, ck, ids_path, max_new):
    cmd = [sys.executable, os.path.abspath(__file__), "--hf", ck, ids_path, str(max_new), str(args.hf_threads)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    out = p.stdout.decode()
    if p.returncode:
        sys.exit("transformers run failed:\n" + p.stderr.decode())
    ids = [int(t) for t in re.search(r"^ids (.*)$", out, re.M).group(1).split()]
    return {"wall": wall, "gen": float(re.search(r"^time (\S+)", out, re.M).group(1)), "n": len(ids), "ids": ids}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--contexts", default="8,64,256", help="prompt lengths in tokens")
    ap.add_argument("--new", type=int, default=32, help="tokens to generate (KV cache and transformers)")
    ap.add_argument("--recompute-new", type=int, default=4, help="tokens the recompute path generates; 0 = skip it")
    ap.add_argument("--reps", type=int, default=2, help="alternating rounds")
    ap.add_argument("--checkpoint", default="/tmp/gpt2cl_bench_124m_random.bin")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "gpt2cl"))
    ap.add_argument("--cache-dir", default="/tmp/gpt2cl_bench_cache",
                    help="gpt2cl's cache folder (GPT2CL_CACHE_DIR): its tuning database and compiled kernels; "
                         "a fresh one means gpt2cl's untuned defaults")
    ap.add_argument("--hf-threads", type=int, default=0, help="torch threads of transformers; 0 = torch's default")
    ap.add_argument("--hf", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.hf:
        return hf_main(args.hf[0], args.hf[1], int(args.hf[2]), int(args.hf[3]))
    if not os.path.exists(args.checkpoint):
        print("writing", args.checkpoint)
        write_checkpoint(args.checkpoint)
    vocab = vocab_bytes()
    with open("/tmp/gpt2cl_bench_warmup.txt", "w") as f:
        f.write("Hello")
    print("warm-up (untimed): gpt2cl compiles its kernels into", args.cache_dir, flush=True)
    run_gpt2cl(args, args.checkpoint, "/tmp/gpt2cl_bench_warmup.txt", 1, [])
    rows = []
    for ctx in [int(x) for x in args.contexts.split(",")]:
        ids = corpus_tokens(ctx)
        prompt_path, ids_path = "/tmp/gpt2cl_bench_prompt_%d.txt" % ctx, "/tmp/gpt2cl_bench_ids_%d.txt" % ctx
        prompt = b"".join(vocab[t] for t in ids)
        with open(prompt_path, "wb") as f:
            f.write(prompt)
        with open(ids_path, "w") as f:
            f.write(" ".join(map(str, ids)))
        res = {"kv": [], "recompute": [], "hf": []}
        for rep in range(args.reps):
            res["kv"].append(run_gpt2cl(args, args.checkpoint, prompt_path, args.new, []))
            res["hf"].append(run_hf(args, args.checkpoint, ids_path, args.new))
            if args.recompute_new and rep == 0:  # slow: once
                res["recompute"].append(run_gpt2cl(args, args.checkpoint, prompt_path, args.recompute_new,
                                                   ["kv_cache=0"]))
        hf_text = prompt + b"".join(vocab[t] for t in res["hf"][0]["ids"])
        for r in res["kv"] + res["recompute"]:
            if r["n_prompt"] != ctx:
                sys.exit("context %d: gpt2cl encoded the prompt to %d tokens" % (ctx, r["n_prompt"]))
        same_kv = all(r["text"] == hf_text for r in res["kv"])
        same_re = all(hf_text.startswith(r["text"]) for r in res["recompute"])
        for name, rs in res.items():
            if not rs:
                continue
            wall = min(r["wall"] for r in rs)
            rate = max(r["n"] / r["gen"] for r in rs)
            rows.append((ctx, name, rs[0]["n"], wall, rate, len(rs)))
        print("context %d: greedy text equals transformers': KV cache %s, recompute path %s" %
              (ctx, "yes" if same_kv else "NO", ("yes" if same_re else "NO") if res["recompute"] else "-"),
              flush=True)
    print("\n%-8s %-10s %6s %14s %14s %5s" % ("context", "contender", "new", "command (s)", "tokens/s", "runs"))
    for ctx, name, n, wall, rate, k in rows:
        print("%-8d %-10s %6d %14.2f %14.2f %5d" % (ctx, name, n, wall, rate, k))
    print("\nbest of the runs; tokens/s = new tokens / seconds of the generate call (prompt processing included); "
          "load average at the end: %.1f" % os.getloadavg()[0])
    by = {(c, n): (w, r) for c, n, _, w, r, _ in rows}
    for ctx in sorted({c for c, *_ in rows}):
        if (ctx, "kv") in by and (ctx, "hf") in by:
            (wk, rk), (wh, rh) = by[(ctx, "kv")], by[(ctx, "hf")]
            print("context %d: gpt2cl KV / transformers: tokens/s %.2fx, whole command %.2fx faster" %
                  (ctx, rk / rh, wh / wk))


if __name__ == "__main__":
    main()
