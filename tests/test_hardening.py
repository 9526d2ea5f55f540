#!/usr/bin/env python3
"""Hostile inputs, files and concurrent runs (python3 standard library only).

Every case either ends in ONE stderr line `gpt2cl: error: ...` with exit status 1, or (a damaged tuning
database or cache file, which is never fatal) in a normal run with a warning naming the field. In every case
the files that existed before are byte-identical afterwards, nothing hangs (FIFOs), and no partial output is
left behind.

  tuning database   arrays in place of objects, illegal CLBlast / kernel / gemm_cl values, a folder, a FIFO
                    or garbage in place of the file: a warning, then the defaults
  FIFOs, folders    as --config, init_from, train_data, val_data, log, sample --checkpoint, resume state,
                    prepare input, tokenizer: refused at once
  numbers           NaN, infinities, overflow / underflow, fractions for integers, trailing characters, in
                    config files, overrides, sample keys and flags; keys given twice; NUL bytes; long lines
  output files      log= never writes into another kind of file; out_dir refuses others' files;
                    prepare --force is all-or-nothing
  run folders       one train per out_dir (a second run or --resume names the holder's PID); stale
                    temporaries of killed runs are removed, live or foreign ones kept
  model files       Hugging Face safetensors (headers that lie, overlap, miscount, unknown dtypes, missing or
                    foreign tensors, untied lm_head, configs that are not GPT-2, broken shard indexes), llm.c
                    bf16 files; `export` round trips and never replaces files without --force
  resume state      a checksum (checked against an independent reimplementation here); a flipped byte,
                    NaN moments or a FIFO are refused; a version-3 state (no checksum) still resumes
Finds the binary via $GPT2CL_BIN.
"""
import fcntl
import glob
import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # do not leave __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_shard  # noqa: E402
from harness import BIN, GPL, ROOT, report, run_in_temp_folder, write_ini  # noqa: E402

TINY = dict(n_layer=2, n_head=4, n_embd=64, block_size=64, vocab_size=257, batch_size=2, seq_len=32, steps=1,
            lr="1e-3", schedule="constant")
BAD_WORDS = ("Traceback", "Segmentation", "core dumped", "Aborted", "AddressSanitizer", "runtime error")


def run(args, cwd, env=None, timeout=60):
    """(status, stdout, stderr, seconds); status None when it hung past timeout (then it is killed)."""
    e = dict(os.environ)
    e.update(env or {})
    t0 = time.monotonic()
    try:
        p = subprocess.run([BIN] + args, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired as x:
        return None, (x.stdout or b"").decode("utf-8", "replace"), (x.stderr or b"").decode("utf-8", "replace"), \
            time.monotonic() - t0
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), \
        time.monotonic() - t0


def snapshot(d):
    """Maps each regular file under d to the sha256 of its bytes (FIFOs and the like are left alone)."""
    out = {}
    for base, _, files in os.walk(d):
        for fn in files:
            p = os.path.join(base, fn)
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    out[p] = hashlib.sha256(f.read()).hexdigest()
    return out


def changed_files(before, after):
    return sorted(p for p, h in before.items() if after.get(p) != h)


def expect_error(name, args, needles, cwd, env=None, timeout=60, protect=None, absent=()):
    """Exit 1, exactly one stderr line `gpt2cl: error: ...` holding every needle; the files under protect
    (default cwd) that existed before are byte-identical after; no path of `absent` exists after."""
    protect = protect or cwd
    before = snapshot(protect)
    rc, out, err, dt = run(args, cwd, env, timeout)
    lines = [l for l in err.splitlines() if l.strip()]
    problems = []
    if rc is None:
        problems.append("hung: killed after %d s" % timeout)
    elif rc != 1:
        problems.append("exit status %d, expected 1" % rc)
    if len(lines) != 1 or not lines[0].startswith("gpt2cl: error: "):
        problems.append("%d stderr lines, expected one 'gpt2cl: error: ' line" % len(lines))
    for n in [needles] if isinstance(needles, str) else needles:
        if n not in err:
            problems.append("message lacks %r" % n)
    problems += ["output mentions %r" % b for b in BAD_WORDS if b in err or b in out]
    problems += ["%s changed" % p for p in changed_files(before, snapshot(protect))]
    problems += ["%s exists" % p for p in absent if os.path.lexists(p)]
    report(not problems, name, "rc=%s %.2fs | %s%s" % (rc, dt, lines[-1] if lines else "(no stderr)", "" if not problems
                                                       else "\n     PROBLEMS: " + "; ".join(problems) +
                                                       "\n     stderr: " + err.strip().replace("\n", "\n     ")))


