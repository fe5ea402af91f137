#!/usr/bin/env bash
# Session 2 H200 proof: the server-side charts PNG from a real GPU run (CLI --png and the dashboard's export route),
# a token-protected, base-path server with the RunPod banner, SIGTERM finalising a live GPU run, and the client's
# loopback fidelity at high concurrency with the mock on separate cores.
set -u
B=$PWD/target/release/tokenscope
LOG=$OUT/log.txt
exec 2>>"$LOG"
echo "== $(date -u) $(nvidia-smi -L) cores $(nproc)" >>"$LOG"
setsid python3 .gpu/serve.py --port 8000 --model-size 8b >"$OUT/serve_py.log" 2>&1 &
# 1. CLI run saved to the archive, with the charts PNG.
$B run --target http://127.0.0.1:8000 --ready-timeout 300s --backend generic --concurrency 32 --duration 45s \
  --warmup 32 --input-tokens 256 --output-tokens 256 --model-params 8B --db sqlite:///tmp/ts.db \
  --json "$OUT/cli_run.json" --png "$OUT/cli-charts.png" >"$OUT/cli_run.txt" 2>&1
echo "cli run exit $?" >>"$LOG"
# 2. Dashboard on 0.0.0.0 with a token, a base path, the RunPod banner.
RUNPOD_POD_ID=abc123xyz $B serve --host 0.0.0.0 --port 3000 --token h200-proof-token-0123 --base-path /pod --no-demo \
  --db sqlite:///tmp/ts.db >"$OUT/serve.log" 2>&1 &
SP=$!
H='authorization: Bearer h200-proof-token-0123'
for i in $(seq 1 40); do curl -sf localhost:3000/pod/api/health >/dev/null && break; sleep 0.5; done
curl -s -o /dev/null -w 'no token: %{http_code}\n' localhost:3000/pod/api/runs >>"$LOG"
spec='{"name":"H200 API run","target":"http://127.0.0.1:8000","load":{"kind":"concurrency","concurrency":16},"duration_s":30,"workload":{"kind":"synthetic","input_tokens":{"min":256,"max":256},"output_tokens":{"min":128,"max":128}}}'
id=$(curl -s -H "$H" -XPOST localhost:3000/pod/api/runs -H 'content-type: application/json' -d "$spec" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
echo "api run id $id" >>"$LOG"
for i in $(seq 1 200); do st=$(curl -s -H "$H" localhost:3000/pod/api/runs/$id | python3 -c 'import json,sys;print(json.load(sys.stdin)["status"])'); [ "$st" = running ] || [ "$st" = preflight ] || break; sleep 0.5; done
for f in export.json export/requests.csv export/telemetry.csv export/summary.md export/charts.png; do
  curl -s -H "$H" -o "$OUT/api-$(basename $f)" -w "$f %{http_code} %{content_type} %{size_download}\n" localhost:3000/pod/api/runs/$id/$f >>"$LOG"
done
# 3. SIGTERM while a GPU run is live: the run must be finalised as stopped.
id2=$(curl -s -H "$H" -XPOST localhost:3000/pod/api/runs -H 'content-type: application/json' -d "${spec/H200 API run/H200 SIGTERM run}" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
sleep 12; t0=$(date +%s%N); kill -TERM $SP; wait $SP; rc=$?; echo "serve exit $rc after SIGTERM in $(( ($(date +%s%N) - t0) / 1000000 )) ms" >>"$LOG"
$B serve --port 3001 --no-demo --db sqlite:///tmp/ts.db >>"$OUT/serve2.log" 2>&1 &
SP2=$!
for i in $(seq 1 40); do curl -sf localhost:3001/api/health >/dev/null && break; sleep 0.5; done
curl -s localhost:3001/api/runs/$id2 >"$OUT/sigterm_run.json"
curl -s localhost:3001/api/runs >"$OUT/runs_list.json"
kill $SP2 2>/dev/null; pkill -f serve.py
cat "$OUT/serve_py.log" | tail -5 >>"$LOG"; rm -f "$OUT/serve_py.log"
# 4. Loopback fidelity with 16 cores: mock on cores 8-15, client on 0-7.
taskset -c 8-15 $B mock --port 8100 --ttft-ms 100 --itl-ms 10 >/dev/null 2>&1 &
MP=$!
sleep 1
for c in 300 1000 2000; do
  taskset -c 0-7 $B run --target http://127.0.0.1:8100 --backend mock --concurrency $c --requests $((c*6)) --warmup $c \
    --input-tokens 32 --output-tokens 64 --no-save --json "$OUT/fidelity_c$c.json" >"$OUT/fidelity_c$c.txt" 2>&1
  echo "fidelity c=$c exit $?" >>"$LOG"
done
kill $MP
echo "== done $(date -u)" >>"$LOG"
cd "$OUT" && tar czf /tmp/all.tgz . && rm -rf "$OUT"/* && mv /tmp/all.tgz "$OUT/"
