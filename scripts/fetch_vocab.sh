#!/bin/sh
# Fetches OpenAI's GPT-2 BPE ranks (gpt2.tiktoken: one "base64-token rank" per
# line, 50256 entries; <|endoftext|> = 50256 is implicit) into the gpt2cl data
# folder. The file ships inside the openai-whisper source distribution on PyPI,
# so no model hub is contacted: we download the sdist without its dependencies,
# extract that one member without installing anything, and check its sha256.
# Idempotent: does nothing when a file with the right hash is already there.
set -eu

WHISPER_VERSION=20250625
MEMBER="openai_whisper-$WHISPER_VERSION/whisper/assets/gpt2.tiktoken"
SHA256=306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930

DATA=${GPT2CL_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/gpt2cl}
DEST="$DATA/gpt2.tiktoken"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$DEST" ] && [ "$(sha_of "$DEST")" = "$SHA256" ]; then
    echo "fetch_vocab: $DEST already present"
    exit 0
fi

PYTHON=${PYTHON:-python3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

echo "fetch_vocab: downloading openai-whisper==$WHISPER_VERSION sdist from PyPI"
"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: \
    "openai-whisper==$WHISPER_VERSION" -d "$TMP" 2>&1 | grep -v 'as the .root. user' >&2 || true
SDIST="$TMP/openai_whisper-$WHISPER_VERSION.tar.gz"
[ -f "$SDIST" ] || { echo "fetch_vocab: error: pip download did not produce $SDIST" >&2; exit 1; }

tar -xzf "$SDIST" -C "$TMP" "$MEMBER"
GOT=$(sha_of "$TMP/$MEMBER")
if [ "$GOT" != "$SHA256" ]; then
    echo "fetch_vocab: error: sha256 mismatch for gpt2.tiktoken: got $GOT, want $SHA256" >&2
    exit 1
fi

mkdir -p "$DATA"
# Copy then rename so an interrupted run never leaves a partial ranks file.
cp "$TMP/$MEMBER" "$DEST.tmp.$$"
mv "$DEST.tmp.$$" "$DEST"
echo "fetch_vocab: installed $DEST"
