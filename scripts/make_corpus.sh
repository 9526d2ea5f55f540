#!/bin/sh
# Builds gpt2cl's default training corpus: public-domain English books that
# Debian ships (as test data or package data), about 2.7 million GPT-2 tokens,
# written as one UTF-8 .txt per book to $DATA/corpus/.
#
#   book                          Debian package (file)
#   Moby Dick (Melville)          golang-github-colinmarc-hdfs-dev (testdata/mobydick.txt)
#   Sherlock Holmes (Doyle)       golang-github-pierrec-lz4-dev    (testdata/pg1661.txt)
#   Tom Sawyer (Twain)            golang-github-pierrec-lz4-dev    (testdata/Mark.Twain-Tom.Sawyer.txt)
#   King James Bible              widemargin                       (/usr/share/widemargin/kjv.rawtxt)
#   Jane Austen's six novels      r-cran-janeaustenr               (R lazy-load data Rdata.rdb/.rdx)
#
# Packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x`
# into a temporary folder; nothing is installed (the golang ones would pull in
# ~20 other -dev packages, widemargin pulls in Mono, janeaustenr pulls in R).
# Every source file and every produced book is checked against a sha256
# hard-coded below, so the corpus (and the tokenizer fixtures built from it)
# is byte-identical everywhere.
#
# Normalisation: UTF-8 BOMs are dropped and CRLF becomes LF; the Bible's verse
# prefixes ("Ge1:1 ") are stripped; Austen's novels, stored in R as one string
# per line, are joined with "\n". Project Gutenberg headers are kept.
# Needs: apt-get, dpkg-deb, python3 (to read R's serialization format).
# Idempotent: exits early when every book is present with the right hash.
set -eu

DATA=${GPT2CL_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/gpt2cl}
CORPUS="$DATA/corpus"
PYTHON=${PYTHON:-python3}

# Produced books: name sha256.
BOOKS="
mobydick.txt 24c9da68d077b27375fee2fbf26147a7f98a1a4f904c959eadef4cd375c9ca5d
sherlock_holmes.txt 1081c8861a7fb881f54bb3dd806ace0f36ae032192753a2ec73ac70b1f42e91f
tom_sawyer.txt 461eb7cb2d57d293fc680c836464c9125e4382be3596f7d415093ae9db8fcb0e
kjv_bible.txt 8291b180fab8dbab03628a779823874db87a560bbe5c1f36c77a201f65fd982f
austen_emma.txt 7c67b5985c6d0de1efaeb5d342d52cb82c38083c40e2295129e30e87ee690ebe
austen_mansfield_park.txt 98bc90519cdf4ef663ad7de2734bb529435ef24f7abbde6bb1a50898871dafe9
austen_northanger_abbey.txt 51f91bbe0517db8e65cff009b097ce0a1836124c4e0532ac19e6c0cad982abed
austen_persuasion.txt 8061549557aebd2fd6e353d18d9197cb707029112bd52d4d8b174583a925848a
austen_pride_and_prejudice.txt dfc684d4f857fa938268f9ab9c5567b64bd0691251eca959644adeabe6287a4d
austen_sense_and_sensibility.txt 105e1651fe93bed7130078578efd31e0c557d68667ba672ddc876f735b30fe09
"

# Source files inside the unpacked packages: path sha256.
SOURCES="
usr/share/gocode/src/github.com/colinmarc/hdfs/testdata/mobydick.txt 870fe07753b139bbcbcf45a6de27e4ec620434972ec78c08267655003333f0f8
usr/share/gocode/src/github.com/pierrec/lz4/testdata/pg1661.txt 242ec73a70f0a03dcbe007e32038e7deeaee004aaec9a09a07fa322743440fa8
usr/share/gocode/src/github.com/pierrec/lz4/testdata/Mark.Twain-Tom.Sawyer.txt 461eb7cb2d57d293fc680c836464c9125e4382be3596f7d415093ae9db8fcb0e
usr/share/widemargin/kjv.rawtxt 4896bec760410b96f86edd8cd4579fa31beb9ec26fc9c2e776a3e59767ec87a8
usr/lib/R/site-library/janeaustenr/data/Rdata.rdb 8fb5198960d0da724b1562f96e4221e5c1b41ff455000280b02c55980c3d8f21
usr/lib/R/site-library/janeaustenr/data/Rdata.rdx cab8cbe4ce965d3b42b35c03383bafccc0eb78151f70e4748ead45270470c22f
"
PACKAGES="golang-github-colinmarc-hdfs-dev golang-github-pierrec-lz4-dev widemargin r-cran-janeaustenr"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
fail() { echo "make_corpus: error: $*" >&2; exit 1; }

all_present() {
    echo "$BOOKS" | while read -r name sha; do
        [ -n "$name" ] || continue
        [ -f "$CORPUS/$name" ] && [ "$(sha_of "$CORPUS/$name")" = "$sha" ] || { echo missing; break; }
    done | grep -q missing && return 1
    return 0
}

if all_present; then
    echo "make_corpus: corpus already complete in $CORPUS"
    exit 0
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
# _apt cannot write into a root-only mktemp folder; let it (avoids a warning).
chmod 755 "$TMP"
mkdir "$TMP/debs" "$TMP/x"

echo "make_corpus: downloading $PACKAGES"
# shellcheck disable=SC2086 # PACKAGES is a word list
if ! (cd "$TMP/debs" && apt-get download $PACKAGES >/dev/null 2>&1); then
    # Stale or empty package lists are the usual cause; refresh once and retry.
    apt-get update >/dev/null || fail "apt-get update failed"
    # shellcheck disable=SC2086
    (cd "$TMP/debs" && apt-get download $PACKAGES >/dev/null) || fail "apt-get download $PACKAGES failed"
