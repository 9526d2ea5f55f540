#!/usr/bin/env python3
"""Regenerates tests/fixtures/tokenizer/ with tiktoken as the reference.

Needs `pip install tiktoken`, the ranks file from scripts/fetch_vocab.sh and
the corpus from scripts/make_corpus.sh. tiktoken is built from the local ranks
file (no download). Only the C test reads the fixtures, so CI needs no Python.

Files written:
  corpus.txt  one line per default-corpus book:
              name bytes sha256(file) n_tokens sha256(ids as little-endian uint32)
  cases.txt   hand-written hard cases, one per line: hex(input) TAB ids
  random.txt  seeded random strings, same format

Invalid UTF-8: tiktoken cannot encode it byte-exactly (its str API turns lone
surrogates into U+FFFD, and _encode_bytes merges everything after the first
invalid byte as one piece), so the reference is gpt2cl's documented rule built
from tiktoken's parts: each maximal valid UTF-8 stretch goes through
encode_ordinary, each maximal run of invalid bytes through BPE on its bytes.
"""
import hashlib
import itertools
import os
import random
import struct
import sys

import tiktoken
from tiktoken.load import load_tiktoken_bpe

PAT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


sys.dont_write_bytecode = True  # do not leave __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import data_dir  # noqa: E402


def load_encoding():
    ranks = load_tiktoken_bpe(os.path.join(data_dir(), "gpt2.tiktoken"))
    return tiktoken.Encoding(name="gpt2", pat_str=PAT, mergeable_ranks=ranks,
                             special_tokens={"<|endoftext|>": 50256})


def encode_bytes(enc, data):
    out = []
    text = data.decode("utf-8", "surrogateescape")
    # surrogateescape maps exactly the bytes that are not part of a valid
    # character to U+DC80..U+DCFF; valid UTF-8 never decodes to a surrogate.
    for invalid, run in itertools.groupby(text, key=lambda c: 0xDC80 <= ord(c) <= 0xDCFF):
        run = "".join(run)
        if invalid:
            out += enc._encode_single_piece(run.encode("utf-8", "surrogateescape"))
        else:
            out += enc.encode_ordinary(run)
    return out


def ids_sha(ids):
    return hashlib.sha256(struct.pack("<%dI" % len(ids), *ids)).hexdigest()


HARD_CASES = [
    "",
    "Hello, world!",
    "I'm sure it's what you'd've done; they'll say we're fine, he's ok.",
    "IT'S DONE, I'M HERE, WE'RE OK, THEY'LL GO, SHE'D SAY, WE'VE 'S 'T",
    "don\u2019t use curly \u2018quotes\u2019 said O\u2019Brien",
    "' s 's''s'''t '",
    "  leading and trailing spaces  ",
    "trailing space ",
    "tab\tseparated\t\tvalues\t",
    "mixed \t\n \n\n\t  whitespace \r\n runs\n\n\n",
    "windows\r\nline\r\nendings\r\n",
    " " * 200,
    "a" + " " * 1000 + "b",
    "\n" * 300,
    "x" * 500,
    "0123456789 1234567890123 3.14159 -42 1e10 ٣٤٥ ⅷ ½",
    "\u00e9\u0301 e\u0301 n\u0303o combining: a\u0308\u0304\u0323 Z\u0351\u0352\u0357\u034d",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \u4e2d\u6587\u5b57 \ud55c\uad6d\uc5b4",
    "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440 \u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35 \u10d2\u10d0\u10db\u10d0\u10e0\u10ef\u10dd\u10d1\u10d0",
    "emoji \U0001F600\U0001F44D\U0001F3FD \U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 \U0001F3F3\uFE0F\u200D\U0001F308 \U0001F1EB\U0001F1F7",
    "mixedScripts\u65e5\u672cabc\u0414\u0430123\U0001F600x",
    "<|endoftext|> is ordinary text here",
    "punctuation!!! ??? ... --- ((( ))) [[ ]] {{ }} @#$%^&*_+=~`|\\/<>",
    "\u00a0nbsp\u2009thin\u3000ideographic\u2028line\u2029para\u0085nel\u180emvs\u200bzwsp",
    "x \u180ey x\u180e y \u180e\u180e  z \u180e",  # U+180E: White_Space in PCRE2's \s only
    "\x00\x01\x02\x1b[31mANSI\x1b[0m\x7f",
    "url https://example.com/a/b?c=d&e=f#g and email a.b@c.de",
    "def f(x):\n    return x ** 2  # comment\n\n\nclass A:\n\tpass\n",
    "     indented code\n        more\n",
    "\ufeffBOM at start",
    "\U00010000\U0010FFFF\uFFFD\uFFFF",
]

