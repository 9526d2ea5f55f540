#!/usr/bin/env python3
"""Model import time: a GPT-2 124M-shaped model (random weights of the real shapes) as an llm.c fp32
checkpoint, an llm.c bf16 checkpoint, a Hugging Face folder (F32 safetensors) and one with BF16 tensors.

Usage: python3 tests/bench_model_load.py [--bin build/gpt2cl] [--repeat 5]

The llm.c fp32 file is written here (standard library; random normal(0, 0.02) from a fixed seed, padded
vocabulary rows zero); the other three by `gpt2cl export` from it. Each is timed end to end as a process
in two ways, the contenders alternating within each round, after one untimed warm-up run of each (page
cache warm: the files stay in memory, so this measures parsing, conversion and upload, not the disk):
  export   `gpt2cl export --format llmc` of the model to a fresh file: load on the host (read,
           convert, check finite) + writing the 498 MB fp32 file; no device
  sample   `gpt2cl sample --prompt a max_new_tokens=1 greedy=1`: device open, model load and upload,
           one forward pass of 2 tokens
Prints the median and min of each, and each format's median over the llm.c fp32 file's.
"""
import argparse
import os
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import time

V, Vp, T, L, NH, C = 50257, 50304, 1024, 12, 12, 768


def write_random_124m(path):
    n = Vp * C + T * C + L * (12 * C * C + 13 * C) + 2 * C
    rng = random.Random(0)
    block = struct.pack("<65536f", *(rng.gauss(0.0, 0.02) for _ in range(65536)))
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *([20240326, 3, T, V, L, NH, C, Vp] + [0] * 248)))
        left = n * 4
        while left:  # a repeated random block: the values do not matter to a loader, only their count
            chunk = block[:min(left, len(block))]
            f.write(chunk)
            left -= len(chunk)
    return n


def timed(args):
    t0 = time.monotonic()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(root, "build", "gpt2cl"))
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gpt2cl_bench_load_") as tmp:
        src = os.path.join(tmp, "llmc_fp32.bin")
        write_random_124m(src)
        models = {"llm.c fp32": src}
        for name, args in [("llm.c bf16", ["--format", "llmc-bf16", "--out", os.path.join(tmp, "llmc_bf16.bin")]),
                           ("HF F32", ["--format", "hf", "--out", os.path.join(tmp, "hf_f32")]),
                           ("HF BF16", ["--format", "hf", "--dtype", "bf16", "--out", os.path.join(tmp, "hf_bf16")])]:
            subprocess.run([a.bin, "export", "--checkpoint", src] + args, check=True, stdout=subprocess.DEVNULL)
            models[name] = args[-1]
        out = os.path.join(tmp, "out.bin")
        ways = {
            "export": lambda m: [a.bin, "export", "--checkpoint", m, "--format", "llmc", "--out", out, "--force"],
            "sample": lambda m: [a.bin, "sample", "--checkpoint", m, "--prompt", "a", "max_new_tokens=1", "greedy=1"],
        }
        for way, cmd in ways.items():
            times = {name: [] for name in models}
            for name, m in models.items():
                timed(cmd(m))  # warm-up: page cache, compiled programs
            for _ in range(a.repeat):
                for name, m in models.items():
                    times[name].append(timed(cmd(m)))
            base = statistics.median(times["llm.c fp32"])
            print("%s (%d rounds, alternating):" % (way, a.repeat))
            for name, ts in times.items():
                med = statistics.median(ts)
                print("  %-11s median %6.3f s  min %6.3f s  %.2fx of llm.c fp32" % (name, med, min(ts), med / base))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
