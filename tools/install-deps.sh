#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages rlae needs. Idempotent: packages already present are skipped.
# Works as root or through sudo. The CUDA toolkit is not installed here: it is optional, and with
# nvcc available the CUDA backend is built as well.
#
#   tools/install-deps.sh              build + tests (C libraries, compilers, MPI, h5dump, h5py and
#                                      matplotlib for tools/plot.py)
#   tools/install-deps.sh --fuzz       also clang and its libFuzzer runtime (tools/run-fuzz.sh)
#   tools/install-deps.sh --python     also the Python packages of tools/ (plots, fixture scripts;
#                                      the fixture scripts pip-install transformers/tokenizers
#                                      into a venv on top of these, see their headers)
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libyaml-dev                 # configs
  libhdf5-dev hdf5-tools      # rollout logs; h5dump in tests
  libjansson-dev              # tokenizer.json, config.json, safetensors headers
  libpcre2-dev                # tokenizer pre-tokenisation regexes
  libutf8proc-dev             # NFC normalisation
  libopenblas-dev             # CPU sgemm
  libomp-dev                  # OpenMP for clang builds (gcc ships libgomp)
  libbz2-dev                  # HellaSwag's compressed text
  libopenmpi-dev openmpi-bin  # multi-process runs
  python3-h5py python3-matplotlib  # tools/plot.py, which the tests run headless
)
for arg in "$@"; do
  case "$arg" in
    --fuzz)
      packages+=(clang)
      # libFuzzer's runtime ships with the clang version that `clang` points at.
      if command -v clang >/dev/null 2>&1; then
        major=$(clang -dumpversion | cut -d. -f1)
      else
        major=$(apt-cache depends clang 2>/dev/null | grep -oE 'clang-[0-9]+' | head -1 | cut -d- -f2)
      fi
      [ -n "${major:-}" ] && packages+=("libclang-rt-$major-dev")
      ;;
    --python) packages+=(python3 python3-venv python3-pip python3-numpy python3-h5py python3-matplotlib
                         python3-torch python3-sentencepiece) ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