# Raw byte cases: invalid UTF-8 in various positions.
HARD_BYTES = [
    b"\xff",
    b"\x80\x80\x80",
    b"abc\xffdef",
    b"  \xff  ",
    b"hello \xe2\x82 world",          # truncated 3-byte sequence
    b"\xc0\xaf overlong slash",
    b"\xed\xa0\x80 surrogate",
    b"\xf4\x90\x80\x80 above U+10FFFF",
    b"caf\xe9 latin-1",
    b"valid \xe2\x82\xac euro then \xe2\x82",
    b"\xf0\x9f\x98 partial emoji \xf0\x9f\x98\x80",
    b"it\xff's \xfe't",
    b"\xfe\xff\x00\x41\x00\x42",
    bytes(range(256)),
]


def random_cases(rng):
    pools = [
        "abcdefghijklmnopqrstuvwxyz",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " \t\n\r\u00a0\u3000",
        "'sStTrRevVmMlLdD",
        ".,;:!?-_()[]{}\"'/\\@#$%&*+=<>|~`^",
        "\u00e9\u00e8\u00fc\u00df\u0301\u0308",
        "\u65e5\u672c\u8a9e\u4e2d\u6587\ud55c",
        "\u041f\u0440\u0438\u0432\u0435\u0442\u0393\u03b5",
        "\U0001F600\U0001F44D\U0001F3FD\u200D\uFE0F\U0001F468",
        "\u0663\u0664\u2167\u00bd\u00b2",
    ]
    out = []
    for _ in range(150):  # random Unicode text from mixed pools
        n = rng.randrange(0, 120)
        s = "".join(rng.choice(rng.choice(pools)) for _ in range(n))
        out.append(s.encode("utf-8"))
    for _ in range(100):  # uniformly random bytes, mostly invalid UTF-8
        n = rng.randrange(0, 200)
        out.append(bytes(rng.randrange(256) for _ in range(n)))
    for _ in range(100):  # text with sprinkled invalid bytes
        n = rng.randrange(1, 100)
        s = bytearray("".join(rng.choice(rng.choice(pools)) for _ in range(n)).encode("utf-8"))
        for _ in range(rng.randrange(1, 4)):
            s.insert(rng.randrange(len(s) + 1), rng.choice([0x80, 0xbf, 0xc3, 0xe2, 0xf0, 0xff, 0xfe]))
        out.append(bytes(s))
    return out


def write_cases(path, enc, cases):
    with open(path, "w") as f:
        for b in cases:
            ids = encode_bytes(enc, b)
            assert b"".join(enc.decode_single_token_bytes(i) for i in ids) == b
            f.write(b.hex() + "\t" + " ".join(map(str, ids)) + "\n")


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(root, "fixtures", "tokenizer")
    os.makedirs(out, exist_ok=True)
    enc = load_encoding()

    corpus = os.path.join(data_dir(), "corpus")
    books = sorted(n for n in os.listdir(corpus) if n.endswith(".txt"))
    if not books:
        sys.exit("no corpus in %s: run scripts/make_corpus.sh" % corpus)
    with open(os.path.join(out, "corpus.txt"), "w") as f:
        for name in books:
            data = open(os.path.join(corpus, name), "rb").read()
            ids = encode_bytes(enc, data)
            f.write("%s %d %s %d %s\n" % (name, len(data), hashlib.sha256(data).hexdigest(), len(ids), ids_sha(ids)))
            print("%-36s %9d bytes %8d tokens" % (name, len(data), len(ids)))

    write_cases(os.path.join(out, "cases.txt"), enc, [s.encode("utf-8") for s in HARD_CASES] + HARD_BYTES)
    write_cases(os.path.join(out, "random.txt"), enc, random_cases(random.Random(20240520)))
    print("wrote fixtures to", out)


if __name__ == "__main__":
    main()
