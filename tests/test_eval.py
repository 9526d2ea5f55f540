#!/usr/bin/env python3
"""`gpt2cl eval`, `encode` and `decode` (python3 standard library only).

eval: on a shard it equals train's validation loss over the same windows; perplexity = exp(loss); every
token after the first is scored once for any stride (token counts); a strided evaluation equals the sum of
one-window evaluations of its pieces (each window's new tokens = the loss of the window minus the loss of its
context); the result does not depend on batch_size; --text equals --data on the same tokens; bits per byte
divides by the UTF-8 bytes of the text. encode/decode: the tokenizer fixture's cases both ways, a unicode
round trip through stdin, and empty input.
"""
import json
import math
import os
import random
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_shard  # noqa: E402
from harness import BIN, GPL, ROOT, report, run_in_temp_folder, write_ini  # noqa: E402

T = 16  # the test model's context
MODEL = dict(n_layer=2, n_head=4, n_embd=32, block_size=T, vocab_size=257, batch_size=2, seq_len=T, steps=1,
             lr="1e-3", schedule="constant")


def gpt2cl(args, stdin=b"", cwd=None):
    p = subprocess.run([BIN] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                       timeout=300)
    if p.returncode != 0:
        raise RuntimeError("gpt2cl %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr.decode()))
    return p.stdout


def evaluate(ckpt, *args):
    """The JSON line of `gpt2cl eval`."""
    out = gpt2cl(["eval", "--checkpoint", ckpt] + list(args)).decode()
    return json.loads(out.strip().splitlines()[-1])


def nats(r):
    return r["loss"] * r["tokens"]


def check_validation(tmp, run, val):
    log = [json.loads(l) for l in open(os.path.join(tmp, "run.jsonl")) if "val_loss" in l]
    val_loss = log[-1]["val_loss"]
    r = evaluate(run, "--data", val)
    # train sums 96 fp32 losses on the device, eval in double on the host: fp32 rounding of the sum only.
    report(abs(r["loss"] - val_loss) <= 1e-5 * abs(val_loss) and r["tokens"] == 96, "eval_equals_validation",
           "eval %.9f vs train val_loss %.9f over %d tokens" % (r["loss"], val_loss, r["tokens"]))
    report(abs(r["perplexity"] - math.exp(r["loss"])) <= 1e-12 * r["perplexity"], "perplexity_is_exp_loss",
           "%.9f = exp(%.9f)" % (r["perplexity"], r["loss"]))
    # Byte tokens: one byte each (the GPL text has no <|endoftext|>).
    bpb = nats(r) / math.log(2) / r["bytes"]
    report(r["bytes"] == 96 and abs(r["bits_per_byte"] - bpb) <= 1e-12 * bpb, "bits_per_byte_bytes",
           "%d bytes, %.6f bits per byte" % (r["bytes"], r["bits_per_byte"]))


def check_token_counts(tmp, run):
    for n, seq_len, stride in ((97, 16, 16), (100, 16, 5), (100, 16, 1), (100, 7, 3), (10, 16, 3), (2, 16, 16)):
        path = os.path.join(tmp, "r%d.bin" % n)
        make_shard.write(path, [random.Random(n).randrange(257) for _ in range(n)])
        r = evaluate(run, "--data", path, "seq_len=%d" % seq_len, "stride=%d" % stride)
        report(r["tokens"] == n - 1, "tokens_scored_once_%d_%d_%d" % (n, seq_len, stride),
               "%d tokens scored of %d" % (r["tokens"], n))


def window_pieces(n, stride):
    """(start, context, length) of each window: a shard of tokens[start:start+length+1] scores its length tokens,
    of which the first `context` are context only."""
    out, start = [], 0
    while True:
        length = min(T, n - 1 - start)
        out.append((start, 0 if start == 0 else T - stride, length))
        if start + length == n - 1:
            return out
        start += stride


def check_strided_pieces(tmp, run):
    data = open(GPL, "rb").read()[3000:3000 + T + 4]  # 2 full windows at stride 2, then a short one
    toks, stride = list(data), 2
    whole = os.path.join(tmp, "pieces.bin")
    make_shard.write(whole, toks)
    r = evaluate(run, "--data", whole, "stride=%d" % stride)
    expect = 0.0
    for i, (start, context, length) in enumerate(window_pieces(len(toks), stride)):
        piece = lambda m: os.path.join(tmp, "piece_%d_%d.bin" % (i, m))  # noqa: E731
        make_shard.write(piece(length), toks[start:start + length + 1])
        expect += nats(evaluate(run, "--data", piece(length)))
        if context:
            make_shard.write(piece(context), toks[start:start + context + 1])
            expect -= nats(evaluate(run, "--data", piece(context)))
    # One-window evaluations run other GEMM shapes: fp32 rounding differs, about 1e-6 of the total.
    report(abs(nats(r) - expect) <= 1e-5 * abs(expect) and r["tokens"] == len(toks) - 1, "strided_equals_pieces",
           "stride %d: %.6f nats vs %.6f from one-window evaluations" % (stride, nats(r), expect))


def check_deterministic(tmp, run, val):
    a = evaluate(run, "--data", val, "stride=5", "batch_size=1")
    b = evaluate(run, "--data", val, "stride=5", "batch_size=3")
    c = evaluate(run, "--data", val, "stride=5", "batch_size=3")
    full = evaluate(run, "--data", val)
    report(a["loss"] == b["loss"] == c["loss"] and a["tokens"] == full["tokens"] and a["loss"] != full["loss"],
           "deterministic_any_batch_size", "stride 5: %.12f (batch 1) %.12f (batch 3, twice %.12f); stride 16: %.6f"
           % (a["loss"], b["loss"], c["loss"], full["loss"]))


def check_text(tmp, run):
    text = open(GPL, "rb").read()[6000:6200]
    path = os.path.join(tmp, "t.txt")
    open(path, "wb").write(text)
    shard = os.path.join(tmp, "t.bin")
    make_shard.write(shard, [256] + list(text))  # <|endoftext|> then the bytes, as --text reads a file
    a = evaluate(run, "--text", path, "tokenizer=byte", "stride=8")
    b = evaluate(run, "--data", shard, "stride=8")
    report(a["loss"] == b["loss"] and a["tokens"] == 200 and a["bytes"] == 200, "text_equals_shard",
           "--text %.9f, --data %.9f, %d tokens, %d bytes" % (a["loss"], b["loss"], a["tokens"], a["bytes"]))


def check_gpt2_bytes(tmp):
    """A GPT-2-vocabulary model: bytes are the UTF-8 bytes of the text, whatever the tokens."""
    train = os.path.join(tmp, "g.bin")
    make_shard.write(train, [random.Random(3).randrange(50257) for _ in range(200)])
    cfg = write_ini(os.path.join(tmp, "g.ini"), **dict(MODEL, vocab_size=50257, train_data=train,
                                                       out_dir=os.path.join(tmp, "grun")))
    gpt2cl(["train", "--config", cfg])
    text = "Grüße aus Köln — ça va? 你好，世界 🙂\n".encode() * 3
    path = os.path.join(tmp, "u.txt")
    open(path, "wb").write(text)
    r = evaluate(os.path.join(tmp, "grun"), "--text", path)
    ids = gpt2cl(["encode", "--file", path]).split()
    report(r["bytes"] == len(text) and r["tokens"] == len(ids), "gpt2_bits_per_byte_bytes",
           "%d bytes (%d in the file), %d tokens" % (r["bytes"], len(text), r["tokens"]))


def check_no_tokenizer(tmp):
    """A vocabulary with no tokenizer (the 101-token fixture model): no bits per byte, a warning, the loss."""
    path = os.path.join(tmp, "v101.bin")
    make_shard.write(path, [random.Random(5).randrange(101) for _ in range(50)])
    p = subprocess.run([BIN, "eval", "--checkpoint", os.path.join(ROOT, "tests", "fixtures", "tiny", "model.bin"),
                        "--data", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    r = json.loads(p.stdout.decode().strip().splitlines()[-1]) if p.returncode == 0 else {}
    report(r.get("tokens") == 49 and r.get("bits_per_byte", 0) is None and r.get("bytes", 0) is None and
           "warning: no bits per byte" in p.stderr.decode(), "no_tokenizer_no_bits_per_byte",
           "%s | %s" % (r, p.stderr.decode().strip()))


def load_cases():
    cases = []
    for line in open(os.path.join(ROOT, "tests", "fixtures", "tokenizer", "cases.txt")):
        hexbytes, _, ids = line.rstrip("\n").partition("\t")
        cases.append((bytes.fromhex(hexbytes), [int(x) for x in ids.split()]))
    return cases


def check_encode_decode(tmp):
    bad = []
    for i, (data, ids) in enumerate(load_cases()):
        path = os.path.join(tmp, "case.txt")
        open(path, "wb").write(data)
        got = [int(x) for x in gpt2cl(["encode", "--file", path]).split()]
        js = json.loads(gpt2cl(["encode", "--json"], stdin=data))
        back = gpt2cl(["decode", "--ids", " ".join(map(str, ids))])
        back_json = gpt2cl(["decode"], stdin=json.dumps(ids).encode())
        back_commas = gpt2cl(["decode", "--ids", ",".join(map(str, ids))])
        if got != ids or js != ids or back != data or back_json != data or back_commas != data:
            bad.append(i + 1)
    report(not bad, "encode_decode_fixture_cases", "cases differing: %s" % (bad or "none"))
    text = "naïve café — 日本語 🙂 <|endoftext|> done\n".encode()
    ids = gpt2cl(["encode"], stdin=text)
    back = gpt2cl(["decode"], stdin=ids)
    report(back == text and b"50256" not in ids, "encode_decode_unicode_round_trip",
           "%d bytes -> %d ids -> %d bytes" % (len(text), len(ids.split()), len(back)))
    empty = (gpt2cl(["encode"]), gpt2cl(["encode", "--json", "--text", ""]), gpt2cl(["decode", "--ids", " , "]),
             gpt2cl(["decode"], stdin=b"[]"))
    report(empty == (b"\n", b"[]\n", b"", b""), "encode_decode_empty", repr(empty))


def cases(tmp):
    j = lambda *p: os.path.join(tmp, *p)  # noqa: E731
    data = open(GPL, "rb").read()
    make_shard.write(j("train.bin"), list(data[:2000]))
    make_shard.write(j("val.bin"), list(data[2000:2000 + 3 * 2 * T + 1]))  # exactly val_steps x batch_size x T + 1
    cfg = write_ini(j("m.ini"), train_data=j("train.bin"), val_data=j("val.bin"), val_steps=3, out_dir=j("run"),
                    log=j("run.jsonl"), **MODEL)
    gpt2cl(["train", "--config", cfg])
    check_validation(tmp, j("run"), j("val.bin"))
    check_token_counts(tmp, j("run"))
    check_strided_pieces(tmp, j("run"))
    check_deterministic(tmp, j("run"), j("val.bin"))
    check_text(tmp, j("run"))
    check_gpt2_bytes(tmp)
    check_no_tokenizer(tmp)
    check_encode_decode(tmp)


if __name__ == "__main__":
    sys.exit(run_in_temp_folder("test_eval", cases))
