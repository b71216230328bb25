#!/usr/bin/env bash
# Downloads the evaluation datasets into the layout rlae's loaders (envs/) expect, from the same
# sources and commits as ../shared/data/*/SOURCE.md, and checks the sha256 sums recorded there.
#
#   tools/fetch-data.sh [DIR] [--with-train] [--triviaqa]
#
# DIR defaults to $RLAE_DATA_DIR, else ./data. Files already present with the right checksum are
# kept. --with-train also fetches the large training splits the shared bundle leaves out
# (NQ-open train, PIQA train); --triviaqa fetches TriviaQA's unfiltered set (about 600 MB download).
# Afterwards: rlae data check DIR
set -euo pipefail

dir=""
with_train=0
triviaqa=0
for a in "$@"; do
  case "$a" in
    --with-train) with_train=1 ;;
    --triviaqa) triviaqa=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fetch-data: unknown option $a (see --help)" >&2; exit 2 ;;
    *) [ -z "$dir" ] || { echo "fetch-data: more than one DIR given" >&2; exit 2; }; dir=$a ;;
  esac
done
dir=${dir:-${RLAE_DATA_DIR:-./data}}
mkdir -p "$dir"

if command -v curl >/dev/null; then
  get() { curl -fL --retry 3 -o "$2" "$1"; }
elif command -v wget >/dev/null; then
  get() { wget -q -O "$2" "$1"; }
else
  echo "fetch-data: needs curl or wget" >&2; exit 1
fi

# fetch URL REL [SHA256]: downloads to DIR/REL via a temp file; verifies the sum when given.
fetch() {
  local url=$1 rel=$2 sum=${3:-} dst="$dir/$2"
  if [ -f "$dst" ] && { [ -z "$sum" ] || echo "$sum  $dst" | sha256sum -c --status; }; then
    echo "ok       $rel"; return
  fi
  mkdir -p "$(dirname "$dst")"
  echo "fetching $rel"
  get "$url" "$dst.part"
  if [ -n "$sum" ] && ! echo "$sum  $dst.part" | sha256sum -c --status; then
    echo "fetch-data: $rel: sha256 mismatch (expected $sum); the source changed or the download is" \
         "corrupt. Left as $dst.part." >&2
    exit 1
  fi
  mv "$dst.part" "$dst"
}

# GSM8K: openai/grade-school-math
gsm=https://raw.githubusercontent.com/openai/grade-school-math/3101c7d5072418e28b9008a6636bde82a006892c/grade_school_math/data
fetch "$gsm/test.jsonl" gsm8k/test.jsonl 3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14
fetch "$gsm/train.jsonl" gsm8k/train.jsonl 17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465

# ARC: AI2's ARC-V1-Feb2018 JSONL files, as vendored in RazvanDu/TemporalRNNs at 799e65e
arc=https://raw.githubusercontent.com/RazvanDu/TemporalRNNs/799e65e48c0cc2bdf2780a13bbb4830f46139581
fetch "$arc/ARC-Challenge/ARC-Challenge-Test.jsonl" arc/ARC-Challenge/ARC-Challenge-Test.jsonl \
  9fa8ffb3e3a1f88cb302d53dd95aae81e39209ad9bcf974376b319d8fd35717c
fetch "$arc/ARC-Challenge/ARC-Challenge-Dev.jsonl" arc/ARC-Challenge/ARC-Challenge-Dev.jsonl \
  55224364abd2477f66a9a57c5cbef109fb71d83019aa5e37aec0e7ab757746ca
fetch "$arc/ARC-Challenge/ARC-Challenge-Train.jsonl" arc/ARC-Challenge/ARC-Challenge-Train.jsonl \
  e02837c53ee86f6d73c259f91c77725c5062ef4531130b7f473a9d9b01118a77
fetch "$arc/ARC-Easy/ARC-Easy-Test.jsonl" arc/ARC-Easy/ARC-Easy-Test.jsonl \
  ce32a0774b4beb1977d2c6b16dda5dd2b24fdc9c7f506882c452678676bd09be
fetch "$arc/ARC-Easy/ARC-Easy-Dev.jsonl" arc/ARC-Easy/ARC-Easy-Dev.jsonl \
  f4364b808a68df6bf500ce1070fb0105d40cacd2391c210deb00ff83ba75d1f4
fetch "$arc/ARC-Easy/ARC-Easy-Train.jsonl" arc/ARC-Easy/ARC-Easy-Train.jsonl \
  c62e5482d8c01f2d5a7f24239ac9db3b12f9e47267c4e3f088c6ffe41d5545ef

