#!/usr/bin/env bash
# Sets up gpt2cl on a fresh Debian 12 machine, idempotently:
#   1. Debian packages (OpenCL ICD loader + headers, POCL CPU driver, CLBlast, meson, libraries,
#      Open MPI for training on several devices, Oclgrind, the simulated GPU of the tests' oclgrind
#      suite, and matplotlib for the study's plots)
#   2. the GPT-2 tokenizer ranks (scripts/fetch_vocab.sh) and the default corpus (scripts/make_corpus.sh)
#   3. the build (./build, warnings are errors)
#   4. the default corpus tokenized into shards (gpt2cl prepare)
# Data goes to $GPT2CL_DATA (default ${XDG_DATA_HOME:-~/.local/share}/gpt2cl).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gcc pkg-config meson ninja-build python3 ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd
          libclblast-dev libinih-dev libcjson-dev libpcre2-dev clinfo oclgrind libopenmpi-dev openmpi-bin)
# matplotlib: scripts/plot_study.py and its test (`sweep`); Debian's package unless one is importable already
python3 -c "import matplotlib" 2>/dev/null || packages+=(python3-matplotlib)
command -v pip3 >/dev/null || command -v pip >/dev/null || packages+=(python3-pip)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# a python3 other than Debian's (pyenv, a virtual environment) does not see python3-matplotlib: PyPI's, then
if ! python3 -c "import matplotlib" 2>/dev/null; then
    echo "setup: $(command -v python3) does not see Debian's matplotlib; installing it from PyPI"
    python3 -m pip install --quiet matplotlib
fi

bash scripts/fetch_vocab.sh
bash scripts/make_corpus.sh

if [ ! -f build/build.ninja ]; then
    meson setup build --buildtype=release >/dev/null
fi
ninja -C build >/dev/null
echo "setup: built build/gpt2cl"

data="${GPT2CL_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/gpt2cl}"
if [ ! -f "$data/tokens/gpt2/train_000000.bin" ]; then
    ./build/gpt2cl prepare  # the default corpus, GPT-2 tokens, into $data/tokens/gpt2
fi
echo "setup: default corpus shards in $data/tokens/gpt2"
