#!/usr/bin/env bash
# Start the real llama.cpp llama-server with the tiny test model, in the background.
#   end2end/real-server/serve.sh PORT [PARALLEL]
# Env: THREADS (default 1: on 2 busy cores one thread is faster and steadier than two), PROMPT_MAX (2048), OUTPUT_MAX (512), EXTRA_ARGS (more llama-server flags),
#      RS_DIR (default target/real-server), SERVER_CPUS (taskset CPU list, e.g. 0; pair with compare.sh CLIENT_CPUS=1).
# Writes its log to $RS_DIR/llama-server-PORT.log and its pid to $RS_DIR/llama-server-PORT.pid,
# waits until GET /health answers 200, prints the PID. Stop it with: kill "$(cat $RS_DIR/llama-server-PORT.pid)"
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${1:?usage: serve.sh PORT [PARALLEL]}
PARALLEL=${2:-4}
THREADS=${THREADS:-1}
RS_DIR=${RS_DIR:-target/real-server}
PROMPT_MAX=${PROMPT_MAX:-2048}
OUTPUT_MAX=${OUTPUT_MAX:-512}
BIN=$RS_DIR/bin/llama-server
MODEL=$RS_DIR/model/model.gguf
LOG=$RS_DIR/llama-server-$PORT.log
PIDFILE=$RS_DIR/llama-server-$PORT.pid
[ -x "$BIN" ] || { echo "no $BIN: run end2end/real-server/setup.sh" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "no $MODEL: run end2end/real-server/setup.sh" >&2; exit 1; }
if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null; then
  echo "port $PORT already answers /health (pid file: $(cat "$PIDFILE" 2>/dev/null || echo none))" >&2
  exit 1
fi
# every slot holds PROMPT_MAX + OUTPUT_MAX tokens (the KV cache is split evenly between slots)
CTX=$(( PARALLEL * (PROMPT_MAX + OUTPUT_MAX) ))
PIN=()
[ -n "${SERVER_CPUS:-}" ] && PIN=(taskset -c "$SERVER_CPUS")
# shellcheck disable=SC2086
setsid nohup "${PIN[@]}" "$BIN" \
  --model "$MODEL" --alias tiny-random \
  --host 127.0.0.1 --port "$PORT" \
  --parallel "$PARALLEL" --cont-batching --ctx-size "$CTX" \
  --threads "$THREADS" --threads-batch "$THREADS" \
  --metrics --no-ui \
  ${EXTRA_ARGS:-} >"$LOG" 2>&1 < /dev/null &
PID=$!
echo "$PID" > "$PIDFILE"
for _ in $(seq 1 600); do
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "llama-server exited; last lines of $LOG:" >&2; tail -20 "$LOG" >&2; exit 1
  fi
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health" 2>/dev/null || true)
  [ "$code" = 200 ] && { echo "$PID"; exit 0; }
  sleep 0.2
done
echo "llama-server (pid $PID) did not answer /health with 200 within 120 s; see $LOG" >&2
exit 1
