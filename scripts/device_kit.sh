#!/usr/bin/env bash
# Packs what gpt2cl needs on a GPU machine that has no package registry into
# one folder (default build/device-kit): the built binary and C test programs,
# the .deb files of every shared library they load beyond glibc (downloaded
# from this machine's Debian registry with `apt-get download`), the GPT-2
# tokenizer and the default corpus shards, the configs and test fixtures, and
# scripts/device_check.sh, which runs everything there.
#
#   bash scripts/device_kit.sh [KIT_DIR]
#   copy KIT_DIR to the GPU machine, then: bash KIT_DIR/device_check.sh --report DIR
#
# Run scripts/setup.sh first (it builds build/ and prepares the data).
set -euo pipefail
cd "$(dirname "$0")/.."
kit=${1:-build/device-kit}
data="${GPT2CL_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/gpt2cl}"

say() { echo "device_kit: $*"; }
fail() { echo "device_kit: error: $*" >&2; exit 1; }

[ -f build/build.ninja ] || fail "no build/ folder: run scripts/setup.sh first"
ninja -C build >/dev/null
programs=(build/gpt2cl build/tests/test_kernels build/tests/test_model build/tests/test_gemm
          build/tests/test_optimizers build/tests/test_sample)
for p in "${programs[@]}"; do [ -x "$p" ] || fail "$p is missing: the build is incomplete"; done
for f in "$data/gpt2.tiktoken" "$data/tokens/gpt2/train_000000.bin" "$data/tokens/gpt2/val_000000.bin"; do
    [ -f "$f" ] || fail "$f is missing: run scripts/setup.sh first"
done

rm -rf "$kit"
mkdir -p "$kit/bin" "$kit/debs" "$kit/data/tokens/gpt2" "$kit/tests"
cp "${programs[@]}" "$kit/bin/"
cp scripts/device_check.sh scripts/torch_gpt2_bench.py "$kit/"
cp -r configs "$kit/"
cp -r tests/fixtures "$kit/tests/"
cp "$data/gpt2.tiktoken" "$kit/data/"
cp "$data/tokens/gpt2/train_000000.bin" "$data/tokens/gpt2/val_000000.bin" "$kit/data/tokens/gpt2/"

# The packages behind every library the programs load, except glibc's own
# (the target has a glibc at least as new as Debian 12's).
libs=$(for p in "${programs[@]}"; do ldd "$p"; done | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u)
packages=()
for lib in $libs; do
    case "$(basename "$lib")" in libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*) continue ;; esac
    real=$(readlink -f "$lib")
    owner=$(dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || dpkg -S "/usr$real" 2>/dev/null) \
        || fail "no Debian package owns $lib"
    packages+=("${owner%%:*}")
done
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
say "downloading ${packages[*]}"
(cd "$kit/debs" && apt-get download -qq "${packages[@]}" 2>&1 | grep -v "unsandboxed as root" >&2; [ "${PIPESTATUS[0]}" -eq 0 ]) || fail "apt-get download failed"
printf '%s\n' $libs | xargs -n1 basename > "$kit/debs/sonames.txt"

git rev-parse HEAD > "$kit/commit.txt" 2>/dev/null || echo unknown > "$kit/commit.txt"
size=$(du -sm "$kit" | cut -f1)
say "wrote $kit ($size MiB): $(ls "$kit/debs" | grep -c '\.deb$') packages, ${#programs[@]} programs"
[ "$size" -lt 60 ] || fail "the kit is $size MiB, over its 60 MiB limit"