def expect_warning_run(name, args, needle, cwd, env=None, timeout=120, done="step 1/1"):
    """A run that must succeed (exit 0, `done` on stdout) with a warning holding needle, and no error."""
    rc, out, err, dt = run(args, cwd, env, timeout)
    warnings = [l for l in err.splitlines() if l.startswith("gpt2cl: warning: ")]
    ok = rc == 0 and done in out and any(needle in w for w in warnings) and "gpt2cl: error" not in err
    ok = ok and not any(b in err or b in out for b in BAD_WORDS)
    report(ok, name, "rc=%s %.2fs | %s" % (rc, dt, next((w for w in warnings if needle in w), "no warning with %r%s" % (
        needle, "\n     stdout: %s\n     stderr: %s" % (out.strip()[-800:], err.strip()) if not ok else ""))))


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def dead_pid():
    """The id of a process that has exited (and been reaped)."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


# ---- the resume state's checksum, reimplemented from its description (src/train/checkpoint.c) ----
STATE_CHECKSUM_OFFSET = 136  # after magic..snr_floats of the 1 KiB header (8-byte aligned)


def state_checksum(data):
    """64-bit FNV-1a over little-endian 8-byte words, then the tail bytes."""
    h, mask, prime = 14695981039346656037, (1 << 64) - 1, 1099511628211
    words = len(data) // 8
    for w in struct.unpack_from("<%dQ" % words, data):
        h = ((h ^ w) * prime) & mask
    for b in data[8 * words:]:
        h = ((h ^ b) * prime) & mask
    return h


def state_with(raw, version=None, checksum=True, patch=None):
    """A copy of a resume state with its version set, its payload patched (offset, bytes) and the checksum
    recomputed (checksum=True), zeroed (None) or left as it is (False)."""
    b = bytearray(raw)
    if version is not None:
        b[4:8] = struct.pack("<i", version)
    if patch:
        b[patch[0]:patch[0] + len(patch[1])] = patch[1]
    if checksum is None:
        b[STATE_CHECKSUM_OFFSET:STATE_CHECKSUM_OFFSET + 8] = bytes(8)
    elif checksum:
        b[STATE_CHECKSUM_OFFSET:STATE_CHECKSUM_OFFSET + 8] = bytes(8)
        b[STATE_CHECKSUM_OFFSET:STATE_CHECKSUM_OFFSET + 8] = struct.pack("<Q", state_checksum(bytes(b)))
    return bytes(b)


def main():
    return run_in_temp_folder("test_hardening", cases)


def cases(tmp):
    j = lambda *p: os.path.join(tmp, *p)  # noqa: E731
    data = open(GPL, "rb").read()
    make_shard.write(j("train.bin"), list(data[:4000]))
    good = write_ini(j("good.ini"), train_data=j("train.bin"), **TINY)
    os.mkfifo(j("fifo"))
    os.mkdir(j("folder"))
    fifo, folder = j("fifo"), j("folder")

    # ---- a run to work on: checkpoints at steps 1 and 2, a log ----
    rc, out, err, dt = run(["train", "--config", good, "out_dir=" + j("run"), "steps=2", "checkpoint_every=1",
                            "log=" + j("run.jsonl")], tmp, timeout=300)
    report(rc == 0, "setup_run", "rc=%s %.1fs%s" % (rc, dt, "" if rc == 0 else "\n" + out + err))
    if rc != 0:
        return
    model, state = j("run", "model_00000002.bin"), j("run", "state_00000002.bin")
    state_bytes = open(state, "rb").read()

    sections = [numbers, fifos_and_folders, output_files, resume_state, run_folders, tuning_database, model_files]
    for section in sections:
        section(tmp, j, good, fifo, folder, model, state_bytes)


def numbers(tmp, j, good, fifo, folder, model, state_bytes):
    """NaN, infinities, overflow, fractions, trailing characters; keys twice; NUL bytes; long lines."""
    for key in ("temperature", "top_p", "top_k", "seed", "greedy", "stop_at_eot", "max_new_tokens", "kv_cache",
                "num_samples", "beams", "length_penalty"):
        expect_error("sample_%s_nan" % key, ["sample", "--checkpoint", model, key + "=nan"], key + ": 'nan'", tmp)
    expect_error("sample_top_k_fraction", ["sample", "--checkpoint", model, "top_k=2.5"],
                 "top_k: '2.5' is not an integer", tmp)
    expect_error("sample_temperature_inf", ["sample", "--checkpoint", model, "temperature=inf"], "not a finite", tmp)
    expect_error("sample_beams_fraction", ["sample", "--checkpoint", model, "beams=2.5"],
                 "beams: '2.5' is not an integer", tmp)
    expect_error("sample_length_penalty_inf", ["sample", "--checkpoint", model, "length_penalty=-inf"],
                 "not a finite", tmp)
    expect_error("sample_seed_overflow", ["sample", "--checkpoint", model, "seed=99999999999999999999"],
                 "seed: '99999999999999999999' is too large", tmp)
    expect_error("sample_key_twice", ["sample", "--checkpoint", model, "seed=1", "seed=2"], "'seed' is given twice",
                 tmp)
    expect_error("tune_budget_nan", ["tune", "--config", good, "--budget", "nan"], ["--budget", "'nan'"], tmp)
    # A budget spent before the baseline is timed: the tuner's progress is on stdout, its failure one line.
    # (GPT-2 124M's shapes: timing CLBlast's defaults on them alone takes several seconds.)
    expect_error("tune_budget_too_small", ["tune", "--config", good, "--budget", "1", "n_layer=12", "n_head=12",
                                           "n_embd=768", "vocab_size=50257"],
                 ["budget of 1 s"], tmp, env={"GPT2CL_CACHE_DIR": j("small_budget_cache")}, timeout=120)
    expect_error("bench_steps_fraction", ["bench", "--config", good, "--steps", "2.5"], ["--steps", "'2.5'"], tmp)
    expect_error("lr_underflow", ["train", "--config", good, "lr=1e-400"], "lr: '1e-400' is too small", tmp)
    expect_error("lr_overflow", ["train", "--config", good, "lr=1e400"], "lr: '1e400' is too large", tmp)
    expect_error("lr_infinity", ["train", "--config", good, "lr=inf"], "lr: 'inf' is not a finite number", tmp)
    expect_error("lr_hex", ["train", "--config", good, "lr=0x1p-10"], "lr: '0x1p-10' is not a finite number", tmp)
    expect_error("steps_fraction", ["train", "--config", good, "steps=2.5"], "steps: '2.5' is not an integer", tmp)
    expect_error("steps_exponent", ["train", "--config", good, "steps=1e3"], "steps: '1e3' is not an integer", tmp)
    expect_error("steps_leading_space", ["train", "--config", good, "steps= 5"], "is not an integer", tmp)
    expect_error("steps_overflow", ["train", "--config", good, "steps=99999999999999999999"], "too large", tmp)
    expect_error("override_twice", ["train", "--config", good, "lr=1e-3", "lr=2e-3"], "'lr' is given twice", tmp)
    expect_error("prepare_val_frac_nan", ["prepare", "--tokenizer", "byte", "--val-frac", "nan", GPL], "--val-frac",
                 tmp, absent=[j("tokens")])
    expect_error("prepare_shard_tokens_fraction", ["prepare", "--tokenizer", "byte", "--shard-tokens", "1.5", GPL],
                 ["--shard-tokens", "'1.5'"], tmp)

    lines = open(good).read()
    write_bytes(j("frac.ini"), (lines + "top_k_is_not_a_key = 1\n").replace("steps = 1", "steps = 2.5").encode())
    expect_error("config_fraction", ["train", "--config", j("frac.ini")], ["frac.ini:", "steps: '2.5'"], tmp)
    write_bytes(j("twice.ini"), (lines + "[more]\nlr = 2e-3\n").encode())
    lr_line = lines.splitlines().index("lr = 1e-3") + 1
    n_lines = len(lines.splitlines())
    expect_error("config_key_twice", ["train", "--config", j("twice.ini")],
                 ["twice.ini:%d" % (n_lines + 2), "'lr' is set twice, on lines %d and %d" % (lr_line, n_lines + 2)],
                 tmp)
    write_bytes(j("nul.ini"), lines.encode() + b"val_data = /a\0/b\n")
    expect_error("config_nul_byte", ["train", "--config", j("nul.ini")], ["nul.ini:%d" % (n_lines + 1), "NUL"], tmp)
    # A long comment (as a whole line) stays a comment: its tail must not become a setting. The error on the
    # line after it shows where parsing really is.
    long_comment = "# " + "-" * 400 + " steps = 4\n"
    write_bytes(j("long_comment.ini"), (long_comment + "lr = fast\n").encode())
    expect_error("config_long_comment", ["train", "--config", j("long_comment.ini")],
                 ["long_comment.ini:2:", "lr: 'fast'"], tmp)
    write_bytes(j("huge_line.ini"), ("lr = 1e-3\n# " + "x" * 70000 + "\nsteps = 2\n").encode())
    expect_error("config_line_too_long", ["train", "--config", j("huge_line.ini")],
                 ["huge_line.ini:2:", "longer than"], tmp)
    # A path longer than libinih's default 200-character line is read whole (cut short, it would match no file).
    deep = j("d" * 120, "e" * 120, "f" * 40)
    os.makedirs(deep)
    shutil.copy(j("train.bin"), os.path.join(deep, "train.bin"))
    write_bytes(j("long_path.ini"), lines.replace(j("train.bin"), os.path.join(deep, "train.bin")).encode())
    rc, out, err, dt = run(["train", "--config", j("long_path.ini")], tmp)
    report(rc == 0 and "step 1/1" in out, "config_long_path", "rc=%s, a %d-character train_data line%s" %
           (rc, len("train_data = ") + len(os.path.join(deep, "train.bin")), "" if rc == 0 else ": " + err.strip()))
    rc, out, err, dt = run([], tmp)
    report(rc == 2 and err.startswith("usage: gpt2cl COMMAND"), "no_command_exits_2_with_usage",
           "rc=%s | %s" % (rc, (err.splitlines() or ["(no stderr)"])[0]))


def fifos_and_folders(tmp, j, good, fifo, folder, model, state_bytes):
    """Every user path: a FIFO is refused at once (never waited on), a folder where a file is expected too."""
    for name, args, what in [
        ("config", ["train", "--config", fifo], "config"),
        ("init_from", ["train", "--config", good, "init_from=" + fifo], "checkpoint"),
        ("train_data", ["train", "--config", good, "train_data=" + fifo], "token shard"),
        ("val_data", ["train", "--config", good, "val_data=" + fifo], "token shard"),
        ("log", ["train", "--config", good, "log=" + fifo], "log file"),
        ("sample_checkpoint", ["sample", "--checkpoint", fifo], "checkpoint"),
        ("sample_tokenizer", ["sample", "--checkpoint", model, "tokenizer=" + fifo], "tokenizer file"),
        ("sample_prompt_file", ["sample", "--checkpoint", model, "--prompt-file", fifo], "prompt file"),
        ("prepare_input", ["prepare", "--tokenizer", "byte", "--out", j("p_fifo"), fifo], "input"),
        ("prepare_tokenizer", ["prepare", "--tokenizer", fifo, "--out", j("p_fifo"), GPL], "tokenizer file"),
        ("tune_config", ["tune", "--config", fifo], "config"),
    ]:
        expect_error("fifo_" + name, args, [what, "not a regular file"], tmp, timeout=30, absent=[j("p_fifo")])
    for name, args, what in [
        ("config", ["train", "--config", folder], "config"),
        ("init_from", ["train", "--config", good, "init_from=" + folder], "checkpoint"),
        ("tokenizer", ["sample", "--checkpoint", model, "tokenizer=" + folder], "tokenizer file"),
        ("prompt_file", ["sample", "--checkpoint", model, "--prompt-file", folder], "prompt file"),
        ("prepare_tokenizer", ["prepare", "--tokenizer", folder, GPL], "tokenizer file"),
    ]:
        expect_error("folder_" + name, args, [what, "is a folder"], tmp)
    # The GPT-2 vocabulary of the data folder being a folder itself (once: "out of host memory").
    os.makedirs(j("data", "gpt2.tiktoken"))
    expect_error("folder_gpt2_vocabulary", ["prepare", "--out", j("p_vocab"), GPL], ["gpt2.tiktoken", "is a folder"],
                 tmp, env={"GPT2CL_DATA": j("data")}, absent=[j("p_vocab")])
    # An error after the device opened is still the only line on stderr (sample's own lines need --verbose).
    nan_model = bytearray(open(model, "rb").read())
    nan_model[1024 + 400:1024 + 404] = struct.pack("<f", float("nan"))
    write_bytes(j("nan_model.bin"), bytes(nan_model))
    expect_error("sample_error_after_device_opened", ["sample", "--checkpoint", j("nan_model.bin")], "non-finite", tmp)
    expect_error("folder_prepare_out_is_file", ["prepare", "--tokenizer", "byte", "--out", good, GPL],
                 "is not a folder", tmp)


def output_files(tmp, j, good, fifo, folder, model, state_bytes):
    """log= only creates or appends to its own kind; out_dir refuses others' files; prepare is all-or-nothing."""
    for name, target in [("model", model), ("shard", j("train.bin")), ("config", good)]:
        expect_error("log_into_" + name, ["train", "--config", good, "log=" + target], "is not a gpt2cl log", tmp)
    os.mkdir(j("foreign_cfg"))
    write_bytes(j("foreign_cfg", "config.ini"), b"my own settings\n")
    expect_error("out_dir_foreign_config", ["train", "--config", good, "out_dir=" + j("foreign_cfg")],
                 "config.ini that gpt2cl did not write", tmp)

    # prepare --force with a JSONL that fails on line 3001: the old shards stay, no new or partial ones appear.
    def jsonl(word):
        return "".join(json.dumps({"text": "line %d " % i + word * 20}) + "\n" for i in range(3000))
    write_bytes(j("corpus_ok.jsonl"), jsonl("abc ").encode())
    write_bytes(j("corpus.jsonl"), (jsonl("xyz ") + "{not json\n").encode())  # other text, so other shards
    flags = ["--tokenizer", "byte", "--shard-tokens", "20000", "--split-block", "1000"]
    rc, out, err, dt = run(["prepare"] + flags + ["--out", j("shards"), j("corpus_ok.jsonl")], tmp)
    old = sorted(os.listdir(j("shards"))) if rc == 0 else []
    report(rc == 0 and len(old) > 3, "prepare_setup", "rc=%s, %d shards: %s" % (rc, len(old), err.strip()))
    expect_error("prepare_force_fails_midway", ["prepare"] + flags + ["--force", "--out", j("shards"),
                                                                        j("corpus.jsonl")],
                 "corpus.jsonl:3001", tmp)
    left = [f for f in os.listdir(tmp) if f.startswith(".shards")]
    report(sorted(os.listdir(j("shards"))) == old and not left, "prepare_force_fails_leaves_old_shards",
           "shards %s; staging folders left: %s" % ("unchanged" if sorted(os.listdir(j("shards"))) == old else
                                                   sorted(os.listdir(j("shards"))), left or "none"))
    expect_error("prepare_fresh_fails_midway", ["prepare"] + flags + ["--out", j("fresh"), j("corpus.jsonl")],
                 "corpus.jsonl:3001", tmp, absent=[j("fresh")])
    rc, out, err, dt = run(["prepare"] + flags + ["--force", "--shard-tokens", "50000", "--out", j("shards"),
                                                  j("corpus_ok.jsonl")], tmp)
    new = sorted(os.listdir(j("shards")))
    report(rc == 0 and new != old and len(new) < len(old) and "train_000000.bin" in new, "prepare_force_replaces",
           "rc=%s, %d shards -> %d, no stale ones" % (rc, len(old), len(new)))
    # A stale staging folder of a killed prepare is removed by the next prepare of the same target, a live one kept.
    dead, live = j(".shards.tmp.%d" % dead_pid()), j(".shards.tmp.%d" % os.getpid())
    for d in (dead, live):
        os.mkdir(d)
        write_bytes(os.path.join(d, "train_000000.bin"), b"partial")
    rc, out, err, dt = run(["prepare"] + flags + ["--force", "--out", j("shards"), j("corpus_ok.jsonl")], tmp)
    report(rc == 0 and not os.path.exists(dead) and os.path.exists(live), "prepare_removes_stale_staging",
           "rc=%s; dead process's folder %s, live one %s" % (rc, "removed" if not os.path.exists(dead) else "KEPT",
                                                             "kept" if os.path.exists(live) else "REMOVED"))
    shutil.rmtree(live)


