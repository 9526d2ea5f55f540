#!/usr/bin/env python3
"""Tokenization throughput: `gpt2cl prepare` vs tiktoken, single-threaded.

Usage: python3 tests/bench_prepare.py [--bin build/gpt2cl] [--repeat 3]

Both sides encode the default corpus ($DATA/corpus, scripts/make_corpus.sh)
with the GPT-2 encoding. gpt2cl is timed end to end as a process (vocabulary
load, reading, encoding, writing shards to a temporary folder); tiktoken only
on Encoding.encode_ordinary over the texts already in memory. MB = 10^6 bytes
of input. Needs `pip install tiktoken`; the encoding is built from the local
ranks file, nothing is downloaded.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time


sys.dont_write_bytecode = True  # do not leave __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import data_dir  # noqa: E402


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.environ.get("GPT2CL_BIN", os.path.join(root, "build", "gpt2cl")))
    ap.add_argument("--repeat", type=int, default=3, help="runs per side; the best is reported")
    args = ap.parse_args()

    corpus = os.path.join(data_dir(), "corpus")
    files = sorted(glob.glob(os.path.join(corpus, "*.txt")))
    if not files:
        sys.exit("no corpus in %s: run scripts/setup.sh" % corpus)
    texts = [open(f, "rb").read() for f in files]
    mb = sum(len(t) for t in texts) / 1e6

    best_c = float("inf")
    tmp = tempfile.mkdtemp(prefix="gpt2cl-bench-")
    try:
        for i in range(args.repeat):
            out = os.path.join(tmp, "out%d" % i)
            t0 = time.perf_counter()
            subprocess.run([args.bin, "prepare", "--out", out, corpus], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            best_c = min(best_c, time.perf_counter() - t0)
    finally:
        shutil.rmtree(tmp)

    import tiktoken
    from tiktoken.load import load_tiktoken_bpe
    pat = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
    enc = tiktoken.Encoding(name="gpt2", pat_str=pat,
                            mergeable_ranks=load_tiktoken_bpe(os.path.join(data_dir(), "gpt2.tiktoken")),
                            special_tokens={"<|endoftext|>": 50256})
    strs = [t.decode("utf-8") for t in texts]
    best_t = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        for s in strs:
            enc.encode_ordinary(s)
        best_t = min(best_t, time.perf_counter() - t0)

    print("corpus: %d files, %.1f MB" % (len(files), mb))
    print("gpt2cl prepare (whole process): %6.2f MB/s (%.2f s)" % (mb / best_c, best_c))
    print("tiktoken %s encode_ordinary: %6.2f MB/s (%.2f s)" % (tiktoken.__version__, mb / best_t, best_t))
    print("ratio: %.2fx" % (best_t / best_c))


if __name__ == "__main__":
    main()
