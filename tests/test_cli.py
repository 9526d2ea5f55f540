#!/usr/bin/env python3
"""Command-line error handling of gpt2cl (python3 standard library only).

Every bad input must end in ONE line `gpt2cl: error: ...` on stderr with exit status 1 (no crash, no
traceback, no core dump) and must leave existing files alone. Also checks that `devices` and the --help
texts work. Finds the binary via $GPT2CL_BIN and the source tree via $GPT2CL_SOURCE_ROOT.
"""
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # do not leave __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_shard  # noqa: E402
from harness import BIN, GPL, ROOT, report, require_binary, summary  # noqa: E402,F401

TINY = dict(n_layer=2, n_head=4, n_embd=64, block_size=64, vocab_size=257, batch_size=2, seq_len=32, steps=1,
            lr="1e-3", schedule="constant")

def run(args, cwd, env=None, timeout=300, stdin_text=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    t0 = time.monotonic()
    p = subprocess.run([BIN] + args, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, input=None if stdin_text is None else stdin_text.encode())
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), \
        time.monotonic() - t0


def write_ini(path, **keys):
    with open(path, "w") as f:
        for k, v in keys.items():
            f.write("%s = %s\n" % (k, v))
    return path


def tree_digest(d):
    """Maps each file under d to the sha256 of its bytes."""
    out = {}
    for base, _, files in os.walk(d):
        for fn in files:
            p = os.path.join(base, fn)
            with open(p, "rb") as f:
                out[os.path.relpath(p, d)] = hashlib.sha256(f.read()).hexdigest()
    return out


def expect_error(name, args, needles, cwd, env=None, max_seconds=None, protect=None):
    """Runs gpt2cl, expects exit 1 and exactly one stderr line `gpt2cl: error: ...` holding every needle.
    protect: folder whose files must be byte-identical afterwards."""
    before = tree_digest(protect) if protect else None
    rc, out, err, dt = run(args, cwd, env)
    lines = [l for l in err.splitlines() if l.strip()]
    problems = []
    if rc != 1:
        problems.append("exit status %d, expected 1" % rc)
    if len(lines) != 1:
        problems.append("%d stderr lines, expected 1" % len(lines))
    if not lines or not lines[-1].startswith("gpt2cl: error: "):
        problems.append("stderr does not end in a 'gpt2cl: error: ' line")
    if isinstance(needles, str):
        needles = [needles]
    for n in needles:
        if n not in err:
            problems.append("message lacks %r" % n)
    for bad in ("Traceback", "Segmentation", "core dumped", "Aborted", "AddressSanitizer"):
        if bad in err or bad in out:
            problems.append("output mentions %r" % bad)
    if max_seconds is not None and dt > max_seconds:
        problems.append("took %.1f s, more than %.0f s" % (dt, max_seconds))
    if protect and tree_digest(protect) != before:
        problems.append("files in %s changed" % protect)
    msg = lines[-1] if lines else "(no stderr)"
    report(not problems, name, "rc=%d %.2fs | %s%s" % (rc, dt, msg, "" if not problems else
                                                        "\n     PROBLEMS: " + "; ".join(problems) +
                                                        "\n     stderr: " + err.strip().replace("\n", "\n     ")))


def expect_ok(name, args, cwd, needle=None, stream="stdout", env=None, stdin_text=None):
    rc, out, err, dt = run(args, cwd, env, stdin_text=stdin_text)
    text = out if stream == "stdout" else err
    ok = rc == 0 and (needle is None or needle in text)
    first = (text.strip().splitlines() or ["(empty)"])[0]
    report(ok, name, "rc=%d %.2fs | %s%s" % (rc, dt, first, "" if ok else "\n     stdout: %s\n     stderr: %s" %
                                                (out.strip(), err.strip())))
    return out


