#!/usr/bin/env bash
# GuideLLM vs tokenscope against the same running llama-server (start it with serve.sh), interleaved:
# rep 1 runs GuideLLM then tokenscope, rep 2 tokenscope then GuideLLM, ... (cancels slow drift of the machine).
#   end2end/real-server/compare.sh PORT CONCURRENCY PROMPT_TOKENS OUTPUT_TOKENS REQUESTS REPS
# Env:
#   ENDPOINT=completions|chat   endpoint for both tools (default completions: no chat template, so the server's
#                               prompt_tokens equal PROMPT_TOKENS exactly; GuideLLM's own default is chat)
#   TOKENSCOPE                  binary (default target/release/tokenscope)
#   TOKENSCOPE_EXTRA_ARGS       more tokenscope flags (word-split)
#   ONLY=guidellm|tokenscope    run one tool only
#   CLIENT_CPUS                 taskset CPU list for both clients (e.g. 1, with the server on 0: SERVER_CPUS=0 serve.sh)
#   OUT                         result folder (default target/real-server/compare/<time>-c..-p..-o..-n..)
#   SEED                        base seed; rep r uses SEED+r for both tools (default 1000), so no rep resends the
#                               prompts of another (llama-server's prompt cache would make them cheaper)
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=end2end/real-server
PORT=${1:?usage: compare.sh PORT CONCURRENCY PROMPT_TOKENS OUTPUT_TOKENS REQUESTS REPS}
C=${2:?}; P=${3:?}; O=${4:?}; N=${5:?}; REPS=${6:?}
RS_DIR=${RS_DIR:-target/real-server}
ENDPOINT=${ENDPOINT:-completions}
TOKENSCOPE=${TOKENSCOPE:-target/release/tokenscope}
SEED=${SEED:-1000}
OUT=${OUT:-$RS_DIR/compare/$(date +%Y%m%d-%H%M%S)-c$C-p$P-o$O-n$N}
mkdir -p "$OUT"
PIN=()
[ -n "${CLIENT_CPUS:-}" ] && PIN=(taskset -c "$CLIENT_CPUS")
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" || { echo "no llama-server on port $PORT (serve.sh $PORT)" >&2; exit 1; }
echo "compare: port $PORT, concurrency $C, prompt $P, output $O, requests $N, reps $REPS, endpoint $ENDPOINT -> $OUT"

run_guidellm() {
  local rep=$1 t0
  t0=$(date +%s)
  ENDPOINT=$ENDPOINT SEED=$((SEED + rep)) RS_DIR=$RS_DIR "${PIN[@]}" "$HERE/guidellm_run.sh" \
    "$PORT" "$C" "$P" "$O" "$N" "$OUT/guidellm-$rep.json" || { echo "   guidellm rep $rep FAILED" >&2; return 0; }
  echo "   guidellm   rep $rep: $(( $(date +%s) - t0 ))s wall"
}

run_tokenscope() {
  local rep=$1 t0
  t0=$(date +%s)
  [ -x "$TOKENSCOPE" ] || { echo "   tokenscope: no binary $TOKENSCOPE (build it, or set TOKENSCOPE)" >&2; return 0; }
  # shellcheck disable=SC2086
  "${PIN[@]}" "$TOKENSCOPE" run --target "http://127.0.0.1:$PORT" --endpoint "$ENDPOINT" \
    --concurrency "$C" --input-tokens "$P" --output-tokens "$O" --requests "$N" \
    --tokenizer "$RS_DIR/model" --seed $((SEED + rep)) --no-save --json "$OUT/tokenscope-$rep.json" \
    ${TOKENSCOPE_EXTRA_ARGS:-} >"$OUT/tokenscope-$rep.log" 2>&1 \
    || echo "   tokenscope rep $rep exited $? (see $OUT/tokenscope-$rep.log)" >&2
  echo "   tokenscope rep $rep: $(( $(date +%s) - t0 ))s wall"
}

for rep in $(seq 1 "$REPS"); do
  if [ $((rep % 2)) = 1 ]; then order=(guidellm tokenscope); else order=(tokenscope guidellm); fi
  for tool in "${order[@]}"; do
    [ -n "${ONLY:-}" ] && [ "$ONLY" != "$tool" ] && continue
    "run_$tool" "$rep"
  done
done
echo
python3 "$HERE/summarize.py" "$OUT" | tee "$OUT/summary.txt"
