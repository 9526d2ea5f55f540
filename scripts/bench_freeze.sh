#!/bin/bash
# Fine-tuning step time with and without freezing: `gpt2cl bench` (random tokens, full training
# steps) of a config with no freeze, with half the blocks frozen (layers:0-1 of the default
# config's 4), and with those and the embeddings frozen (the backward pass then stops at block 2),
# alternating the contenders ROUNDS times so a busy machine slows them alike. Prints each run's
# ms/step, then the median of each and its ratio to no freeze.
# Usage: scripts/bench_freeze.sh [CONFIG] [ROUNDS] [STEPS] [key=value ...]   (default configs/default.ini 3 10;
# the keys go to every run, e.g. a model whose blocks outweigh its embedding: vocab_size=257 n_embd=384)
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/default.ini} rounds=${2:-3} steps=${3:-10}
shift $(($# < 3 ? $# : 3))
contenders=("" "layers:0-1" "embeddings,positions,layers:0-1")
times=("" "" "")
for ((r = 1; r <= rounds; r++)); do
    for i in "${!contenders[@]}"; do
        f=${contenders[$i]}
        ms=$(./build/gpt2cl bench --config "$config" --warmup 2 --steps "$steps" --no-compare "$@" ${f:+freeze=$f} |
             sed -n 's/^bench: .*| \([0-9.]*\) ms\/step.*/\1/p')
        echo "round $r | freeze=${f:-(none)} | $ms ms/step"
        times[$i]="${times[$i]} $ms"
    done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
base=$(echo "${times[0]}" | median)
for i in "${!contenders[@]}"; do
    f=${contenders[$i]}
    m=$(echo "${times[$i]}" | median)
    awk -v f="${f:-(none)}" -v m="$m" -v b="$base" 'BEGIN {printf "median freeze=%-32s %8.1f ms/step  %.2fx the time of no freeze\n", f, m, m / b}'
done
