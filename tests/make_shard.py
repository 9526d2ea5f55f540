#!/usr/bin/env python3
"""Writes llm.c token shards for tests (standard library only).

  make_shard.py bytes IN.txt OUT.bin [--offset N] [--limit N]   byte-level tokens of a text file (ids 0..255)
  make_shard.py random OUT.bin N VOCAB SEED                      N uniform random ids < VOCAB
  make_shard.py raw OUT.bin --magic M --version V --count C ID...   arbitrary (possibly invalid) shard
"""
import random
import struct
import sys


def write(path, tokens, magic=20240520, version=1, count=None):
    header = [magic, version, len(tokens) if count is None else count] + [0] * 253
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *header))
        f.write(struct.pack("<%dH" % len(tokens), *tokens))


def main(argv):
    mode = argv[1]
    if mode == "bytes":
        data = open(argv[2], "rb").read()
        opts = dict(zip(argv[4::2], map(int, argv[5::2])))
        off = opts.get("--offset", 0)
        data = data[off:off + opts["--limit"]] if "--limit" in opts else data[off:]
        write(argv[3], list(data))
    elif mode == "random":
        n, vocab, seed = int(argv[3]), int(argv[4]), int(argv[5])
        rng = random.Random(seed)
        write(argv[2], [rng.randrange(vocab) for _ in range(n)])
    elif mode == "raw":
        args = argv[3:]
        opts = {}
        while args and args[0].startswith("--"):
            opts[args[0]] = int(args[1])
            args = args[2:]
        write(argv[2], [int(a) for a in args], opts.get("--magic", 20240520), opts.get("--version", 1),
              opts.get("--count"))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
