#!/usr/bin/env bash
# Installs every Debian/Ubuntu package that rlae's build, tests and tools/ need.
# Idempotent: packages already present are skipped. Works as root or through sudo.
# The CUDA toolkit is NOT installed here (it is optional; with nvcc on PATH the CUDA backend builds).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libyaml-dev          # configs
  libhdf5-dev          # rollout logs
  libjansson-dev       # tokenizer.json, config.json, safetensors headers
  libpcre2-dev         # tokenizer pre-tokenisation regexes
  libutf8proc-dev      # NFC normalisation
  libopenblas-dev      # CPU sgemm
  libomp-dev           # OpenMP (clang); gcc ships libgomp
  libopenmpi-dev openmpi-bin   # multi-process runs
  hdf5-tools           # h5dump in tests
)
if [ "${RLAE_WITH_PYTHON_TOOLS:-0}" = 1 ]; then
  packages+=(python3-numpy python3-h5py python3-matplotlib)
fi

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
