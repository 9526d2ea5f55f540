#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS (default 30), one after the other,
# from its committed seeds (tests/fuzz/corpus/<target>/, read only: new inputs go to
# a temporary folder), and prints one line per target:
#   fuzz_config: PASS 812345 executions in 30 s
# A crash, leak or timeout fails the target; its input is kept in
# BUILD/fuzz-artifacts/ and the end of libFuzzer's report is printed.
# Exit status 0 when every target passed.
#   bash tests/fuzz/run.sh [BUILD (default build-fuzz)] [SECONDS]
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-fuzz}
seconds=${2:-30}
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
failed=0
for target in config headers tune_db tokenizer safetensors; do
    exe="$build/tests/fuzz/fuzz_$target"
    work=$(mktemp -d)
    # -close_fd_mask=3: the targets' own warnings stay quiet; sanitizer reports still reach the log.
    nice -n 10 "$exe" "$work" "tests/fuzz/corpus/$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
        -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$artifacts/${target}-" >"$work.log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
    if [ "$rc" -eq 0 ]; then
        echo "fuzz_$target: PASS ${runs:-?} executions in $seconds s"
    else
        failed=$((failed + 1))
        echo "fuzz_$target: FAIL (exit $rc) after ${runs:-?} executions; inputs in $artifacts:"
        ls "$artifacts" | sed 's/^/    /'
        grep -v "^INFO:\|^#" "$work.log" | tail -n 30 | sed 's/^/    /'
    fi
    rm -rf "$work" "$work.log"
done
[ "$failed" -eq 0 ]