fi
for deb in "$TMP"/debs/*.deb; do dpkg-deb -x "$deb" "$TMP/x"; done

echo "$SOURCES" | while read -r path sha; do
    [ -n "$path" ] || continue
    [ -f "$TMP/x/$path" ] || fail "package file $path is missing"
    got=$(sha_of "$TMP/x/$path")
    [ "$got" = "$sha" ] || fail "sha256 mismatch for $path: got $got, want $sha"
done

mkdir -p "$CORPUS"
"$PYTHON" - "$TMP/x" "$TMP/out" <<'PYEOF'
import bz2, gzip, lzma, os, re, struct, sys, zlib
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out)

def put(name, text):
    with open(os.path.join(out, name), "w", encoding="utf-8", newline="") as f:
        f.write(text)

def plain(path):
    t = open(os.path.join(src, path), encoding="utf-8").read()
    return t.replace("\ufeff", "").replace("\r\n", "\n")

put("mobydick.txt", plain("usr/share/gocode/src/github.com/colinmarc/hdfs/testdata/mobydick.txt"))
put("sherlock_holmes.txt", plain("usr/share/gocode/src/github.com/pierrec/lz4/testdata/pg1661.txt"))
put("tom_sawyer.txt", plain("usr/share/gocode/src/github.com/pierrec/lz4/testdata/Mark.Twain-Tom.Sawyer.txt"))
kjv = plain("usr/share/widemargin/kjv.rawtxt")
put("kjv_bible.txt", re.sub(r"(?m)^[1-3]?[A-Z][A-Za-z]*[0-9]+:[0-9]+ ", "", kjv))

# Minimal reader for R's XDR serialization (format 2/3), enough for the
# lazy-load index (a named list) and character vectors.
class RReader:
    def __init__(self, b):
        self.b, self.p, self.refs = b, 0, []
    def int(self):
        v = struct.unpack(">i", self.b[self.p:self.p + 4])[0]
        self.p += 4
        return v
    def raw(self, n):
        v = self.b[self.p:self.p + n]
        self.p += n
        return v
    def top(self):
        if self.raw(2) != b"X\n":
            raise ValueError("not an XDR R serialization")
        version = self.int(); self.int(); self.int()
        if version == 3:
            self.raw(self.int())  # native encoding name
        return self.item()
    def item(self):
        flags = self.int()
        t, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if t in (254, 242, 253, 251):  # NULL, empty env, global env, missing arg
            return None
        if t == 255:  # reference to an earlier symbol
            k = flags >> 8
            return self.refs[(k or self.int()) - 1]
        if t == 1:  # symbol
            v = ("sym", self.item())
            self.refs.append(v)
            return v
        if t in (2, 4, 6, 17):  # pairlists
            if has_attr: self.item()
            tag = self.item() if has_tag else None
            car, cdr = self.item(), self.item()
            return [(tag[1] if tag else None, car)] + (cdr if isinstance(cdr, list) else [])
        if t == 9:  # CHARSXP
            n = self.int()
            return None if n == -1 else self.raw(n).decode("utf-8")
        if t in (10, 13, 14, 16, 19, 20, 24):
            n = self.int()
            if t in (16, 19, 20): v = [self.item() for _ in range(n)]
            elif t in (10, 13): v = [self.int() for _ in range(n)]
            elif t == 14: v = list(struct.unpack(">%dd" % n, self.raw(8 * n)))
            else: v = self.raw(n)
            attrs = dict(self.item()) if has_attr else {}
            return dict(zip(attrs["names"], v)) if "names" in attrs else v
        raise ValueError("unsupported R type %d" % t)

rdir = os.path.join(src, "usr/lib/R/site-library/janeaustenr/data")
index = RReader(gzip.decompress(open(os.path.join(rdir, "Rdata.rdx"), "rb").read())).top()
rdb = open(os.path.join(rdir, "Rdata.rdb"), "rb").read()
compressed = index["compressed"][0]
def r_object(name):
    off, n = (int(x) for x in index["variables"][name])
    body = rdb[off + 4:off + n]  # skip the 4-byte uncompressed length
    if compressed in (2, 3):
        kind, body = body[:1], body[1:]
        body = {b"Z": zlib.decompress, b"2": bz2.decompress, b"X": lzma.decompress, b"0": bytes}[kind](body)
    else:
        body = zlib.decompress(body)
    return RReader(body).top()
for rname, fname in [("emma", "emma"), ("mansfieldpark", "mansfield_park"),
                     ("northangerabbey", "northanger_abbey"), ("persuasion", "persuasion"),
                     ("prideprejudice", "pride_and_prejudice"), ("sensesensibility", "sense_and_sensibility")]:
    lines = r_object(rname)
    put("austen_%s.txt" % fname, "\n".join(l or "" for l in lines) + "\n")
PYEOF

echo "$BOOKS" | while read -r name sha; do
    [ -n "$name" ] || continue
    got=$(sha_of "$TMP/out/$name")
    [ "$got" = "$sha" ] || fail "sha256 mismatch for produced $name: got $got, want $sha"
done
# Only after every book checks out, so a failed run changes nothing.
echo "$BOOKS" | while read -r name sha; do
    [ -n "$name" ] || continue
    mv "$TMP/out/$name" "$CORPUS/$name"
done
echo "make_corpus: wrote $(echo "$BOOKS" | grep -c .) books to $CORPUS"
