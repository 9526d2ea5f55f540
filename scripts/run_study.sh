#!/usr/bin/env bash
# The warmup study (README, The warmup study): one `gpt2cl sweep` per optimizer variant over peak lr x
# warmup, each into OUT/VARIANT/, then the figures of scripts/plot_study.py into OUT/plots/.
#
#   scripts/run_study.sh [CONFIG [OUT]] [key=value ...]      defaults: configs/study/small.ini runs/study
#
# Environment: STUDY_LRS (default 1.2e-3,4.8e-3,1.92e-2), STUDY_WARMUPS (warmup_frac values; default
# 0,0.05,0.2 for adamw and 0,0.2 for the others), STUDY_VARIANTS (names from the table below, default all),
# STUDY_JOBS (runs at once, default 1), GPT2CL (the binary, default ./build/gpt2cl).
# Rerunning it resumes: finished runs are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
config=configs/study/small.ini
out=runs/study
if [ $# -gt 0 ] && [[ "$1" != *=* ]]; then config=$1; shift; fi
if [ $# -gt 0 ] && [[ "$1" != *=* ]]; then out=$1; shift; fi
bin=${GPT2CL:-./build/gpt2cl}
lrs=${STUDY_LRS:-1.2e-3,4.8e-3,1.92e-2}

# name | the keys of the variant | the paper's claim it tests (README)
variants=(
    "adamw|optimizer=adamw|1: warmup helps AdamW"
    "adamw_no_bc1|optimizer=adamw adamw_bias_correction1=false|2: momentum bias correction inflates early updates"
    "liona|optimizer=liona|3: controlling the l2 update norm does not remove the benefit"
    "lionar|optimizer=lionar|4: controlling angular updates reduces it"
    "lionar_rrc|optimizer=lionar rrc_correction=true|4: the RRC correction still leaves a benefit"
    "lionar_beta0|optimizer=lionar beta1=0 beta2=0|5: momentum is essential"
    "lionar_nesterov_ibc|optimizer=lionar nesterov=true beta=0.98 inverse_bias_correction=linear|6: no warmup needed"
)

start=$(date +%s)
for v in "${variants[@]}"; do
    IFS='|' read -r name keys claim <<<"$v"
    if [ -n "${STUDY_VARIANTS:-}" ] && [[ " $STUDY_VARIANTS " != *" $name "* ]]; then continue; fi
    warmups=${STUDY_WARMUPS:-$([ "$name" = adamw ] && echo 0,0.05,0.2 || echo 0,0.2)}
    echo "study: $name (claim $claim)"
    # shellcheck disable=SC2086  # keys: one key=value per word
    "$bin" sweep --config "$config" --out "$out/$name" --jobs "${STUDY_JOBS:-1}" \
        --grid "lr=$lrs" --grid "warmup_frac=$warmups" $keys "$@"
done
echo "study: $(( $(date +%s) - start )) s"
python3 scripts/plot_study.py "$out"