def resume_state(tmp, j, good, fifo, folder, model, state_bytes):
    """The state's checksum, corrupt and NaN states, a FIFO state, and a version-3 state."""
    stored = struct.unpack_from("<Q", state_bytes, STATE_CHECKSUM_OFFSET)[0]
    report(state_with(state_bytes) == state_bytes, "state_checksum_reference",
           "stored %016x, recomputed here %016x" % (stored, state_checksum(state_with(state_bytes, checksum=None))))

    def run_copy(name, state):
        d = j(name)
        shutil.copytree(j("run"), d)
        if state is None:
            os.remove(os.path.join(d, "state_00000002.bin"))
            os.mkfifo(os.path.join(d, "state_00000002.bin"))
        else:
            write_bytes(os.path.join(d, "state_00000002.bin"), state)
        return d

    flip = 1024 + 4 * 1000  # a byte of the first moment
    nan = struct.pack("<f", float("nan"))
    for name, state, needles in [
        ("state_flipped_byte", state_with(state_bytes, checksum=False,
                                          patch=(flip, bytes([state_bytes[flip] ^ 0x10]))), "checksum"),
        ("state_nan_moment", state_with(state_bytes, patch=(flip, nan)), "NaN"),
        ("state_nan_v3", state_with(state_bytes, version=3, checksum=None, patch=(flip, nan)), "NaN"),
        ("state_wrong_version", state_with(state_bytes, version=7), "version"),
        ("state_truncated", state_bytes[:-4], "truncated"),
        ("state_fifo", None, "not a regular file"),
    ]:
        d = run_copy(name, state)
        expect_error(name, ["train", "--resume", d, "steps=3"], ["state_00000002.bin", *([needles])], tmp, timeout=60)
    d = run_copy("state_v3", state_with(state_bytes, version=3, checksum=None))
    rc, out, err, dt = run(["train", "--resume", d, "steps=3"], tmp)
    report(rc == 0 and "resumed from" in out, "state_version3_resumes", "rc=%s %.1fs%s" % (rc, dt, "" if rc == 0
                                                                                            else "\n" + err))


