#!/usr/bin/env python3
"""Reproduce "connection closed before message completed" against llama-server.

A tiny keep-alive connection pool that behaves like hyper's (reqwest's) client pool:
idle connections are reused most-recent-first (LIFO) and kept up to --pool-idle-timeout
seconds (reqwest's default: 90 s). cpp-httplib inside llama-server closes a keep-alive
connection that has been idle for 5 s (CPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND) and after
100 requests (CPPHTTPLIB_KEEPALIVE_MAX_COUNT, announced with "Connection: close").

Each of --concurrency workers sends streaming /v1/completions requests in a closed loop,
optionally sleeping --think MIN..MAX seconds between its requests (which is what leaves
connections idle for ~5 s). A request that fails on a *reused* connection before any
response byte arrived is the race: the server closed the idle socket while the request
was on its way. With --retry such a request is resent once on a fresh connection.

Usage:
  keepalive_repro.py --port 8080 --concurrency 8 --requests 64            # streamed: server closes after each
  keepalive_repro.py --port 8080 --concurrency 8 --requests 64 --no-stream
  keepalive_repro.py --port 8080 --concurrency 8 --requests 80 --think 4.5..5.5
  keepalive_repro.py --port 8080 --concurrency 8 --requests 80 --think 4.5..5.5 --pool-idle-timeout 4
  keepalive_repro.py --port 8080 --concurrency 8 --requests 80 --think 4.5..5.5 --retry
  keepalive_repro.py --port 8080 --concurrency 8 --requests 64 --connection-close
"""

import argparse
import http.client
import json
import random
import signal
import threading
import time
from collections import Counter


class Pool:
    def __init__(self, host, port, idle_timeout):
        self.host, self.port, self.idle_timeout = host, port, idle_timeout
        self.idle = []  # (conn, returned_at, uses)
        self.lock = threading.Lock()
        self.opened = 0

    def get(self, fresh=False):
        now = time.monotonic()
        with self.lock:
            while self.idle and not fresh:
                conn, t, uses = self.idle.pop()  # LIFO, like hyper
                if now - t <= self.idle_timeout:
                    return conn, True, now - t, uses
                conn.close()  # expired on our side: drop it
            self.opened += 1
        conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
        conn.connect()
        return conn, False, 0.0, 0

    def put(self, conn, uses):
        with self.lock:
            self.idle.append((conn, time.monotonic(), uses))


def one_request(pool, body, fresh=False, close=False):
    conn, reused, idle_for, uses = pool.get(fresh)
    got_bytes = False
    headers = {"Content-Type": "application/json"}
    if close:
        headers["Connection"] = "close"
    try:
        conn.request("POST", "/v1/completions", body=body, headers=headers)
        resp = conn.getresponse()
        got_bytes = True
        hdr_conn = resp.getheader("Connection", "")
        hdr_ka = resp.getheader("Keep-Alive", "")
        data = resp.read()  # whole chunked body, through the terminating 0-chunk
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {data[:200]!r}")
        if resp.will_close:
            conn.close()
        else:
            pool.put(conn, uses + 1)
        return {"ok": True, "reused": reused, "idle_for": idle_for, "uses": uses + 1,
                "conn_hdr": hdr_conn, "ka_hdr": hdr_ka}
    except Exception as e:  # noqa: BLE001
        conn.close()
        return {"ok": False, "reused": reused, "idle_for": idle_for, "uses": uses,
                "before_response": not got_bytes, "error": f"{type(e).__name__}: {e}"}


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under `| head`
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--think", default="0..0", help="seconds MIN..MAX a worker waits between its requests")
    ap.add_argument("--pool-idle-timeout", type=float, default=90.0)
    ap.add_argument("--retry", action="store_true",
                    help="resend once, on a new connection, a request that failed on a reused connection "
                         "before any response byte")
    ap.add_argument("--no-stream", action="store_true", help="whole responses instead of SSE streams")
    ap.add_argument("--connection-close", action="store_true",
                    help="send 'Connection: close' (one connection per request, nothing to race)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    tmin, tmax = (float(x) for x in a.think.split(".."))
    pool = Pool(a.host, a.port, a.pool_idle_timeout)
    lock = threading.Lock()
    state = {"next": 0}
    results = []

    def worker(wid):
        wrng = random.Random(a.seed * 1000 + wid)
        while True:
            with lock:
                i = state["next"]
                if i >= a.requests:
                    return
                state["next"] += 1
            body = json.dumps({"prompt": f"request {i}: the quick brown fox jumps over the lazy dog",
                               "max_tokens": a.max_tokens, "stream": not a.no_stream,
                               "ignore_eos": True})
            r = one_request(pool, body, close=a.connection_close)
            if not r["ok"] and a.retry and r["reused"] and r["before_response"]:
                r2 = one_request(pool, body, fresh=True)
                r2["retried_after"] = r["error"]
                r = r2
            r["index"] = i
            with lock:
                results.append(r)
            if tmax > 0:
                time.sleep(wrng.uniform(tmin, tmax))

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    fails = [r for r in results if not r["ok"]]
    retried = [r for r in results if "retried_after" in r]
    print(f"requests {len(results)}  failed {len(fails)}  retried-ok {sum(r['ok'] for r in retried)}  "
          f"connections opened {pool.opened}  wall {wall:.1f}s  "
          f"(concurrency {a.concurrency}, {'whole' if a.no_stream else 'streamed'} responses, think {a.think}s, "
          f"pool idle timeout {a.pool_idle_timeout}s{', retry' if a.retry else ''}"
          f"{', Connection: close' if a.connection_close else ''})")
    for r in fails:
        print(f"  FAIL #{r['index']}: reused={r['reused']} idle_for={r['idle_for']:.3f}s uses={r['uses']} "
              f"before_response={r['before_response']} {r['error']}")
    for r in retried:
        print(f"  RETRIED #{r['index']}: first attempt: {r['retried_after']}")
    c = Counter(r.get("conn_hdr") or r.get("ka_hdr") for r in results if r["ok"])
    print("  response Connection/Keep-Alive headers:", dict(c))


if __name__ == "__main__":
    main()
