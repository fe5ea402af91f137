#!/usr/bin/env bash
# Session 3 H200 proof (measurement truth): live windows counted as tokens arrive on a real GPU server whose
# requests take several seconds (the complaint: zeros and 2 000 tok/s spikes while the GPU made ~200 tok/s), the
# steady-state rate beside the full-window one, a sweep whose steps never repeat a prompt, failures in verdicts, and
# the dashboard's stored windows adding up to the report. Copy ../shared/gpu-target/serve.py into .gpu/ and carry
# target/release/tokenscope (stripped), target/site and .gpu.
set -u
B=$PWD/target/release/tokenscope
LOG=$OUT/log.txt
exec 2>>"$LOG"
echo "== $(date -u) $(nvidia-smi -L) cores $(nproc)" >>"$LOG"
setsid python3 .gpu/serve.py --port 8000 --model-size 8b >"$OUT/serve_py.log" 2>&1 &
# 1. Long outputs at concurrency 16 (each request ≈ 10 s): windows by arrival, steady state, energy.
$B run --target http://127.0.0.1:8000 --ready-timeout 300s --concurrency 16 --duration 40s \
  --input-tokens 256 --output-tokens 512 --model-params 8B --db sqlite:///tmp/ts.db \
  --json "$OUT/cli_long.json" --png "$OUT/cli-long-charts.png" >"$OUT/cli_long.txt" 2>&1
echo "long run exit $?" >>"$LOG"
# 2. The same through the dashboard: its stored windows must add up to the report's output tokens.
$B serve --port 3000 --no-demo --db sqlite:///tmp/ts.db >"$OUT/serve.log" 2>&1 &
SP=$!
for i in $(seq 1 40); do curl -sf localhost:3000/api/health >/dev/null && break; sleep 0.5; done
spec='{"name":"H200 arrival windows","target":"http://127.0.0.1:8000","load":{"kind":"concurrency","concurrency":16},"duration_s":30,"workload":{"kind":"synthetic","input_tokens":{"min":256,"max":256},"output_tokens":{"min":384,"max":384}}}'
id=$(curl -s -XPOST localhost:3000/api/runs -H 'content-type: application/json' -d "$spec" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
echo "api run id $id" >>"$LOG"
for i in $(seq 1 400); do st=$(curl -s localhost:3000/api/runs/$id | python3 -c 'import json,sys;print(json.load(sys.stdin)["status"])'); [ "$st" = running ] || [ "$st" = preflight ] || break; sleep 0.5; done
curl -s localhost:3000/api/runs/$id/series >"$OUT/api-series.json"
curl -s localhost:3000/api/runs/$id/export.json >"$OUT/api-export.json"
curl -s -o "$OUT/api-charts.png" localhost:3000/api/runs/$id/export/charts.png
curl -s -o "$OUT/api-requests.csv" localhost:3000/api/runs/$id/export/requests.csv
kill $SP
# 3. A sweep: fresh prompts per step (the prompt-set hash and the requests' prompt indexes differ per step).
$B run --target http://127.0.0.1:8000 --concurrency 1 --sweep 4,16,32 --requests 48 \
  --input-tokens 256 --output-tokens 128 --no-save --json "$OUT/sweep.json" >"$OUT/sweep.txt" 2>&1
echo "sweep exit $?" >>"$LOG"
pkill -f serve.py
tail -5 "$OUT/serve_py.log" >>"$LOG"; rm -f "$OUT/serve_py.log"
echo "== done $(date -u)" >>"$LOG"
cd "$OUT" && tar czf /tmp/all.tgz . && rm -rf "$OUT"/* && mv /tmp/all.tgz "$OUT/"