def run_folders(tmp, j, good, fifo, folder, model, state_bytes):
    """The run-folder lock, and stale temporaries."""
    lock_dir = j("locked")
    a = subprocess.Popen([BIN, "train", "--config", good, "out_dir=" + lock_dir, "steps=1000000"], cwd=tmp,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    held, deadline = False, time.monotonic() + 60
    while not held and time.monotonic() < deadline and a.poll() is None:
        try:
            with open(os.path.join(lock_dir, "train.lock")) as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(f, fcntl.LOCK_UN)
                except OSError:
                    held = True
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    report(held, "lock_taken", "the first run holds %s/train.lock" % lock_dir)
    # Past its start-up (the config copy written), the first run changes no file the checks below compare.
    while time.monotonic() < deadline and a.poll() is None and not os.path.exists(os.path.join(lock_dir, "config.ini")):
        time.sleep(0.02)
    holder = "process %d" % a.pid
    expect_error("lock_second_run", ["train", "--config", good, "out_dir=" + lock_dir], ["in use", holder], tmp,
                 timeout=30)
    expect_error("lock_resume", ["train", "--resume", lock_dir, "steps=5"], ["in use", holder], tmp, timeout=30)
    a.send_signal(signal.SIGKILL)
    a.wait()
    # kill -9 frees the lock: a resume gets past it (and finds no checkpoint, since none was written yet).
    expect_error("lock_freed_by_kill", ["train", "--resume", lock_dir], "nothing to resume", tmp, timeout=30)

    # Temporaries: a dead process's are removed when the folder is next opened; a live one's and others' stay.
    d = j("stale_run")
    shutil.copytree(j("run"), d)
    pid = dead_pid()
    stale = [os.path.join(d, n) for n in ("model_00000003.bin.tmp.%d" % pid, "state_00000003.bin.tmp.%d" % pid,
                                          "config.ini.tmp.%d" % pid)]
    kept = [os.path.join(d, "state_00000003.bin.tmp.%d" % os.getpid()), os.path.join(d, "notes.tmp.%d" % pid)]
    for p in stale + kept:
        write_bytes(p, b"half-written")
    cache = j("stale_cache")
    os.makedirs(os.path.join(cache, "programs"))
    stale_cache = [os.path.join(cache, "tune-Some_Device-0123456789abcdef.json.tmp.%d" % pid),
                   os.path.join(cache, "programs", "%032x.bin.tmp.%d" % (7, pid))]
    for p in stale_cache:
        write_bytes(p, b"half-written")
    rc, out, err, dt = run(["train", "--resume", d, "steps=3"], tmp, env={"GPT2CL_CACHE_DIR": cache}, timeout=300)
    gone = [p for p in stale + stale_cache if not os.path.exists(p)]
    report(rc == 0 and len(gone) == len(stale + stale_cache) and all(os.path.exists(p) for p in kept),
           "stale_temporaries_removed", "rc=%s; removed %d of %d stale files; kept %d of %d live or foreign ones%s" %
           (rc, len(gone), len(stale + stale_cache), sum(os.path.exists(p) for p in kept), len(kept),
            "" if rc == 0 else "\n" + err))


def tuning_database(tmp, j, good, fifo, folder, model, state_bytes):
    """A damaged tuning database is never fatal: a warning naming the field, then the defaults."""
    cache = j("db_cache")
    env = {"GPT2CL_CACHE_DIR": cache}
    tune = ["tune", "--config", good, "--budget", "6"]
    rc, out, err, dt = run(tune, tmp, env=env, timeout=300)  # writes the database
    workload = out.split("(workload ", 1)[-1].split("), budget", 1)[0] if "(workload " in out else None
    dbs = glob.glob(os.path.join(cache, "tune-*.json"))
    report(rc == 0 and len(dbs) == 1 and workload, "db_setup", "rc=%s %.1fs, workload %r, databases: %s" %
           (rc, dt, workload, dbs))
    if rc != 0 or len(dbs) != 1 or not workload:
        return
    path = dbs[0]
    base = json.load(open(path))
    xgemm = dict(GEMMK=0, KREG=1, KWG=32, KWI=2, MDIMA=8, MDIMC=8, MWG=64, NDIMB=8, NDIMC=8, NWG=64, SA=0, SB=0,
                 STRM=0, STRN=0, VWM=8, VWN=8)

    def with_best(**best):
        db = json.loads(json.dumps(base))
        db["best"] = dict(date="2026-01-01 00:00 UTC", **best)
        return db

    cases = [
        ("db_kernels_array", with_best(kernels=[64, 1]), "best.kernels is not an object"),
        ("db_kernels_fraction", with_best(kernels=dict(LN_WG=2.5)), "best.kernels.LN_WG is not a whole number"),
        ("db_clblast_array", with_best(clblast=[xgemm]), "best.clblast is not an object"),
        ("db_clblast_kernel_array", with_best(clblast=dict(Xgemm=[1, 2])), "best.clblast.Xgemm"),
        ("db_clblast_unknown_value", with_best(clblast=dict(Xgemm=dict(xgemm, MWG=48))), "best.clblast.Xgemm.MWG"),
        ("db_clblast_illegal_combination", with_best(clblast=dict(Xgemm=dict(xgemm, MDIMC=32, NDIMC=32))),
         "best.clblast.Xgemm holds an illegal combination"),
        ("db_clblast_missing_param", with_best(clblast=dict(Xgemm={k: v for k, v in xgemm.items() if k != "KWG"})),
         "best.clblast.Xgemm"),
        ("db_gemm_routine_negative", with_best(clblast=dict(GemmRoutine=dict(XGEMM_MIN_INDIRECT_SIZE=-1))),
         "best.clblast.GemmRoutine"),
        ("db_gemm_cl_object", with_best(gemm_cl=dict(all=True)), "best.gemm_cl is not an array"),
        ("db_gemm_cl_illegal", with_best(gemm_cl=[dict(all=True, VW=3, TM=1, TN=1, WG0=1, WG1=1)]),
         "best.gemm_cl[0]"),
        ("db_best_array", dict(base, best=[1]), "best is not an object"),
        ("db_measurements_workload_array", dict(base, measurements={"B2 T32": [1, 2]}),
         "measurements[\"B2 T32\"] is not an object"),
        ("db_measurement_entry_array", dict(base, measurements={"B2 T32": {"Xgemm|KWG=32": [1]}}),
         "measurements[\"B2 T32\"][\"Xgemm|KWG=32\"] is malformed"),
        ("db_peak_string", dict(base, peak_flops="fast"), "peak_flops"),
    ]
    for name, db, needle in cases:
        with open(path, "w") as f:
            json.dump(db, f)
        expect_warning_run(name, ["train", "--config", good], needle, tmp, env=env)
    # The tuner reads its workload's measurements to resume: an array there must not crash it.
    with open(path, "w") as f:
        json.dump(dict(base, measurements={workload: [1, 2]}), f)
    expect_warning_run("db_tuner_measurements_array", tune,
                       "measurements[\"%s\"] is not an object" % workload, tmp, env=env, done="tune: wrote")
    os.remove(path)
    os.mkdir(path)
    expect_warning_run("db_is_folder", ["train", "--config", good], "is a folder", tmp, env=env)
    os.rmdir(path)
    os.mkfifo(path)
    expect_warning_run("db_is_fifo", ["train", "--config", good], "not a regular file", tmp, env=env, timeout=60)
    os.remove(path)
    write_bytes(path, bytes(range(256)) * 4)
    expect_warning_run("db_garbage", ["train", "--config", good], "corrupt", tmp, env=env)


# ---- safetensors files, written here from their description (src/model/safetensors.h) ----
HF_FIXTURE = os.path.join(ROOT, "tests", "fixtures", "hf", "f32")


def st_read(path):
    """(header dict, data bytes) of a safetensors file."""
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def st_bytes(header, data, raw=None):
    h = raw if raw is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def st_rebuild(tensors):
    """A consistent file of {name: (dtype, shape, bytes)}."""
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return st_bytes(header, data)


def st_tensors(path):
    header, data = st_read(path)
    return {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in header.items() if k != "__metadata__"}


def model_files(tmp, j, good, fifo, folder, model, state_bytes):
    """Hugging Face and llm.c bf16 files: every lie in a safetensors file or config.json is one error line."""
    config = json.load(open(os.path.join(HF_FIXTURE, "config.json")))
    header, data = st_read(os.path.join(HF_FIXTURE, "model.safetensors"))
    tensors = st_tensors(os.path.join(HF_FIXTURE, "model.safetensors"))
    n = [0]

    def hf(weights, cfg=None):
        """A folder with config.json (cfg, default the fixture's) and model.safetensors (bytes)."""
        n[0] += 1
        d = j("hf%d" % n[0])
        os.mkdir(d)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg if cfg is not None else config, f)
        write_bytes(os.path.join(d, "model.safetensors"), weights)
        return d

    def bad(name, weights, needles, cfg=None):
        out = j("out_%s.bin" % name)
        expect_error("hf_" + name, ["export", "--checkpoint", hf(weights, cfg), "--format", "llmc", "--out", out],
                     needles, tmp, absent=[out])

    def with_entry(name, **patch):
        h = json.loads(json.dumps(header))
        h[name].update(patch)
        return st_bytes(h, data)

    wte = "transformer.wte.weight"
    o = header[wte]["data_offsets"]
    bad("short_file", b"\x10\x00\x00", "too short to hold its header length")
    bad("header_past_end", struct.pack("<Q", 10 ** 6) + b"{}", ["announces a header of 1000000 bytes", "truncated"])
    bad("header_over_100MB", struct.pack("<Q", 200 * 10 ** 6) + b"{}" * 8, ["200000000 bytes", "over the limit"])
    bad("header_not_json", st_bytes(None, data, raw=b"{not json"), "not a JSON object")
    bad("offsets_past_end", with_entry(wte, data_offsets=[o[0], len(data) + 4]), "past the end of the data")
    bad("offsets_reversed", with_entry(wte, data_offsets=[o[1], o[0]]), "is not {")
    ln1 = "transformer.h.0.ln_1."  # weight and bias: the same size
    bad("overlap", with_entry(ln1 + "weight", data_offsets=header[ln1 + "bias"]["data_offsets"]),
        ["'%sbias' and '%sweight' overlap" % (ln1, ln1)])
    bad("byte_count", with_entry(wte, shape=[100, 32]), ["holds 12928 bytes", "need 12800"])
    bad("unknown_dtype", with_entry(wte, dtype="F33"), "unknown dtype 'F33'")
    bad("int_dtype", with_entry(wte, dtype="I32"), ["has dtype I32", "F32, F16 and BF16"])
    bad("duplicate_name", st_bytes(None, data, raw=json.dumps(header).encode()[:-1] + b', "%s": %s}' % (
        wte.encode(), json.dumps(header[wte]).encode())), "appears twice")
    bad("missing_tensor", st_rebuild({k: v for k, v in tensors.items() if k != "transformer.ln_f.bias"}),
        "lacks tensor 'ln_f.bias'")
    bad("shape_mismatch", st_rebuild(dict(tensors, **{"transformer.wpe.weight": ("F32", [8, 32], bytes(1024))})),
        ["wpe.weight' has shape [8, 32]", "needs [16, 32]"])
    bad("foreign_tensor", st_rebuild(dict(tensors, **{"score.weight": ("F32", [2, 32], bytes(256))})),
        "'score.weight' is not part of a GPT-2")
    bad("untied_lm_head", st_rebuild(dict(tensors, **{"lm_head.weight": ("F32", [101, 32], bytes(12928))})),
        "lm_head.weight differs from wte.weight")
    nan = bytearray(tensors[wte][2])
    nan[40:44] = struct.pack("<f", float("nan"))
    bad("nan_weight", st_rebuild(dict(tensors, **{wte: ("F32", [101, 32], bytes(nan))})), "non-finite")
    good_weights = st_rebuild(tensors)
    for key, value, needle in [("model_type", "llama", "model_type 'llama', not gpt2"),
                               ("activation_function", "relu", "activation_function 'relu'"),
                               ("n_inner", 64, "n_inner 64"), ("layer_norm_epsilon", 1e-6, "layer_norm_epsilon 1e-06"),
                               ("tie_word_embeddings", False, "tie_word_embeddings to false"),
                               ("scale_attn_by_inverse_layer_idx", True, "scale_attn_by_inverse_layer_idx to true"),
                               ("n_head", None, "no positive integer \"n_head\"")]:
        bad("config_" + key, good_weights, needle, cfg=dict(config, **{key: value}))
    bad("config_not_json", good_weights, "is not a JSON object", cfg=[1, 2])

    # shards: an index naming a path outside its folder, or a shard that lacks its tensors
    for name, shard, needle in [("index_path", "../x.safetensors", "not a file name in its folder"),
                                ("index_wrong_shard", "b.safetensors", "which does not hold it")]:
        d = j("idx_" + name)
        os.mkdir(d)
        shutil.copy(os.path.join(HF_FIXTURE, "config.json"), d)
        write_bytes(os.path.join(d, "a.safetensors"), good_weights)
        write_bytes(os.path.join(d, "b.safetensors"), st_rebuild({}))
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"weight_map": {wte: shard}}, f)
        expect_error("hf_" + name, ["export", "--checkpoint", d, "--format", "llmc", "--out", j("o.bin")], needle,
                     tmp, absent=[j("o.bin")])
    # a bare file: its shape from the tensors needs n_embd divisible by 64 (or a config.json beside it)
    write_bytes(j("bare.safetensors"), good_weights)
    expect_error("hf_bare_file_no_config", ["sample", "--checkpoint", j("bare.safetensors")],
                 ["n_embd 32 is not a multiple of 64", "config.json beside it"], tmp)
    expect_error("hf_folder_without_model", ["sample", "--checkpoint", folder],
                 "is a folder that holds neither a run's checkpoints nor a Hugging Face model", tmp)
    expect_error("hf_fifo_safetensors", ["sample", "--checkpoint", fifo], "not a regular file", tmp, timeout=30)
    model_exports(tmp, j, model)


