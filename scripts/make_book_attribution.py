#!/usr/bin/env python3
"""Build the book-attribution data set: which book of the default corpus a passage comes from.

Reads the corpus books (one .txt per book, the label is the file name without .txt), drops the
Project Gutenberg header and footer where they are marked, and cuts each book's words into
consecutive passages of --words words (whitespace joined into single spaces). The split is by
position: passages from the first 90% of a book's words are for training, from the last 10%
(--val-frac) for validation, so no validation passage overlaps a training one. Every book
contributes the same number of passages (at most --train-per-book and --val-per-book, evenly
spaced over its part), so the classes are balanced and chance is 1 / number of books.

120 words are 130 or more GPT-2 tokens on this corpus (median 150); `train` with task = classify
keeps the first seq_len tokens of each passage, so with seq_len = 128 every example is a 128-token
passage.

Writes OUT/train.jsonl and OUT/val.jsonl ({"text": ..., "label": ...} per line).
Usage: python3 scripts/make_book_attribution.py [--corpus DIR] [--out DIR]
"""
import argparse
import json
import os
import sys


def default_corpus():
    data = os.environ.get("GPT2CL_DATA") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "gpt2cl")
    return os.path.join(data, "corpus")


def body_words(text):
    lines = text.splitlines()
    start = next((i + 1 for i, l in enumerate(lines) if l.startswith("*** START OF")), 0)
    end = next((i for i, l in enumerate(lines) if l.startswith("*** END OF")), len(lines))
    return " ".join(lines[start:end]).split()


def spaced(items, n):
    """At most n items, evenly spaced over the list (deterministic)."""
    if len(items) <= n:
        return items
    return [items[(i * len(items)) // n] for i in range(n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=default_corpus(), help="folder of the books (default: %(default)s)")
    ap.add_argument("--out", default="data/books", help="output folder (default: %(default)s)")
    ap.add_argument("--words", type=int, default=120, help="words per passage (default: %(default)s)")
    ap.add_argument("--val-frac", type=float, default=0.1, help="last fraction of each book held out")
    ap.add_argument("--train-per-book", type=int, default=400)
    ap.add_argument("--val-per-book", type=int, default=50)
    args = ap.parse_args()
    books = sorted(f for f in os.listdir(args.corpus) if f.endswith(".txt")) if os.path.isdir(args.corpus) else []
    if len(books) < 2:
        sys.exit(f"make_book_attribution: error: '{args.corpus}' does not hold at least 2 .txt books")
    splits = {"train": [], "val": []}
    for book in books:
        with open(os.path.join(args.corpus, book), encoding="utf-8", errors="replace") as f:
            words = body_words(f.read())
        label = book[:-4]
        cut = int(len(words) * (1 - args.val_frac))
        for name, part, cap in (("train", words[:cut], args.train_per_book), ("val", words[cut:], args.val_per_book)):
            passages = [" ".join(part[i:i + args.words]) for i in range(0, len(part) - args.words + 1, args.words)]
            if not passages:
                sys.exit(f"make_book_attribution: error: {book} is too short for a {name} passage")
            splits[name] += [{"text": p, "label": label} for p in spaced(passages, cap)]
    os.makedirs(args.out, exist_ok=True)
    for name, rows in splits.items():
        path = os.path.join(args.out, f"{name}.jsonl")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
        os.replace(path + ".tmp", path)
        print(f"{path}: {len(rows)} passages")
    print(f"{len(books)} books (labels): chance accuracy {100 / len(books):.1f}%")


if __name__ == "__main__":
    main()
