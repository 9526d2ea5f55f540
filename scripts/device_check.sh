#!/usr/bin/env bash
# Runs gpt2cl's checks and benchmarks on a GPU machine without a package
# registry, from the folder scripts/device_kit.sh made (this script is copied
# into it). Nothing is installed into /: the kit's .deb files are unpacked into
# a private prefix, and the GPU's OpenCL driver is registered through a private
# OCL_ICD_VENDORS folder when the system has no .icd file for it.
#
#   bash KIT/device_check.sh [--report DIR] [--budget SECONDS] [--phases LIST] [--dry-run]
#
# Phases, each under its own time limit and all under --budget (default 500 s;
# a phase that would not fit is skipped), each reported and survived if it fails:
#   devices  `gpt2cl devices`
#   tests    the C tests (kernels, whole model vs PyTorch with each fused path on and off, GEMM,
#            optimizers, sampling)
#   train    a short training of configs/default.ini on the default corpus, then a sample
#   profile  a profiled GPT-2 124M step at batch 8 x 1024 with the device class's defaults
#   tune     `gpt2cl tune --quick` for GPT-2 124M at batch 8 x 1024
#   bench    `gpt2cl bench` of GPT-2 124M at 4 x 64 and 8 x 1024, class defaults and tuned
#   torch    the same steps in PyTorch (fp32; eager and torch.compile) on the same GPU
# --phases runs only the phases whose names start with one of LIST's comma-separated
# words (e.g. devices,test_kernels,bench). --dry-run runs the same phases on the CPU
# through POCL, at small shapes.
# The report folder (--report, else $GPT2CL_REPORT, else ./device-report) gets
# report.md (a table of phases and figures), log.txt, results.jsonl and tune.json.
set -uo pipefail
kit=$(cd "$(dirname "$0")" && pwd)
report=${GPT2CL_REPORT:-./device-report}
budget=500
dry=0
phases=""
while [ $# -gt 0 ]; do
    case "$1" in
        --report) report=$2; shift 2 ;;
        --budget) budget=$2; shift 2 ;;
        --dry-run) dry=1; shift ;;
        --phases) phases=$2; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "device_check: error: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
mkdir -p "$report" || exit 1
report=$(cd "$report" && pwd)
log=$report/log.txt
results=$report/results.jsonl
: > "$log"; : > "$results"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
t_start=$(date +%s)
say() { echo "device_check: $*" | tee -a "$log"; }
elapsed() { echo $(( $(date +%s) - t_start )); }

