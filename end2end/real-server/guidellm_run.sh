#!/usr/bin/env bash
# One GuideLLM benchmark against an OpenAI-compatible server: fixed concurrency, synthetic prompts of exactly
# PROMPT_TOKENS tokens (built with the local tokenizer folder, offline), OUTPUT_TOKENS output tokens forced
# with max_tokens + ignore_eos, streaming, a bounded number of requests.
#   end2end/real-server/guidellm_run.sh PORT CONCURRENCY PROMPT_TOKENS OUTPUT_TOKENS REQUESTS OUT.json
# Env: ENDPOINT=completions|chat (default completions), TOKENIZER (default target/real-server/model),
#      MODEL (default: whatever /v1/models lists), SEED (default 42), RS_DIR, GUIDELLM_LOG (console log file).
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${1:?usage: guidellm_run.sh PORT CONCURRENCY PROMPT_TOKENS OUTPUT_TOKENS REQUESTS OUT.json}
C=${2:?}; P=${3:?}; O=${4:?}; N=${5:?}; OUT=${6:?}
RS_DIR=${RS_DIR:-target/real-server}
TOKENIZER=${TOKENIZER:-$RS_DIR/model}
case "${ENDPOINT:-completions}" in
  completions) FORMAT=/v1/completions ;;
  chat) FORMAT=/v1/chat/completions ;;
  *) echo "ENDPOINT must be completions or chat" >&2; exit 2 ;;
esac
mkdir -p "$(dirname "$OUT")"
SCEN=${OUT%.json}.scenario.json
# A scenario file rather than --backend kind=...,k=v flags: same schema, nested values are unambiguous.
python3 - "$SCEN" <<EOF
import json, os, sys
spec = {
  "backend": {"kind": "openai_http", "target": "http://127.0.0.1:$PORT", "request_format": "$FORMAT",
              "stream": True, "http2": False, "validate_backend": True},
  "profile": {"kind": "concurrent", "streams": [$C]},
  "constraints": [{"kind": "max_requests", "count": $N}],
  "tokenizer": {"kind": "huggingface_auto", "model": os.path.abspath("$TOKENIZER")},
  "data": [{"kind": "synthetic_text", "prompt_tokens": $P, "output_tokens": $O}],
  "seed": {"kind": "static", "value": int("${SEED:-42}")},
  "outputs": [{"kind": "json", "path": os.path.abspath("$OUT")}],
}
if "${MODEL:-}":
    spec["backend"]["model"] = "${MODEL:-}"
json.dump({"spec": spec}, open(sys.argv[1], "w"), indent=2)
EOF
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
LOG=${GUIDELLM_LOG:-${OUT%.json}.log}
rm -f "$OUT"
"$RS_DIR/guidellm-venv/bin/guidellm" run --config "$SCEN" --disable-console-interactive >"$LOG" 2>&1 || {
  echo "guidellm failed (see $LOG):" >&2; tail -30 "$LOG" >&2; exit 1; }
[ -s "$OUT" ] || { echo "guidellm wrote no $OUT (see $LOG)" >&2; exit 1; }
