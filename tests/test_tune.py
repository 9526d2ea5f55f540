#!/usr/bin/env python3
"""`gpt2cl tune` end to end on the default device (python3 standard library only).

  tune_budget     `gpt2cl tune --budget 20` on a tiny model ends within its budget (+ start-up slack) and
                  writes a database with a "best" entry
  tune_resume     a second, shorter `tune` resumes from the database and its "best" keeps every part the
                  first one found (CLBlast parameters, our GEMM's shapes, our kernels' tunables)
  train_tuned     the next `gpt2cl train` says `tuned: yes`
  tuned_losses    a run with tuned CLBlast parameters (indirect Xgemm everywhere) and every kernel tunable
                  away from its default gives the same losses as a run with gpt2cl's generic defaults
                  (GPT2CL_TUNE=0 GPT2CL_CLASS_DEFAULTS=0, CLBlast's own parameters) to float tolerance
  class_losses    likewise a run with the device class's defaults (GPT2CL_TUNE=0: on POCL our GEMM with
                  k chunks, one work-item per row)
  gemm_cl_losses  a run with our GEMM (cl/gemm.cl) on every shape gives the same losses as the generic
                  (CLBlast) run to float tolerance, and the tuner's own per-shape gemm_cl entries load
  quick           `tune --quick` starts from the device class's defaults, ends by itself within its budget
                  and writes a "best" that train applies
  stale_db        a database made for another driver is ignored with a warning: the class defaults apply
  corrupt_db      a corrupt database is ignored with a warning, the run still succeeds
  program_cache   compiled kernel programs are cached in the cache folder; a binary the driver rejects
                  falls back to a source build with a warning
Every run uses a temporary cache folder (GPT2CL_CACHE_DIR), never the user's.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.environ.get("GPT2CL_SOURCE_ROOT",
                                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")))
BIN = os.path.abspath(os.environ.get("GPT2CL_BIN", os.path.join(ROOT, "build", "gpt2cl")))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tests"))
import make_shard  # noqa: E402

BUDGET = 20
MODEL = dict(n_layer=2, n_head=4, n_embd=64, block_size=64, vocab_size=257, batch_size=4, seq_len=32)
passed = failed = 0


def report(ok, name, detail):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print("%s %-16s %s" % ("PASS" if ok else "FAIL", name, detail))
    sys.stdout.flush()


def run(args, cwd, env, timeout=300):
    t0 = time.monotonic()
    p = subprocess.run([BIN] + args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), time.monotonic() - t0


def losses(path):
    with open(path) as f:
        return [json.loads(line)["loss"] for line in f if line.strip() and "val_loss" not in line]


def main():
    if not os.path.exists(BIN):
        sys.exit("test_tune: gpt2cl binary %r not found (set GPT2CL_BIN)" % BIN)
    tmp = tempfile.mkdtemp(prefix="gpt2cl_test_tune_")
    env = dict(os.environ, GPT2CL_CACHE_DIR=os.path.join(tmp, "cache"))
    env.pop("GPT2CL_TUNE", None)
    t0 = time.monotonic()
    try:
        with open("/usr/share/common-licenses/GPL-3", "rb") as f:
            make_shard.write(os.path.join(tmp, "train.bin"), list(f.read()[:4000]))
        ini = os.path.join(tmp, "tiny.ini")
        with open(ini, "w") as f:
            for k, v in dict(MODEL, train_data="train.bin", steps=4, lr="1e-3", schedule="constant").items():
                f.write("%s = %s\n" % (k, v))

        # CLBlast compiles its default kernels at first use (POCL caches them in ~/.cache/pocl): done once
        # here, outside the budget, since on a cold POCL cache that alone takes minutes.
        rc, out, dt = run(["bench", "--config", ini, "--warmup", "0", "--steps", "1"], tmp, env)
        print("     (warm-up bench: exit %d, %.1f s)" % (rc, dt))
        rc, out, dt = run(["tune", "--config", ini, "--budget", str(BUDGET)], tmp, env)
        dbs = glob.glob(os.path.join(tmp, "cache", "tune-*.json"))
        db = json.load(open(dbs[0])) if len(dbs) == 1 else {}
        report(rc == 0 and dt <= BUDGET + 8 and "best" in db, "tune_budget",
               "exit %d in %.1f s (budget %d s), %d database(s), best %s" % (rc, dt, BUDGET, len(dbs),
                                                                             "present" if "best" in db else "MISSING"))
        if rc != 0 or not dbs:
            print(out)
            return 1

        rc, out, dt = run(["tune", "--config", ini, "--budget", "8"], tmp, env)
        best1, best2 = db["best"], json.load(open(dbs[0])).get("best", {})
        parts = [k for k in ("clblast", "gemm_cl", "kernels") if best1.get(k)]
        kept = [k for k in parts if best2.get(k)]
        report(rc == 0 and kept == parts, "tune_resume", "exit %d in %.1f s; parts of best kept: %s of %s" %
               (rc, dt, kept, parts))

        rc, out, dt = run(["train", "--config", ini, "log=a.jsonl"], tmp, env)
        report(rc == 0 and "tuned: yes" in out, "train_tuned", "train printed: %s" %
               next((l for l in out.splitlines() if l.startswith("tuned:")), "no tuned: line"))

        # Known non-default parameters, so the comparison below exercises the override path.
        db["best"]["clblast"] = {
            "Xgemm": dict(GEMMK=0, KREG=1, KWG=32, KWI=2, MDIMA=8, MDIMC=8, MWG=64, NDIMB=8, NDIMC=8, NWG=64, SA=0,
                          SB=0, STRM=0, STRN=0, VWM=8, VWN=8),
            "GemmRoutine": {"XGEMM_MIN_INDIRECT_SIZE": 0}}
        db["best"]["kernels"] = dict(WG=64, VW=4, LN_WG=1, SOFTMAX_WG=8, CE_WG=2, CE_VW=8, ROW_WG=1, REDUCE_WG=32,
                                     NORM_GROUPS=16, REDUCE_CONTIGUOUS=0)
        with open(dbs[0], "w") as f:
            json.dump(db, f)
        rc1, out1, _ = run(["train", "--config", ini, "log=tuned.jsonl"], tmp, env)
        rc2, out2, _ = run(["train", "--config", ini, "log=untuned.jsonl"], tmp,
                           dict(env, GPT2CL_TUNE="0", GPT2CL_CLASS_DEFAULTS="0"))
        rc5, out5, _ = run(["train", "--config", ini, "log=class.jsonl"], tmp, dict(env, GPT2CL_TUNE="0"))
        for name, rc, out, log, line in (("tuned_losses", rc1, out1, "tuned.jsonl", "tuned: yes"),
                                         ("class_losses", rc5, out5, "class.jsonl", "tuned: defaults for")):
            if rc or rc2:
                print(out, out2)
                report(False, name, "a run failed")
                continue
            a, b = losses(os.path.join(tmp, log)), losses(os.path.join(tmp, "untuned.jsonl"))
            worst = max(abs(x - y) / max(1e-6, abs(y)) for x, y in zip(a, b)) if a and len(a) == len(b) else 1
            report(line in out and "tuned: no (gpt2cl's generic defaults" in out2 and worst < 1e-4, name,
                   "%d steps, largest relative loss difference %.2e (need < 1e-4)" % (len(a), worst))

        # Our GEMM instead of CLBlast: every shape through it (one parameter set), then the tuner's own choices.
        tuner_choices = db["best"].get("gemm_cl", [])
        db["best"]["gemm_cl"] = [dict(all=True, VW=8, TM=3, TN=2, WG0=2, WG1=4)]
        with open(dbs[0], "w") as f:
            json.dump(db, f)
        rc3, out3, _ = run(["train", "--config", ini, "log=ours.jsonl"], tmp, env)
        if rc3 or rc2:
            print(out3)
            report(False, "gemm_cl_losses", "a run failed")
        else:
            a, b = losses(os.path.join(tmp, "ours.jsonl")), losses(os.path.join(tmp, "untuned.jsonl"))
            worst = max(abs(x - y) / max(1e-6, abs(y)) for x, y in zip(a, b)) if a and len(a) == len(b) else 1
            db["best"]["gemm_cl"] = tuner_choices
            with open(dbs[0], "w") as f:
                json.dump(db, f)
            rc4, out4, _ = run(["train", "--config", ini, "log=ours2.jsonl"], tmp, env)
            report("our GEMM on every shape" in out3 and worst < 1e-4 and rc4 == 0 and "warning" not in out4,
                   "gemm_cl_losses", "%d steps, largest relative loss difference %.2e (need < 1e-4); "
                   "the tuner's %d gemm_cl entries: %s" % (len(a), worst, len(tuner_choices),
                                                           "loaded" if rc4 == 0 else "run FAILED"))

        # A quick tune of its own, from an empty cache.
        qenv = dict(env, GPT2CL_CACHE_DIR=os.path.join(tmp, "qcache"))
        rc, out, dt = run(["tune", "--config", ini, "--quick", "--budget", "60"], tmp, qenv)
        qdbs = glob.glob(os.path.join(tmp, "qcache", "tune-*.json"))
        qbest = json.load(open(qdbs[0])).get("best", {}) if len(qdbs) == 1 else {}
        rcq, outq, _ = run(["train", "--config", ini, "log=q.jsonl"], tmp, qenv)
        report(rc == 0 and dt <= 60 + 8 and qbest.get("baseline") == "device class" and "from the defaults for" in out
               and rcq == 0 and "tuned: yes" in outq, "quick",
               "exit %d in %.1f s, best %s, then train: %s" %
               (rc, dt, "from the device class" if qbest.get("baseline") == "device class" else "MISSING",
                next((l for l in outq.splitlines() if l.startswith("tuned:")), "no tuned: line")))

        stale = dict(db, key="0000000000000000")
        stale["device"] = dict(db["device"], driver_version="0.0-old")
        with open(dbs[0], "w") as f:
            json.dump(stale, f)
        rc, out, _ = run(["train", "--config", ini, "log=s.jsonl"], tmp, env)
        report(rc == 0 and "tuned: defaults for" in out and "warning" in out and "0.0-old" in out, "stale_db",
               "ignored with a warning" if "warning" in out else "no warning: " + out[-300:])

        with open(dbs[0], "w") as f:
            f.write('{"format": 1, "key": ')
        rc, out, _ = run(["train", "--config", ini, "log=c.jsonl"], tmp, env)
        report(rc == 0 and "tuned: defaults for" in out and "corrupt" in out, "corrupt_db",
               "ignored with a warning" if "corrupt" in out else "no warning: " + out[-300:])

        bins = glob.glob(os.path.join(tmp, "cache", "programs", "*.bin"))
        for b in bins:  # right header, garbage binary
            with open(b, "wb") as f:
                f.write(b"GPT2CLPB" + (64).to_bytes(8, "little") + b"\xff" * 64)
        rc, out, _ = run(["train", "--config", ini, "log=p.jsonl"], tmp, env)
        report(len(bins) >= 1 and rc == 0 and "building from source" in out, "program_cache",
               "%d cached program(s); a rejected binary %s" % (len(bins), "falls back to source" if rc == 0 and
                                                               "building from source" in out else "FAILED: " + out[-300:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("test_tune: %d passed, %d failed (%.1f s)" % (passed, failed, time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