# ---- the private prefix: the kit's libraries, and the driver's .icd ----
prefix=$work/root
mkdir -p "$prefix" "$prefix/lib" "$prefix/vendors"
for deb in "$kit"/debs/*.deb; do
    if command -v dpkg-deb >/dev/null; then
        dpkg-deb -x "$deb" "$prefix" || say "cannot unpack $deb"
    else  # ar archive holding data.tar.*: Python's tarfile reads xz/gz
        python3 - "$deb" "$prefix" <<'PY' || say "cannot unpack $deb"
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
pos = 8
while pos < len(data):
    name = data[pos:pos + 16].decode().strip().rstrip("/")
    size = int(data[pos + 48:pos + 58].decode().strip())
    body = data[pos + 60:pos + 60 + size]
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
    pos += 60 + size + (size & 1)
PY
    fi
done
# The kit's OpenCL ICD loader always (it honours OCL_ICD_VENDORS); the other
# libraries only where the system lacks them, so the system's newer ones win.
while read -r soname; do
    found=$(find "$prefix/usr/lib" "$prefix/lib" -name "$soname" 2>/dev/null | head -n 1)
    [ -n "$found" ] || continue
    if [ "$soname" = libOpenCL.so.1 ] || ! ldconfig -p 2>/dev/null | grep -q "^[[:space:]]*$soname "; then
        ln -sf "$found" "$prefix/lib/$soname"
    fi
done < "$kit/debs/sonames.txt"
export LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# The driver: NVIDIA's OpenCL library (the CPU's POCL in a dry run), wherever it is mounted.
driver=libnvidia-opencl.so.1
[ $dry -eq 1 ] && driver=libpocl.so.2
driver_path=$(ldconfig -p 2>/dev/null | awk -v n="$driver" '$1 == n {print $NF; exit}')
if [ -z "$driver_path" ]; then
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib \
             /usr/local/cuda/lib64 /run/nvidia/driver/usr/lib/x86_64-linux-gnu; do
        [ -e "$d/$driver" ] && { driver_path=$d/$driver; break; }
    done
fi
[ -n "$driver_path" ] || driver_path=$(timeout 30 find / -xdev -name "$driver" -not -path '/proc/*' 2>/dev/null | head -n 1)
if [ -z "$driver_path" ]; then
    say "no $driver found on this machine: the phases below will find no GPU"
elif [ $dry -eq 0 ] && grep -qs "${driver%%.so*}" /etc/OpenCL/vendors/*.icd; then
    say "driver $driver_path is registered in /etc/OpenCL/vendors"
else
    echo "$driver_path" > "$prefix/vendors/$(basename "$driver").icd"
    export OCL_ICD_VENDORS=$prefix/vendors
    say "driver $driver_path registered through OCL_ICD_VENDORS=$OCL_ICD_VENDORS"
fi

export GPT2CL_DATA=$kit/data GPT2CL_CACHE_DIR=$work/cache PYTHONUNBUFFERED=1
bin=$kit/bin
gpt2cl=$bin/gpt2cl
cd "$kit" || exit 1

# ---- phases ----
# Shapes: GPT-2 124M at 4 x 64 and 8 x 1024 on the GPU; the default config in a dry run.
if [ $dry -eq 1 ]; then
    model=configs/default.ini
    shapes=("batch_size=2 seq_len=32" "batch_size=4 seq_len=64")
    tune_shape="batch_size=4 seq_len=64"
    train_steps=6 tune_budget=20 bench_args="--warmup 1 --steps 2"
else
    model=configs/gpt2_124m.ini
    shapes=("batch_size=4 seq_len=64" "batch_size=8 seq_len=1024")
    tune_shape="batch_size=8 seq_len=1024"
    train_steps=60 tune_budget=90 bench_args="--warmup 3 --steps 10"
fi

table=$work/table.md
passed=0 failed=0 skipped=0
# phase NAME LIMIT_SECONDS COMMAND...: runs COMMAND under min(LIMIT, what the budget has left),
# its output into the log (and $work/NAME.out), one table row.
phase() {
    local name=$1 limit=$2; shift 2
    if [ -n "$phases" ]; then
        local w wanted=0
        for w in ${phases//,/ }; do [[ $name == "$w"* ]] && wanted=1; done
        [ $wanted -eq 1 ] || return 1
    fi
    local left=$(( budget - $(elapsed) ))
    if [ "$left" -lt 10 ]; then
        echo "| $name | skipped | 0 | out of budget |" >> "$table"; skipped=$((skipped + 1))
        say "$name: skipped, the budget of $budget s is spent"; return 1
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    say "$name: $* (limit ${limit} s)"
    local t0=$(date +%s)
    timeout -k 5 "$limit" "$@" > "$work/$name.out" 2>&1
    local rc=$? dt=$(( $(date +%s) - t0 ))
    sed "s/^/  [$name] /" "$work/$name.out" >> "$log"
    local status=ok
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status="timed out"; elif [ $rc -ne 0 ]; then status="failed ($rc)"; fi
    local tail_line
    tail_line=$(grep -v -e '^\s*$' -e '^{' "$work/$name.out" | tail -n 1 | cut -c1-160 | tr '|' '/')
    echo "| $name | $status | $dt | $tail_line |" >> "$table"
    if [ "$status" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    say "$name: $status in ${dt} s"
    [ "$status" = ok ]
}

echo "| phase | result | s | last line |" > "$table"
echo "|---|---|---|---|" >> "$table"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm \
    --format=csv >> "$log" 2>&1
phase devices 30 "$gpt2cl" devices
# The tests keep their compiled programs and databases apart from the benchmarks'.
tests_env=(env GPT2CL_CACHE_DIR="$work/test-cache")
phase test_kernels 150 "${tests_env[@]}" "$bin/test_kernels"
phase test_model 90 "${tests_env[@]}" "$bin/test_model" tests/fixtures/tiny
phase test_model_other_paths 90 "${tests_env[@]}" "$bin/test_model" tests/fixtures/tiny --other-paths
phase test_gemm 90 "${tests_env[@]}" "$bin/test_gemm"
phase test_optimizers 150 "${tests_env[@]}" "$bin/test_optimizers"
phase test_sample 60 "${tests_env[@]}" "$bin/test_sample" tests/fixtures/tiny
phase train 120 "$gpt2cl" train --config configs/default.ini steps=$train_steps val_every=$((train_steps / 2)) \
    sample_every=0 checkpoint_every=0 out_dir="$work/run" log="$work/run/log.jsonl"
phase sample 40 "$gpt2cl" sample --checkpoint "$work/run" --prompt "It was a dark and stormy night" \
    max_new_tokens=24
# shellcheck disable=SC2086
phase profile 90 "$gpt2cl" bench --config $model $bench_args --profile $tune_shape
# shellcheck disable=SC2086
phase tune $((tune_budget + 60)) "$gpt2cl" tune --config $model --quick --budget $tune_budget $tune_shape
cp "$work"/cache/tune-*.json "$report/tune.json" 2>/dev/null
for s in "${shapes[@]}"; do
    tag=$(echo "$s" | tr -cd '0-9 ' | tr ' ' x)
    # shellcheck disable=SC2086
    phase "bench_$tag" 120 "$gpt2cl" bench --config $model $bench_args $s
    grep -sE '^(tuned|bench|step):' "$work/bench_$tag.out" | sed "s/^/bench_$tag: /" >> "$work/figures.txt"
done
torch_device=cuda
[ $dry -eq 1 ] && torch_device=cpu
if python3 -c 'import torch' 2>/dev/null; then
    for mode in eager compile; do  # eager first: compiling is the part the budget may cut
        for s in "${shapes[@]}"; do
            tag=$(echo "$s" | tr -cd '0-9 ' | tr ' ' x)
            flag=""; [ $mode = compile ] && flag=--compile
            # shellcheck disable=SC2086
            phase "torch_${mode}_$tag" 150 python3 torch_gpt2_bench.py --config $model --device $torch_device \
                $flag --warmup 3 --steps 10 $s
            grep -hs '^{' "$work/torch_${mode}_$tag.out" >> "$results"
            grep -hs '^torch ' "$work/torch_${mode}_$tag.out" >> "$work/figures.txt"
        done
    done
else
    echo "| torch | skipped | 0 | python3 has no torch |" >> "$table"; skipped=$((skipped + 1))
    say "torch: skipped, python3 has no torch"
fi

{
    echo "# gpt2cl device check$([ $dry -eq 1 ] && echo ' (dry run on POCL)')"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), kit commit $(cat "$kit/commit.txt" 2>/dev/null), $(elapsed) s in all"
    echo
    echo '```'
    grep -E '^(name|NVIDIA)' "$log" 2>/dev/null
    cat "$work/devices.out" 2>/dev/null
    grep -h '^peak:' "$work"/bench_*.out 2>/dev/null | head -n 1
    echo '```'
    echo
    cat "$table"
    echo
    echo '## Figures'
    echo
    echo '```'
    cat "$work/figures.txt" 2>/dev/null
    grep -E '^(profile per step|  [a-z_]+ +[0-9.]+ ms/step)' "$work/profile.out" 2>/dev/null | head -n 30
    echo '```'
} > "$report/report.md"
for f in "$work"/*.out; do
    n=$(basename "$f" .out)
    python3 -c 'import json,sys; print(json.dumps({"phase": sys.argv[1], "last": sys.argv[2]}))' "$n" \
        "$(tail -n 1 "$f")" >> "$results" 2>/dev/null
done
say "$passed passed, $failed failed, $skipped skipped in $(elapsed) s; report in $report"
[ $failed -eq 0 ]
