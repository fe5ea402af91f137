#!/usr/bin/env bash
# Issue #8: multi-GPU proof. serve.py pinned to GPU 1; GPU 0 idles. Telemetry per GPU, stored and charted per GPU,
# energy per token attributed to the selected GPUs (default: GPUs holding the target's processes).
set -u
B=$PWD/target/release/tokenscope
LOG=$OUT/log.txt
exec 2>>"$LOG"
echo "== $(date -u) cores $(nproc)" >>"$LOG"; nvidia-smi -L >>"$LOG"
nvidia-smi --query-gpu=index,name,driver_version,power.limit,memory.used --format=csv >>"$LOG"
$B gpu --once --json >"$OUT/idle.json"; echo "gpu --once exit $?" >>"$LOG"
CUDA_VISIBLE_DEVICES=1 setsid python3 .gpu/serve.py --port 8000 --model-size 8b >"$OUT/serve_py.log" 2>&1 &
$B gpu --json --interval 500ms >"$OUT/gpu_watch.jsonl" 2>>"$LOG" &
GW=$!
# Default GPU selection (GPUs holding processes during the run).
$B run --target http://127.0.0.1:8000 --ready-timeout 300s --backend generic --concurrency 32 --duration 40s \
  --warmup 32 --input-tokens 256 --output-tokens 256 --model-params 8B --db sqlite:///tmp/ts.db \
  --json "$OUT/run_default.json" --png "$OUT/run_default.png" >"$OUT/run_default.txt" 2>&1
echo "run default exit $?" >>"$LOG"
nvidia-smi --query-compute-apps=pid,process_name,used_memory,gpu_uuid --format=csv >>"$LOG"
# Explicit selection of both GPUs: same load, energy of GPU 0 (idle) added.
$B run --target http://127.0.0.1:8000 --backend generic --concurrency 32 --duration 20s --warmup 32 \
  --input-tokens 256 --output-tokens 256 --gpus 0,1 --db sqlite:///tmp/ts.db --json "$OUT/run_gpus01.json" \
  >"$OUT/run_gpus01.txt" 2>&1
echo "run --gpus 0,1 exit $?" >>"$LOG"
$B run --target http://127.0.0.1:8000 --backend generic --concurrency 32 --duration 20s --warmup 32 \
  --input-tokens 256 --output-tokens 256 --gpus 0 --db sqlite:///tmp/ts.db --json "$OUT/run_gpu0.json" \
  >"$OUT/run_gpu0.txt" 2>&1
echo "run --gpus 0 exit $?" >>"$LOG"
# The dashboard: metrics per GPU, a live API run's stored per-GPU series, the archive's series of the CLI run.
$B serve --port 3000 --no-demo --db sqlite:///tmp/ts.db >"$OUT/serve.log" 2>&1 &
SP=$!
for i in $(seq 1 40); do curl -sf localhost:3000/api/health >/dev/null && break; sleep 0.5; done
id=$(curl -s -XPOST localhost:3000/api/runs -H 'content-type: application/json' -d '{"name":"H200x2 API run, target on GPU 1","target":"http://127.0.0.1:8000","load":{"kind":"concurrency","concurrency":16},"duration_s":25,"workload":{"kind":"synthetic","input_tokens":{"min":256,"max":256},"output_tokens":{"min":128,"max":128}}}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
echo "api run id $id" >>"$LOG"
sleep 10; curl -s localhost:3000/metrics >"$OUT/metrics_loaded.txt"
for i in $(seq 1 200); do st=$(curl -s localhost:3000/api/runs/$id | python3 -c 'import json,sys;print(json.load(sys.stdin)["status"])'); [ "$st" = running ] || [ "$st" = preflight ] || break; sleep 0.5; done
curl -s localhost:3000/api/runs/$id >"$OUT/api_run.json"
curl -s localhost:3000/api/runs/$id/series >"$OUT/api_series.json"
curl -s -o "$OUT/api_charts.png" localhost:3000/api/runs/$id/export/charts.png
curl -s -o "$OUT/api_telemetry.csv" localhost:3000/api/runs/$id/export/telemetry.csv
curl -s localhost:3000/api/runs >"$OUT/runs_list.json"
kill $SP; kill $GW; pkill -f serve.py
sleep 2; cp /tmp/ts.db* "$OUT/"
tail -5 "$OUT/serve_py.log" >>"$LOG"; rm -f "$OUT/serve_py.log"
echo "== done $(date -u)" >>"$LOG"
cd "$OUT" && tar czf /tmp/all.tgz . && rm -rf "$OUT"/* && mv /tmp/all.tgz "$OUT/"