def main():
    require_binary("test_cli")
    tmp = tempfile.mkdtemp(prefix="gpt2cl_test_cli_")
    try:
        cases(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary("test_cli")


def cases(tmp):
    j = lambda *p: os.path.join(tmp, *p)  # noqa: E731
    data = open(GPL, "rb").read()
    make_shard.write(j("train.bin"), list(data[:4000]))
    good = write_ini(j("good.ini"), train_data=j("train.bin"), **TINY)

    # ---- help texts and commands ----
    expect_ok("help", ["--help"], tmp, "usage: gpt2cl")
    expect_ok("train_help", ["train", "--help"], tmp, "--resume")
    expect_ok("bench_help", ["bench", "--help"], tmp, "usage: gpt2cl bench")
    expect_ok("devices_help", ["devices", "--help"], tmp, "usage: gpt2cl devices")
    expect_ok("export_help", ["export", "--help"], tmp, "usage: gpt2cl export")
    expect_ok("classify_help", ["classify", "--help"], tmp, "usage: gpt2cl classify")
    out = expect_ok("devices_lists_one", ["devices"], tmp)
    rows = [l for l in out.splitlines()[1:] if l.split() and l.split()[0].isdigit()]
    report(len(rows) >= 1, "devices_has_row", "%d device row(s): %s" % (len(rows), rows[0] if rows else out))
    rc, out, err, dt = run(["frobnicate"], tmp)
    report(rc != 0 and "unknown command" in err, "unknown_command", "rc=%d | %s" % (rc, err.strip()))
    rc, out, err, dt = run([], tmp)
    report(rc == 2 and "usage" in err, "no_command", "rc=%d | %s" % (rc, (err.strip().splitlines() or [""])[0]))
    expect_error("devices_extra_arg", ["devices", "extra"], "takes no arguments", tmp)

    # ---- command line ----
    expect_error("unknown_option", ["train", "--bogus", "--config", good], "unknown option '--bogus'", tmp)
    expect_error("override_without_eq", ["train", "--config", good, "n_layer"], "expected key=value", tmp)
    expect_error("override_unknown_key", ["train", "--config", good, "colour=blue"], "unknown key 'colour'", tmp)
    expect_error("no_config_no_resume", ["train"], "--config", tmp)
    expect_error("config_and_resume", ["train", "--config", good, "--resume", tmp], "not both", tmp)
    expect_error("config_needs_file", ["train", "--config"], "--config needs a file", tmp)
    expect_error("bench_without_config", ["bench"], "bench needs --config", tmp)

    # ---- config files ----
    expect_error("missing_config", ["train", "--config", j("nope.ini")], "cannot open config", tmp)
    with open(j("syntax.ini"), "w") as f:
        f.write("n_layer = 2\nthis line has no equals sign\n")
    expect_error("config_syntax_error", ["train", "--config", j("syntax.ini")], ["syntax.ini:2", "syntax error"], tmp)
    with open(j("unknown.ini"), "w") as f:
        f.write("n_layer = 2\nn_layers = 3\n")
    expect_error("config_unknown_key", ["train", "--config", j("unknown.ini")],
                 ["unknown.ini:2", "unknown key 'n_layers'"], tmp)
    write_ini(j("badint.ini"), train_data=j("train.bin"), n_layer="two")
    expect_error("config_not_integer", ["train", "--config", j("badint.ini")], "n_layer: 'two' is not an integer",
                 tmp)
    expect_error("override_not_integer", ["train", "--config", good, "batch_size=4x"],
                 "batch_size: '4x' is not an integer", tmp)
    expect_error("override_not_number", ["train", "--config", good, "lr=fast"], "lr: 'fast' is not a finite number",
                 tmp)
    expect_error("override_nan", ["train", "--config", good, "lr=nan"], "not a finite number", tmp)
    expect_error("override_empty_int", ["train", "--config", good, "steps="], "is not an integer", tmp)
    expect_error("override_out_of_range", ["train", "--config", good, "n_layer=0"], "n_layer: 0 is out of range",
                 tmp)
    expect_error("override_negative_lr", ["train", "--config", good, "lr=-1"], "lr: -1 is out of range", tmp)
    expect_error("override_beta2_one", ["train", "--config", good, "beta2=1"], "beta2: 1 is out of range", tmp)
    expect_error("override_bad_enum", ["train", "--config", good, "schedule=foo"],
                 ["schedule: 'foo' is not one of", "cosine"], tmp)
    expect_error("override_bad_optimizer", ["train", "--config", good, "optimizer=sgd"], "optimizer: 'sgd'", tmp)
    # --- optimizer keys ---
    bad_opt = [
        ("opt_bool_value", ["adamw_bias_correction1=maybe"], "adamw_bias_correction1: 'maybe' is not true or false"),
        ("opt_lionar_angle_word", ["optimizer=lionar", "lionar_angle=big"], ["lionar_angle: 'big'", "radians"]),
        ("opt_lionar_angle_negative", ["optimizer=lionar", "lionar_angle=-0.1"], "lionar_angle: '-0.1'"),
        ("opt_lionar_angle_not_lionar", ["lionar_angle=0.01"], "lionar_angle applies to lionar only"),
        ("opt_ibc_enum", ["optimizer=lionar", "inverse_bias_correction=cubic"],
         "inverse_bias_correction: 'cubic' is not one of"),
        ("opt_ibc_adamw", ["inverse_bias_correction=linear"], "inverse_bias_correction applies to lionar and rv_adamw"),
        ("opt_nesterov_adamw", ["nesterov=true"], "nesterov applies to lion, liona and lionar"),
        ("opt_rrc_accum1", ["optimizer=lionar", "rrc_correction=true"], "needs grad_accum >= 2"),
        ("opt_rrc_lion", ["optimizer=lion", "rrc_correction=true", "grad_accum=2"], "rrc_correction applies to"),
        ("opt_zero_mean_lion", ["optimizer=lion", "lionar_zero_mean=true"], "lionar_zero_mean applies to"),
        ("opt_beta_one", ["beta=1"], "beta: 1 is out of range"),
        ("opt_kappa_negative", ["liona_kappa=-1"], "liona_kappa: -1 is out of range"),
        ("opt_metrics_every_negative", ["metrics_every=-1"], "metrics_every: -1 is out of range"),
        ("opt_snr_ema_one", ["snr_ema=1"], "snr_ema: 1 is out of range"),
        ("opt_cooldown_frac", ["schedule=trapezoid", "cooldown_frac=1.5"], "cooldown_frac: 1.5 is out of range"),
        ("opt_warmup_both", ["warmup_steps=5", "warmup_frac=0.1"], "warmup_steps or warmup_frac, not both"),
        ("opt_schedule_enum", ["schedule=trapezium"], ["schedule: 'trapezium' is not one of", "trapezoid"]),
    ]
    for name, overrides, needles in bad_opt:
        expect_error(name, ["train", "--config", good] + overrides, needles, tmp)
    # --- end optimizer keys ---
    write_ini(j("nodata.ini"), **TINY)
    expect_error("missing_train_data", ["train", "--config", j("nodata.ini")], "train_data is not set", tmp)
    expect_error("n_embd_not_divisible", ["train", "--config", good, "n_embd=66"],
                 "n_embd (66) must be divisible by n_head (4)", tmp)
    expect_error("seq_len_gt_block_size", ["train", "--config", good, "seq_len=65"],
                 "seq_len (65) is larger than block_size (64)", tmp)
    expect_error("min_lr_gt_lr", ["train", "--config", good, "min_lr=1"], "min_lr", tmp)
    expect_error("checkpoint_every_no_out_dir", ["train", "--config", good, "checkpoint_every=5"],
                 "out_dir is empty", tmp)
    expect_error("option_after_override", ["train", "--config", good, "steps=2", "--profile"],
                 "options go before key=value", tmp)

    # ---- devices ----
    expect_error("device_no_match", ["train", "--config", good, "device=nosuchdevice"],
                 "no OpenCL device matches 'nosuchdevice'", tmp)
    expect_error("device_index_range", ["train", "--config", good, "device=99"], "device 99 does not exist", tmp)
    expect_error("device_flag_train", ["train", "--device", "99", "--config", good], "device 99 does not exist", tmp)
    expect_error("device_flag_bench", ["bench", "--config", good, "--device", "nosuchdevice"],
                 "no OpenCL device matches 'nosuchdevice'", tmp)
    expect_error("device_flag_missing", ["train", "--config", good, "--device"], "--device needs", tmp)
    expect_ok("device_flag_selects", ["train", "--config", good, "--device", "0"], tmp, "device: 0: ")
    os.mkdir(j("no_icds"))
    no_icd = {"OCL_ICD_VENDORS": j("no_icds"), "OPENCL_VENDOR_PATH": j("no_icds")}
    expect_error("no_platform_train", ["train", "--config", good], "no OpenCL platform", tmp, env=no_icd)
    expect_error("no_platform_devices", ["devices"], "no OpenCL platform", tmp, env=no_icd)
    # Activations of ~25 TiB: must be refused by the estimate, before any allocation, so quickly.
    expect_error("not_enough_device_memory",
                 ["train", "--config", good, "batch_size=100000", "seq_len=1024", "block_size=1024",
                  "vocab_size=50257"],
                 ["not enough device memory", "needs", "TiB", "has", "GiB"], tmp, max_seconds=20)
    expect_error("bench_not_enough_memory",
                 ["bench", "--config", good, "batch_size=100000", "seq_len=1024", "block_size=1024",
                  "vocab_size=50257"], "not enough device memory", tmp, max_seconds=20)

    # ---- a real run to get a checkpoint (also the out_dir protection cases) ----
    run_dir = j("run")
    rc, out, err, dt = run(["train", "--config", good, "out_dir=" + run_dir], tmp)
    ck = os.path.join(run_dir, "model_00000001.bin")
    ok = rc == 0 and os.path.exists(ck) and os.path.exists(os.path.join(run_dir, "state_00000001.bin"))
    report(ok, "setup_run_writes_checkpoint", "rc=%d %.1fs%s" % (rc, dt, "" if ok else "\n" + out + err))
    if not ok:
        return
    expect_error("out_dir_has_checkpoints", ["train", "--config", good, "out_dir=" + run_dir],
                 ["already holds checkpoints", "--resume"], tmp, protect=run_dir)
    expect_error("out_dir_has_checkpoints_bad_cfg", ["train", "--config", good, "out_dir=" + run_dir, "steps=5"],
                 "already holds checkpoints", tmp, protect=run_dir)
    expect_error("resume_already_done", ["train", "--resume", run_dir], "already at step 1", tmp, protect=run_dir)
    expect_error("resume_shape_override", ["train", "--resume", run_dir, "steps=2", "n_layer=3"],
                 "n_layer = 3", tmp, protect=run_dir)
    expect_error("resume_other_data_order", ["train", "--resume", run_dir, "steps=2", "data_order=sequential"],
                 "data_order = shuffle", tmp, protect=run_dir)
    expect_error("sample_tokenizer_too_big", ["train", "--config", good, "sample_every=1", "tokenizer=gpt2"],
                 "has 50257 tokens but the model's vocabulary has 257", tmp)

    # ---- gpt2cl sample ----
    expect_error("sample_no_checkpoint", ["sample", "--prompt", "x"], "needs --checkpoint", tmp)
    expect_error("sample_missing_checkpoint", ["sample", "--checkpoint", j("nope.bin")], "cannot open checkpoint", tmp)
    expect_error("sample_not_a_checkpoint", ["sample", "--checkpoint", j("train.bin")], "is not an llm.c checkpoint", tmp)
    expect_error("sample_unknown_key", ["sample", "--checkpoint", run_dir, "temprature=1"], "unknown key 'temprature'",
                 tmp)
    expect_error("sample_bad_value", ["sample", "--checkpoint", run_dir, "top_p=2"], "top_p", tmp)
    expect_error("sample_unknown_option", ["sample", "--checkpoint", run_dir, "--prompt"], "--prompt needs", tmp)
    expect_ok("sample_from_run_dir", ["sample", "--checkpoint", run_dir, "--prompt", "ab", "max_new_tokens=5"], tmp,
              "")
    # generation keys and prompt files (the model's context is 64 byte tokens)
    expect_error("sample_prompt_too_long", ["sample", "--checkpoint", run_dir, "--prompt", "x" * 65],
                 "the prompt has 65 tokens, more than the model's context of 64", tmp)
    with open(j("prompt.txt"), "w") as f:
        f.write("once upon")
    expect_error("sample_prompt_and_file", ["sample", "--checkpoint", run_dir, "--prompt", "a", "--prompt-file",
                                            j("prompt.txt")], "not both", tmp)
    expect_error("sample_prompt_file_missing", ["sample", "--checkpoint", run_dir, "--prompt-file", j("nope.txt")],
                 "cannot read prompt file", tmp)
    expect_error("sample_beams_zero", ["sample", "--checkpoint", run_dir, "beams=0"], "beams", tmp)
    expect_error("sample_beams_too_many", ["sample", "--checkpoint", run_dir, "beams=65"], "beams", tmp)
    expect_error("sample_num_samples_zero", ["sample", "--checkpoint", run_dir, "num_samples=0"], "num_samples", tmp)
    expect_error("sample_num_samples_too_many", ["sample", "--checkpoint", run_dir, "num_samples=65"],
                 "num_samples", tmp)
    expect_error("sample_beams_and_samples", ["sample", "--checkpoint", run_dir, "beams=2", "num_samples=2"],
                 "do not combine", tmp)
    expect_error("sample_beams_without_cache", ["sample", "--checkpoint", run_dir, "beams=2", "kv_cache=0"],
                 "needs kv_cache", tmp)
    expect_ok("sample_prompt_file", ["sample", "--checkpoint", run_dir, "--prompt-file", j("prompt.txt"),
                                     "max_new_tokens=3"], tmp, "once upon")
    expect_ok("sample_prompt_stdin", ["sample", "--checkpoint", run_dir, "--prompt-file", "-", "max_new_tokens=3"],
              tmp, "from stdin", stdin_text="from stdin")
    expect_ok("sample_num_samples", ["sample", "--checkpoint", run_dir, "--prompt", "ab", "num_samples=3",
                                     "max_new_tokens=4"], tmp, "--- sample 2\nab")
    expect_ok("sample_num_samples_recompute", ["sample", "--checkpoint", run_dir, "--prompt", "ab", "num_samples=2",
                                               "kv_cache=0", "max_new_tokens=4"], tmp, "--- sample 1\nab")
    expect_ok("sample_beams", ["sample", "--checkpoint", run_dir, "--prompt", "ab", "beams=3", "max_new_tokens=4",
                               "--verbose"], tmp, "beam 2: score", stream="stderr")
    expect_ok("sample_past_context", ["sample", "--checkpoint", run_dir, "--prompt", "ab", "max_new_tokens=100",
                                      "stop_at_eot=0"], tmp, "ab")

    # ---- gpt2cl eval, encode, decode ----
    make_shard.write(j("val.bin"), list(data[:200]))
    open(j("empty.txt"), "w").close()
    make_shard.write(j("gpt2ids.bin"), [50000, 3, 4])
    expect_error("eval_no_checkpoint", ["eval", "--data", j("val.bin")], "eval needs --checkpoint", tmp)
    expect_error("eval_missing_checkpoint", ["eval", "--checkpoint", j("nope.bin"), "--data", j("val.bin")],
                 "cannot open checkpoint", tmp)
    expect_error("eval_no_input", ["eval", "--checkpoint", run_dir], "needs --data SHARDS or --text FILE", tmp)
    expect_error("eval_data_and_text", ["eval", "--checkpoint", run_dir, "--data", j("val.bin"), "--text", GPL],
                 "not both", tmp)
    expect_error("eval_text_twice", ["eval", "--checkpoint", run_dir, "--text", GPL, "--text", GPL], "one list", tmp)
    expect_error("eval_empty_text", ["eval", "--checkpoint", run_dir, "--text", j("empty.txt")],
                 "nothing to evaluate", tmp)
    expect_error("eval_missing_text", ["eval", "--checkpoint", run_dir, "--text", j("nope.txt")],
                 "cannot read text file", tmp)
    expect_error("eval_missing_data", ["eval", "--checkpoint", run_dir, "--data", j("nope_*.bin")], "matches no files",
                 tmp)
    expect_error("eval_stride_over_window", ["eval", "--checkpoint", run_dir, "--data", j("val.bin"), "seq_len=8",
                                             "stride=9"], "stride (9) must not exceed", tmp)
    expect_error("eval_stride_negative", ["eval", "--checkpoint", run_dir, "--data", j("val.bin"), "stride=-1"],
                 "stride", tmp)
    expect_error("eval_stride_not_a_number", ["eval", "--checkpoint", run_dir, "--data", j("val.bin"), "stride=x"],
                 "stride", tmp)
    expect_error("eval_seq_len_over_context", ["eval", "--checkpoint", run_dir, "--data", j("val.bin"),
                                               "seq_len=65"], "larger than the model's context", tmp)
    expect_error("eval_shard_other_vocab", ["eval", "--checkpoint", run_dir, "--data", j("gpt2ids.bin")],
                 "holds token id 50000", tmp)
    expect_error("eval_not_a_shard", ["eval", "--checkpoint", run_dir, "--data", good], "token shard", tmp)
    expect_error("eval_unknown_key", ["eval", "--checkpoint", run_dir, "--data", j("val.bin"), "lr=1"],
                 "unknown key 'lr' (see `gpt2cl eval --help`)", tmp)
    expect_ok("eval_help", ["eval", "--help"], tmp, "bits per byte")
    expect_ok("eval_json_line", ["eval", "--checkpoint", run_dir, "--data", j("val.bin")], tmp, '{"loss":')
    expect_error("decode_id_out_of_range", ["decode", "--ids", "1 50257"], "token id 50257 (number 2) is out of", tmp)
    expect_error("decode_negative_id", ["decode", "--ids", "[3, -1]"], "token id -1 (number 2) is out of", tmp)
    expect_error("decode_not_numeric", ["decode", "--ids", "12 abc"], "token id number 2 ('abc') is not an integer",
                 tmp)
    expect_error("decode_fraction_in_json", ["decode", "--ids", "[1, 2.5]"], "is not an integer", tmp)
    expect_error("decode_bad_json", ["decode", "--ids", "[1, 2"], "not a JSON array", tmp)
    expect_error("decode_byte_vocab", ["decode", "--tokenizer", "byte", "--ids", "257"], "ids are 0 to 256", tmp)
    expect_error("decode_ids_and_file", ["decode", "--ids", "1", "--file", GPL], "not both", tmp)
    expect_error("encode_missing_file", ["encode", "--file", j("nope.txt")], "cannot read input file", tmp)
    expect_error("encode_stray_argument", ["encode", "hello"], "unexpected argument 'hello'", tmp)
    expect_error("encode_bad_tokenizer", ["encode", "--tokenizer", j("nope.tiktoken"), "--text", "x"], "nope.tiktoken",
                 tmp)

    os.mkdir(j("empty_run"))
    expect_error("sample_dir_without_checkpoint", ["sample", "--checkpoint", j("empty_run")], "is a folder", tmp)
    expect_error("resume_no_checkpoint", ["train", "--resume", j("empty_run")], "nothing to resume", tmp)
    expect_error("resume_missing_dir", ["train", "--resume", j("no_such_run")], "nothing to resume", tmp)
    with open(j("a_file"), "w") as f:
        f.write("x")
    expect_error("out_dir_is_a_file", ["train", "--config", good, "out_dir=" + j("a_file")], "not a folder", tmp)

    # corrupt resume state (in a copy): truncated optimizer state
    bad_run = j("bad_run")
    shutil.copytree(run_dir, bad_run)
    st = os.path.join(bad_run, "state_00000001.bin")
    with open(st, "r+b") as f:
        f.truncate(os.path.getsize(st) - 100)
    expect_error("resume_truncated_state", ["train", "--resume", bad_run, "steps=2"],
                 ["state_00000001.bin", "truncated"], tmp, protect=bad_run)

    # ---- checkpoints given to init_from ----
    ck_bytes = open(ck, "rb").read()

    def patched(name, header_index=None, value=None, cut=0, extra=b""):
        b = bytearray(ck_bytes)
        if header_index is not None:
            b[4 * header_index:4 * header_index + 4] = struct.pack("<i", value)
        if cut:
            b = b[:-cut]
        p = j(name)
        with open(p, "wb") as f:
            f.write(bytes(b) + extra)
        return p

    expect_ok("init_from_valid_checkpoint", ["train", "--config", good, "init_from=" + ck], tmp, "step 1/1")
    expect_error("init_from_missing", ["train", "--config", good, "init_from=" + j("nope.bin")],
                 "cannot open checkpoint", tmp)
    expect_error("init_from_bad_magic", ["train", "--config", good, "init_from=" + patched("m.bin", 0, 1234)],
                 "is not an llm.c checkpoint", tmp)
    expect_error("init_from_token_shard", ["train", "--config", good, "init_from=" + j("train.bin")],
                 "is not an llm.c checkpoint", tmp)
    expect_error("init_from_bf16_size", ["train", "--config", good, "init_from=" + patched("v.bin", 1, 5)],
                 ["version 5", "implies"], tmp)  # an fp32 file's size under a bf16 header
    expect_error("init_from_unknown_version", ["train", "--config", good, "init_from=" + patched("v7.bin", 1, 7)],
                 ["has version 7", "fp32 (version 3) and bf16 (version 5)"], tmp)
    expect_error("init_from_truncated", ["train", "--config", good, "init_from=" + patched("t.bin", cut=4)],
                 "truncated", tmp)
    expect_error("init_from_too_long", ["train", "--config", good, "init_from=" + patched("l.bin", extra=b"\0" * 8)],
                 "bytes but its header", tmp)
    expect_error("init_from_tiny_file", ["train", "--config", good, "init_from=" + j("a_file")],
                 "too short", tmp)
    expect_error("init_from_bad_header", ["train", "--config", good, "init_from=" + patched("h.bin", 5, 3)],
                 "invalid header", tmp)  # n_head 3 does not divide n_embd 64
    expect_error("init_from_shape_mismatch", ["train", "--config", good, "init_from=" + ck, "n_layer=3"],
                 ["n_layer = 3 is set", "n_layer = 2"], tmp)
    nan_ck = bytearray(ck_bytes)
    nan_ck[1024 + 400:1024 + 404] = struct.pack("<f", float("nan"))
    with open(j("nan.bin"), "wb") as f:
        f.write(nan_ck)
    expect_error("init_from_nan", ["train", "--config", good, "init_from=" + j("nan.bin")], "non-finite", tmp)

    # ---- token shards ----
    def shard(name, tokens, **kw):
        make_shard.write(j(name), tokens, **kw)
        return "train_data=" + j(name)

    toks = list(data[:200])
    expect_error("shard_bad_magic", ["train", "--config", good, shard("s1.bin", toks, magic=1)],
                 "is not an llm.c token shard", tmp)
    expect_error("shard_bad_version", ["train", "--config", good, shard("s2.bin", toks, version=7)],
                 "has version 7", tmp)
    expect_error("shard_truncated", ["train", "--config", good, shard("s3.bin", toks, count=len(toks) + 10)],
                 ["announces 210 tokens", "truncated"], tmp)
    expect_error("shard_too_long", ["train", "--config", good, shard("s3b.bin", toks, count=len(toks) - 10)],
                 "announces 190 tokens", tmp)
    expect_error("shard_negative_count", ["train", "--config", good, shard("s3c.bin", toks, count=-1)],
                 "negative", tmp)
    with open(j("s4.bin"), "wb") as f:
        f.write(b"\x00" * 100)
    expect_error("shard_short_header", ["train", "--config", good, "train_data=" + j("s4.bin")], "too short", tmp)
    expect_error("shard_token_out_of_vocab", ["train", "--config", good, shard("s5.bin", toks[:100] + [300] + toks)],
                 ["token id 300", "position 100", "257"], tmp)
    expect_error("shard_too_few_tokens", ["train", "--config", good, shard("s6.bin", toks[:64])],
                 ["fewer than one batch", "65"], tmp)  # batch_size 2 * seq_len 32 + 1 = 65
    expect_error("train_data_glob_no_match", ["train", "--config", good, "train_data=" + j("nomatch_*.bin")],
                 ["train_data", "matches no files"], tmp)
    os.mkdir(j("empty_data"))
    expect_error("train_data_empty_folder", ["train", "--config", good, "train_data=" + j("empty_data")],
                 "matches no files", tmp)
    expect_error("val_data_glob_no_match", ["train", "--config", good, "val_data=" + j("nomatch_*.bin")],
                 ["val_data", "matches no files"], tmp)
    expect_ok("val_data_too_small_warns", ["train", "--config", good, "val_data=" + j("train.bin"), "val_steps=100"],
              tmp, "validation repeats batches", stream="stderr")
    expect_error("val_data_bad_magic", ["train", "--config", good, "val_data=" + j("s1.bin")],
                 "is not an llm.c token shard", tmp)
    # a second, broken shard behind a good one: reported when the glob is expanded, not mid-run
    os.mkdir(j("two"))
    shutil.copy(j("train.bin"), j("two", "a.bin"))
    shutil.copy(j("s2.bin"), j("two", "b.bin"))
    expect_error("second_shard_bad", ["train", "--config", good, "train_data=" + j("two")], "has version 7", tmp)

    # A later shard too short for one batch: must be caught when the shards are listed, before step 1 --
    # not hours into a run when the loader reaches it.
    os.mkdir(j("short2"))
    shutil.copy(j("train.bin"), j("short2", "a.bin"))
    make_shard.write(j("short2", "b.bin"), toks[:40])
    rc, out, err, dt = run(["train", "--config", good, "steps=80", "train_data=" + j("short2")], tmp)
    report(rc == 1 and "fewer than one batch" in err and err.count("\n") == 1, "later_shard_too_few_tokens",
           "rc=%d | %s" % (rc, err.strip()))
    trained = len(re.findall(r"^step +\d+/", out, re.M))
    report(trained == 0, "later_shard_checked_upfront",
           "error came %s" % ("before training" if not trained else "mid-run, after %d steps" % trained))

    expect_error("data_order_bad", ["train", "--config", good, "data_order=random"],
                 "data_order: 'random' is not one of shuffle|sequential", tmp)

    classify_cases(tmp, j)

    # ---- output files ----
    previous = '{"step":1,"loss":5.5}\n{"step":1,"val_loss":5.6}\n'
    with open(j("old.jsonl"), "w") as f:
        f.write(previous)
    rc, out, err, dt = run(["train", "--config", good, "log=" + j("old.jsonl")], tmp)
    log_text = open(j("old.jsonl")).read()
    report(rc == 0 and log_text.startswith(previous) and log_text.count('"step":1') == 3, "log_appends",
           "an existing gpt2cl log keeps its content and gets the new step appended")
    with open(j("other.txt"), "w") as f:
        f.write("previous line\n")
    expect_error("log_refuses_other_files", ["train", "--config", good, "log=" + j("other.txt")],
                 "is not a gpt2cl log", tmp, protect=tmp)
    expect_error("log_in_missing_folder", ["train", "--config", good, "log=" + j("no", "such", "dir", "log.jsonl")],
                 "cannot open log file", tmp)
    sft_cases(tmp, j, good)


def sft_cases(tmp, j, good):
    """Supervised fine-tuning data (prepare --format sft, task = sft) and freeze."""
    def jsonl(name, *lines):
        with open(j(name), "w") as f:
            f.write("".join(l + "\n" for l in lines))
        return j(name)

    ok_line = '{"prompt": "a", "completion": " b"}'
    prep = ["prepare", "--format", "sft", "--tokenizer", "byte", "--out", j("sftout")]
    expect_error("sft_missing_completion", prep + [jsonl("s1.jsonl", ok_line, '{"prompt": "x"}')],
                 ["s1.jsonl:2:", '"prompt" and "completion"'], tmp)
    expect_error("sft_empty_completion", prep + [jsonl("s2.jsonl", '{"prompt": "x", "completion": ""}')],
                 ["s2.jsonl:1:", "empty \"completion\""], tmp)
    expect_error("sft_message_without_role", prep + [jsonl("s3.jsonl", '{"messages": [{"content": "hi"}]}')],
                 ["s3.jsonl:1:", "message 1 has no string \"role\""], tmp)
    expect_error("sft_no_assistant", prep + [jsonl("s4.jsonl", '{"messages": [{"role": "user", "content": "hi"}]}')],
                 ["s4.jsonl:1:", "no message with role \"assistant\""], tmp)
    expect_error("sft_prompt_longer_than_context",
                 prep + ["--context", "8", jsonl("s5.jsonl", ok_line, '{"prompt": "0123456789", "completion": "x"}')],
                 ["s5.jsonl:2:", "longer than the context of 8 tokens"], tmp)
    expect_error("sft_not_jsonl", prep + [j("train.bin")], "--format sft reads .jsonl files", tmp)
    expect_error("sft_bad_format", ["prepare", "--format", "chat", j("s1.jsonl")], "--format: expected text or sft",
                 tmp)
    expect_error("sft_context_without_sft", ["prepare", "--context", "8", j("s1.jsonl")], "--context applies to", tmp)
    expect_error("sft_task_bad", ["train", "--config", good, "task=chat"], "task: 'chat' is not one of lm|sft", tmp)
    expect_error("sft_task_without_masks", ["train", "--config", good, "task=sft"], "has no loss mask", tmp)
    for name, value, needle in [
            ("freeze_names_nothing", ",", "names nothing to freeze"),
            ("freeze_unknown_item", "layer0", "unknown item 'layer0'"),
            ("freeze_layer_outside", "layers:1-2", "outside the model's 2 layers"),
            ("freeze_layer_range_empty", "layers:1-0", "empty range"),
            ("freeze_layer_not_number", "layers:a-b", "not layers:A-B"),
            ("freeze_everything", "all_but_head lnfw lnfb", "leaving nothing to train")]:
        expect_error(name, ["train", "--config", good, "freeze=" + value], needle, tmp)

    # ---- sweep: every bad grid is refused before any run starts or any folder is made ----
    expect_ok("sweep_help", ["sweep", "--help"], tmp, "--preset")
    sw = ["sweep", "--config", good, "--out", j("sw")]
    expect_error("sweep_without_config", ["sweep", "--grid", "lr=1e-3"], "sweep needs --config", tmp)
    expect_error("sweep_grid_no_eq", sw + ["--grid", "lr"], "--grid needs KEY=V1,V2", tmp)
    expect_error("sweep_grid_unknown_key", sw + ["--grid", "colour=1,2"], "unknown key 'colour'", tmp)
    expect_error("sweep_grid_bad_value", sw + ["--grid", "lr=1e-3,fast"], ["--grid", "lr"], tmp)
    expect_error("sweep_grid_empty_value", sw + ["--grid", "lr=1e-3,"], "an empty value", tmp)
    expect_error("sweep_grid_value_twice", sw + ["--grid", "lr=1e-3,1e-3"], "given twice", tmp)
    expect_error("sweep_grid_key_twice", sw + ["--grid", "lr=1e-3", "--grid", "lr=2e-3"], "in two axes", tmp)
    expect_error("sweep_grid_out_dir", sw + ["--grid", "out_dir=a,b"], "the sweep sets out_dir", tmp)
    expect_error("sweep_preset_unknown", sw + ["--preset", "nope"], ["unknown --preset 'nope'", "paper"], tmp)
    expect_error("sweep_invalid_run", sw + ["--grid", "seq_len=8,999"], ["seq_len=999: seq_len (999)", "block_size"], tmp)
    expect_error("sweep_jobs_zero", sw + ["--jobs", "0"], "--jobs needs a number of runs", tmp)
    report(not os.path.exists(j("sw")), "sweep_errors_make_nothing", "no sweep folder after the refused sweeps")
    expect_error("diverge_loss_negative", ["train", "--config", good, "diverge_loss=-1"], "diverge_loss", tmp)


def classify_cases(tmp, j):
    """task = classify: bad JSONL, labels unseen at training time, and heads that do not fit."""
    def jsonl(name, rows):
        with open(j(name), "w") as f:
            for row in rows:
                f.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
        return j(name)
    good_rows = [{"text": "abc", "label": "x"}, {"text": "abd", "label": "y"}]
    tr = jsonl("cls_train.jsonl", good_rows)
    cls = write_ini(j("cls.ini"), task="classify", train_data=tr, **TINY)
    bad = {
        "classify_line_no_label": ([good_rows[0], {"text": "abc"}], ["train_data line 2", '"label"']),
        "classify_line_no_text": ([{"label": "x"}, good_rows[1]], ["train_data line 1", '"text"']),
        "classify_line_not_json": ([good_rows[0], "{text: abc"], ["train_data line 2", "JSON object"]),
        "classify_label_not_string": ([good_rows[0], {"text": "a", "label": 3}], ["line 2", "string fields"]),
        "classify_one_label": ([good_rows[0], good_rows[0]], "at least 2 labels"),
        "classify_empty_text": ([good_rows[0], {"text": "", "label": "y"}], ["line 2", "is empty"]),
        "classify_no_examples": (["", "  "], "no examples"),
    }
    for name, (rows, needles) in bad.items():
        expect_error(name, ["train", "--config", cls, "train_data=" + jsonl(name + ".jsonl", rows)], needles, tmp)
    expect_error("classify_val_label_unseen", ["train", "--config", cls, "val_data=" + jsonl(
        "cls_val.jsonl", [good_rows[0], {"text": "q", "label": "z"}])], ["val_data line 2", "label 'z'"], tmp)
    expect_error("classify_metrics_every", ["train", "--config", cls, "metrics_every=1"],
                 "does not take metrics_every", tmp)
    # a run to classify with, and one of the language model
    rc, out, err, dt = run(["train", "--config", cls, "out_dir=" + j("cls_run")], tmp)
    report(rc == 0, "classify_run_trains", "rc=%d %s" % (rc, err.strip()))
    rc, out, err, dt = run(["train", "--config", j("good.ini"), "out_dir=" + j("lm_run")], tmp)
    expect_error("classify_lm_run", ["classify", "--checkpoint", j("lm_run"), "--text", "a"],
                 "has no classification head", tmp)
    expect_error("classify_no_text", ["classify", "--checkpoint", j("cls_run")], "one of --text", tmp)
    expect_error("classify_no_checkpoint", ["classify", "--text", "a"], "needs --checkpoint", tmp)
    expect_error("classify_not_run", ["classify", "--checkpoint", j("empty_data"), "--text", "a"],
                 "not a run folder", tmp)
    expect_error("classify_file_no_text", ["classify", "--checkpoint", j("cls_run"), "--file",
                                           jsonl("cls_in.jsonl", [{"label": "x"}])], ["line 1", '"text"'], tmp)
    head = j("cls_run", "head_00000001.bin")
    original = open(head, "rb").read()
    # a head for n_embd 32 beside a model of n_embd 64 (header: magic, version, K, C, T, with_state)
    with open(head, "wb") as f:
        f.write(struct.pack("<6i", 20261201, 1, 2, 32, 32, 0) + bytes(256 - 24) + bytes(4 * 2 * 32))
    expect_error("classify_head_wrong_width", ["classify", "--checkpoint", j("cls_run"), "--text", "a"],
                 ["is for n_embd 32", "n_embd 64"], tmp)
    with open(head, "wb") as f:
        f.write(original[:300])
    expect_error("classify_head_truncated", ["classify", "--checkpoint", j("cls_run"), "--text", "a"],
                 "not a gpt2cl classification head", tmp)
    with open(head, "wb") as f:
        f.write(original)
    with open(j("cls_run", "labels.json"), "w") as f:
        json.dump({"labels": ["x", "y", "z"]}, f)
    expect_error("classify_labels_mismatch", ["classify", "--checkpoint", j("cls_run"), "--text", "a"],
                 ["has 2 labels", "lists 3"], tmp)
    expect_error("classify_resume_labels_changed", ["train", "--resume", j("cls_run"), "steps=2"],
                 "labels of train_data differ", tmp)


if __name__ == "__main__":
    sys.exit(main())
