#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs into tests/fuzz/corpus/<target>/ (standard library only; small files).

The seeds are valid inputs (so the fuzzer starts from the structure the readers expect) and near misses:
for the tuning database, type confusion (arrays in place of objects, strings and fractions in place of
integers, values outside the tuner's search space). Run from anywhere; rewrites the folders.
"""
import base64
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def config():
    put("config", "tiny.ini", "n_layer = 2\nn_head = 4\nn_embd = 64\nblock_size = 64\nvocab_size = 257\n"
        "lr = 1e-3\nschedule = constant\ntrain_data = $DATA/tokens/byte/train_*.bin\nlog = run.jsonl\n")
    put("config", "sections.ini", "; comment\n[model]\nn_layer = 4\n[optimizer]\noptimizer = lionar\n"
        "lionar_angle = 0.01\nbeta = 0.98\ninverse_bias_correction = sqrt\n# other comment\nseed : 7\n")
    put("config", "errors.ini", "lr = 1e-400\nsteps = 2.5\nlr = 2\nno equals sign\n[unterminated\n")
    put("config", "long_comment.ini", "# " + "-" * 300 + " steps = 4\nsteps = 1\n")
    put("config", "nul.ini", b"out_dir = run\0s\nwarmup_frac = 0.1\n")


def headers():
    def header(ints, size):
        return struct.pack("<q", size) + struct.pack("<%di" % len(ints), *ints) + bytes(4 * (256 - len(ints)))
    # llm.c checkpoint of the tests' tiny model (block 64, vocab 257 -> 384, 2 layers, 4 heads, 64 channels)
    put("headers", "checkpoint", header([20240326, 3, 64, 257, 2, 4, 64, 384], 1024 + 4 * 128768))
    put("headers", "checkpoint_bf16", header([20240326, 5, 64, 257, 2, 4, 64, 384], 1024 + 2 * 128768))
    put("headers", "shard", header([20240520, 1, 4000], 1024 + 2 * 4000))
    put("headers", "shard_negative", header([20240520, 1, -1], 1022))
    # resume state (version 4) matching fuzz_headers.c's expectations: step 2, 128768 parameters, adamw
    state = bytearray(1024)
    struct.pack_into("<iiii", state, 0, 20241124, 4, 2, 1)
    struct.pack_into("<Q", state, 72, 128768)
    struct.pack_into("<i", state, 80, 2)
    state[84:89] = b"adamw"
    struct.pack_into("<i", state, 128, 64)
    put("headers", "state", struct.pack("<q", 1024 + 4 * (2 * 128768 + 64)) + bytes(state))


XGEMM = dict(GEMMK=0, KREG=1, KWG=32, KWI=2, MDIMA=8, MDIMC=8, MWG=64, NDIMB=8, NDIMC=8, NWG=64, SA=0, SB=0,
             STRM=0, STRN=0, VWM=8, VWN=8)
KERNELS = dict(WG=64, VW=4, LN_WG=1, LN_ROWS=2, SOFTMAX_WG=8, SOFTMAX_ROWS=1, CE_WG=2, CE_VW=8, ROW_WG=1,
               REDUCE_WG=32, NORM_GROUPS=16, REDUCE_CONTIGUOUS=0, REDUCE_VW=4)
GEMM_CL = dict(VW=8, TM=4, TN=3, WG0=1, WG1=8, trans_a=0, trans_b=1, m=64, n=384, k=64, lda=64, ldb=64, ldc=384,
               stride_a=0, stride_b=0, stride_c=0, batch=1, ms=0.5, clblast_ms=0.9)


def tune_db():
    w = "B2 T32 C64 L2 NH4 Vp384 #c412f989"
    db = {"format": 1, "key": "0000000000000000",
          "device": {"platform": "p", "name": "n", "vendor": "v", "driver_version": "d", "opencl_version": "o"},
          "measurements": {w: {"CLBlast|defaults": {"ms": 13.4, "shape_ms": [0.5, 0.25, 1.0]},
                               "Xgemm|KWG=32 KWI=2 MDIMA=8": {"ms": None},
                               "GemmCL|VW=8 TM=4 TN=3 WG0=1 WG1=8": {"ms": 7.5, "pruned": True},
                               "layernorm|LN_WG=1 LN_ROWS=2": {"ms": 2.6}}},
          "peak_flops": 6.5e10,
          "best": {"date": "2026-01-01 00:00 UTC", "workload": w, "gemm_ms_default": 13.4, "gemm_ms_tuned": 7.0,
                   "gemm_checked": True,
                   "clblast": {"Xgemm": XGEMM, "XgemmDirect": dict(KWID=2, MDIMAD=8, MDIMCD=8, NDIMBD=8, NDIMCD=8,
                                                                    PADA=1, PADB=1, VWMD=1, VWND=1, WGD=32),
                               "GemmRoutine": {"XGEMM_MIN_INDIRECT_SIZE": 16385}},
                   "kernels": KERNELS, "kernels_ms_default": 3.0, "kernels_ms_tuned": 1.0,
                   "gemm_cl": [GEMM_CL, {"all": True, "VW": 8, "TM": 3, "TN": 2, "WG0": 2, "WG1": 4}]}}

    def variant(name, change):
        d = json.loads(json.dumps(db))
        change(d)
        put("tune_db", name + ".json", json.dumps(d))

    variant("valid", lambda d: None)
    variant("kernels_array", lambda d: d["best"].update(kernels=[64, 4]))
    variant("kernels_fraction", lambda d: d["best"]["kernels"].update(LN_WG=2.5))
    variant("kernels_string", lambda d: d["best"]["kernels"].update(WG="64"))
    variant("clblast_array", lambda d: d["best"].update(clblast=[XGEMM]))
    variant("xgemm_array", lambda d: d["best"]["clblast"].update(Xgemm=list(XGEMM.values())))
    variant("xgemm_illegal", lambda d: d["best"]["clblast"]["Xgemm"].update(MWG=48, MDIMC=0))
    variant("xgemm_huge", lambda d: d["best"]["clblast"]["Xgemm"].update(KWG=1e300))
    variant("measurements_array", lambda d: d["measurements"].update({w: [1, 2, 3]}))
    variant("measurement_entry_array", lambda d: d["measurements"][w].update({"Xgemm|KWG=16": [{"ms": 1}]}))
    variant("shape_ms_object", lambda d: d["measurements"][w]["CLBlast|defaults"].update(shape_ms={"a": 1}))
    variant("best_array", lambda d: d.update(best=[d["best"]]))
    variant("gemm_cl_object", lambda d: d["best"].update(gemm_cl=GEMM_CL))
    variant("gemm_cl_negative", lambda d: d["best"]["gemm_cl"][0].update(m=-1, VW=3))
    variant("peak_negative", lambda d: d.update(peak_flops=-1))
    variant("duplicate_keys", lambda d: None)
    put("tune_db", "duplicate_keys.json", '{"best": {"kernels": {"WG": 64}, "kernels": [1]}, "measurements": {}}')


def tokenizer():
    # A 256-byte vocabulary plus a few merges (ranks 256..), then a NUL, then text.
    ranks = [bytes([b]) for b in range(256)] + [b"th", b"he", b"the", b" t", b"in", b"ing", b"  "]
    vocab = "".join("%s %d\n" % (base64.b64encode(t).decode(), i) for i, t in enumerate(ranks))
    put("tokenizer", "vocab_and_text", vocab.encode() + b"\0the thing in the  house\n")
    put("tokenizer", "vocab_missing_byte", "".join(l + "\n" for l in vocab.splitlines()[1:]).encode() + b"\0abc")
    put("tokenizer", "text_unicode", "It's Ünïcödé — 日本語 \u2028 tabs\t\tand  spaces 123 ?!".encode())
    put("tokenizer", "text_invalid_utf8", b"ok \xff\xfe bad \xc3( \xe2\x82 end\n\nnext line\n")
    put("tokenizer", "text_whitespace", b" " * 300 + b"\n" * 20 + b"x")


def safetensors():
    """A tiny GPT-2-named file (F32, BF16 and an ignored I64 buffer), near misses, and config.json texts."""
    def st(entries, data, meta=True):
        header = {"__metadata__": {"format": "pt"}} if meta else {}
        header.update(entries)
        h = json.dumps(header).encode()
        return struct.pack("<Q", len(h)) + h + data
    put("safetensors", "two_tensors", st({"transformer.wte.weight": {"dtype": "F32", "shape": [2, 2],
                                                                     "data_offsets": [0, 16]},
                                          "h.0.attn.bias": {"dtype": "I64", "shape": [1], "data_offsets": [16, 24]},
                                          "ln_f.bias": {"dtype": "BF16", "shape": [2], "data_offsets": [24, 28]}},
                                         struct.pack("<4f", 1, 2, 3, 4) + bytes(8) + b"\x80\x3f\x00\x40"))
    put("safetensors", "overlap", st({"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
                                      "b": {"dtype": "F16", "shape": [2], "data_offsets": [2, 6]}}, bytes(6), False))
    put("safetensors", "lying_length", struct.pack("<Q", 1 << 40) + b"{}")
    put("safetensors", "config", json.dumps({"model_type": "gpt2", "n_layer": 2, "n_head": 4, "n_embd": 32,
                                             "n_positions": 16, "vocab_size": 101, "n_inner": None,
                                             "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5}))


if __name__ == "__main__":
    shutil.rmtree(os.path.join(HERE, "corpus"), ignore_errors=True)
    config()
    headers()
    tune_db()
    tokenizer()
    safetensors()
