#!/usr/bin/env python3
"""Builds the supervised fine-tuning example of the README (configs/sft_verses.ini): continue the verse.

Each verse of the King James Bible in the default corpus (DATA/corpus/kjv_bible.txt, one verse per
line, from scripts/setup.sh) of 8 words or more and at most 350 characters becomes one example:
the first half of its words is the prompt, the rest (with its leading space) the completion, which
the loss counts together with the end-of-text after it, so the model learns to finish the verse and
stop. Writes DATA/sft/verses.jsonl, then runs
  gpt2cl prepare --format sft --context 128 --out DATA/tokens/sft_verses --force DATA/sft/verses.jsonl
whose split by position (every 20th block of 16384 tokens to validation) is the held-out set.
DATA is $GPT2CL_DATA, else $XDG_DATA_HOME/gpt2cl, else ~/.local/share/gpt2cl.
Usage: python3 scripts/make_sft_verses.py   (from the source tree, after the build)
"""
import json
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def data_dir():
    if os.environ.get("GPT2CL_DATA"):
        return os.environ["GPT2CL_DATA"]
    xdg = os.environ.get("XDG_DATA_HOME") or os.path.join(os.environ["HOME"], ".local", "share")
    return os.path.join(xdg, "gpt2cl")


def main():
    data = data_dir()
    src = os.path.join(data, "corpus", "kjv_bible.txt")
    if not os.path.isfile(src):
        sys.exit("make_sft_verses: no %s: run scripts/setup.sh first" % src)
    os.makedirs(os.path.join(data, "sft"), exist_ok=True)
    out = os.path.join(data, "sft", "verses.jsonl")
    n = 0
    with open(src, encoding="utf-8") as f, open(out, "w", encoding="utf-8") as o:
        for i, line in enumerate(f):
            words = line.split()
            if i == 0 or len(words) < 8 or len(line) > 350:  # line 0 is the file's title
                continue
            half = len(words) // 2
            o.write(json.dumps({"prompt": " ".join(words[:half]), "completion": " " + " ".join(words[half:])}) + "\n")
            n += 1
    print("make_sft_verses: %d examples -> %s" % (n, out))
    tokens = os.path.join(data, "tokens", "sft_verses")
    cmd = [os.path.join(ROOT, "build", "gpt2cl"), "prepare", "--format", "sft", "--context", "128", "--out", tokens,
           "--force", out]
    sys.exit(subprocess.call(cmd))


if __name__ == "__main__":
    main()