# MMLU: the authors' data.tar (dev/val/test; auxiliary_train is not used)
if [ ! -d "$dir/mmlu/test" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "fetching mmlu (data.tar)"
  get https://people.eecs.berkeley.edu/~hendrycks/data.tar "$tmp/data.tar"
  tar -xf "$tmp/data.tar" -C "$tmp"
  mkdir -p "$dir/mmlu"
  for part in dev val test README.txt possibly_contaminated_urls.txt; do
    if [ -e "$tmp/data/$part" ]; then cp -r "$tmp/data/$part" "$dir/mmlu/"; fi
  done
  rm -rf "$tmp"
  trap - EXIT
else
  echo "ok       mmlu/"
fi
# The checksum SOURCE.md records: all files concatenated in sorted path order.
got=$(cd "$dir/mmlu" && find . -type f ! -name SOURCE.md | LC_ALL=C sort | xargs cat | sha256sum | cut -d' ' -f1)
[ "$got" = abe74e4611f7e18974758b8a917a1c4ba2dad0f75fecee4d7deed774b3d3e89b ] ||
  echo "fetch-data: warning: mmlu/ concatenated sha256 is $got, not the recorded abe74e46...; check" \
       "the counts with 'rlae data check' (test 14042, val 1531, dev 285)" >&2

# PIQA: ybisk/ybisk.github.io (the files the PIQA page links to)
piqa=https://raw.githubusercontent.com/ybisk/ybisk.github.io/21edab439af693b961be2f069e8690a88d3b4e37/piqa/data
fetch "$piqa/valid.jsonl" piqa/valid.jsonl 93503cc97c679e459b065c3d13e848282e44b2a25213985bed3e5d458abef72d
fetch "$piqa/valid-labels.lst" piqa/valid-labels.lst b4192dc3a2a0363d9d60ccf79800cbbe2f32ebb17726efdde6970e0b8131bceb
fetch "$piqa/tests.jsonl" piqa/tests.jsonl 402f1e2e61347db773e6e5e0a6b24f97396b59f6fd046dcdcbc12f483ac8553b
if [ $with_train -eq 1 ]; then
  fetch "$piqa/train.jsonl" piqa/train.jsonl
  fetch "$piqa/train-labels.lst" piqa/train-labels.lst
fi

# HellaSwag validation, derived text form (llama.cpp's --hellaswag input), kept bzip2-compressed
fetch https://raw.githubusercontent.com/klosax/hellaswag_text_data/1105d370f8340eac3c63a91fd1fa58e8999f9505/hellaswag_val_full.txt.bz2 \
  hellaswag/hellaswag_val_full.txt.bz2 50b637899e4263c2bc456c2dc726c95d2c8cd8e2a552ea5bd7719ce3cb03fe5b

# NQ-open: google-research-datasets/natural-questions
nq=https://raw.githubusercontent.com/google-research-datasets/natural-questions/fb26a3073b1fe636c97302890a27b491d6530130/nq_open
fetch "$nq/NQ-open.dev.jsonl" nq_open/NQ-open.dev.jsonl f15567f38099f3615f5b8a685c0aef449c11ad90d3da3735e8d1b98115b40616
fetch "$nq/NQ-open.efficientqa.dev.1.1.jsonl" nq_open/NQ-open.efficientqa.dev.1.1.jsonl \
  0ad45e2fa9fd32d10b3cf08c63e6d22f97ba1a0ce44ea98040f4c18bce7e268d
fetch "$nq/NQ-open.efficientqa.test.1.1.jsonl" nq_open/NQ-open.efficientqa.test.1.1.jsonl \
  c37b3cb2069632dfef219fa770d7910ac77ff6d12a08e8f3d5f058b388aca8a6
if [ $with_train -eq 1 ]; then
  fetch "$nq/NQ-open.train.jsonl" nq_open/NQ-open.train.jsonl
fi

# TriviaQA (unfiltered, the open-domain setting): official archive from the University of Washington
if [ $triviaqa -eq 1 ]; then
  if [ ! -f "$dir/triviaqa/unfiltered-web-dev.json" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "fetching triviaqa (triviaqa-unfiltered.tar.gz)"
    get https://nlp.cs.washington.edu/triviaqa/data/triviaqa-unfiltered.tar.gz "$tmp/tq.tar.gz"
    tar -xzf "$tmp/tq.tar.gz" -C "$tmp"
    mkdir -p "$dir/triviaqa"
    mv "$tmp"/triviaqa-unfiltered/unfiltered-web-*.json "$dir/triviaqa/"
    rm -rf "$tmp"
    trap - EXIT
  else
    echo "ok       triviaqa/"
  fi
fi

echo "done: $dir. Check it with: rlae data check $dir"