def model_exports(tmp, j, model):
    """export to every format and back: bit-exact F32, the same greedy text, refusal to replace files."""
    def ok(args, what):
        rc, out, err, dt = run(args, tmp, timeout=120)
        report(rc == 0 and not err.strip(), what, "rc=%s %.2fs | %s" % (rc, dt, (out + err).strip()[-300:]))
        return out

    ok(["export", "--checkpoint", model, "--format", "hf", "--out", j("ex_hf")], "export_hf")
    report(sorted(os.listdir(j("ex_hf"))) == ["config.json", "merges.txt", "model.safetensors",
                                              "tokenizer_config.json", "vocab.json"],
           "export_hf_files", "%s" % sorted(os.listdir(j("ex_hf"))))
    ok(["export", "--checkpoint", j("ex_hf"), "--format", "llmc", "--out", j("ex_back.bin")], "export_hf_to_llmc")
    same = open(j("ex_back.bin"), "rb").read() == open(model, "rb").read()
    report(same, "export_llmc_hf_llmc_bit_exact", "llm.c -> hf -> llm.c gives the same bytes")
    ok(["export", "--checkpoint", model, "--format", "llmc-bf16", "--out", j("ex_bf16.bin")], "export_llmc_bf16")
    report(os.path.getsize(j("ex_bf16.bin")) == 1024 + (os.path.getsize(model) - 1024) // 2, "export_bf16_size",
           "%d bytes" % os.path.getsize(j("ex_bf16.bin")))
    greedy = ["--prompt", "The", "greedy=1", "max_new_tokens=8", "stop_at_eot=0"]
    texts = {k: ok(["sample", "--checkpoint", p] + greedy, "sample_" + k)
             for k, p in [("llmc", model), ("hf", j("ex_hf")), ("llmc_bf16", j("ex_bf16.bin"))]}
    report(texts["llmc"] == texts["hf"] and texts["llmc"].startswith("The"), "sample_hf_same_text",
           "%r vs %r" % (texts["llmc"], texts["hf"]))
    init = write_ini(j("init.ini"), train_data=j("train.bin"), batch_size=2, seq_len=32, steps=1, lr="1e-4")
    rc, out, err, dt = run(["train", "--config", init, "init_from=" + j("ex_hf")], tmp, timeout=120)
    report(rc == 0 and "step 1/1" in out, "train_init_from_hf_folder", "rc=%s %.1fs %s" % (rc, dt, err.strip()[-300:]))
    expect_error("export_refuses_existing", ["export", "--checkpoint", model, "--format", "hf", "--out", j("ex_hf")],
                 ["exists", "--force"], tmp)
    expect_error("export_llmc_refuses_existing", ["export", "--checkpoint", model, "--format", "llmc-bf16", "--out",
                                                  j("ex_bf16.bin")], ["exists", "--force"], tmp)
    ok(["export", "--checkpoint", model, "--format", "hf", "--dtype", "bf16", "--out", j("ex_hf"), "--force"],
       "export_force_replaces")
    report(st_read(j("ex_hf", "model.safetensors"))[0]["transformer.wte.weight"]["dtype"] == "BF16",
           "export_force_replaced_bf16", "the forced export wrote BF16 tensors")
    expect_error("export_bad_format", ["export", "--checkpoint", model, "--format", "onnx", "--out", j("x")],
                 "'onnx' is not one of hf|llmc|llmc-bf16", tmp, absent=[j("x")])
    expect_error("export_bad_dtype", ["export", "--checkpoint", model, "--format", "hf", "--dtype", "f8", "--out",
                                      j("x")], "'f8' is not one of f32|bf16|f16", tmp, absent=[j("x")])
    expect_error("export_needs_out", ["export", "--checkpoint", model, "--format", "hf"], "needs --checkpoint", tmp)
    expect_error("export_out_is_file", ["export", "--checkpoint", model, "--format", "hf", "--out", model],
                 "is not a folder", tmp)
    v5 = bytearray(open(j("ex_bf16.bin"), "rb").read())
    write_bytes(j("v5_cut.bin"), bytes(v5[:-2]))
    expect_error("llmc_bf16_truncated", ["sample", "--checkpoint", j("v5_cut.bin")], ["version 5", "implies"], tmp)


if __name__ == "__main__":
    sys.exit(main())
