#!/usr/bin/env python3
"""How often the random-weight model ends a generation early at an end-of-generation token.
Sends N non-streaming /v1/completions requests of max_tokens O with ignore_eos false, then true, 4 at a time.
Usage: eos_rate.py PORT [N=100] [O=64]"""
import collections, json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor

port = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 100; o = int(sys.argv[3]) if len(sys.argv) > 3 else 64

def one(args):
    i, ignore = args
    body = {"prompt": f"Request {i}: tell me about the weather in the city and the river.", "max_tokens": o,
            "ignore_eos": ignore, "cache_prompt": False}
    r = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", data=json.dumps(body).encode(),
                               headers={"Content-Type": "application/json"})
    d = json.load(urllib.request.urlopen(r, timeout=600))
    return d["choices"][0]["finish_reason"], d["usage"]["completion_tokens"]

for ignore in (False, True):
    with ThreadPoolExecutor(4) as ex:
        res = list(ex.map(one, [(i, ignore) for i in range(n)]))
    c = collections.Counter(f for f, _ in res)
    short = [t for _, t in res if t < o]
    print(f"ignore_eos={str(ignore).lower():5}: {n} requests of max_tokens {o}: finish_reason {dict(c)}; "
          f"{len(short)} ended early ({100 * len(short) / n:.0f}%), mean output {sum(t for _, t in res) / n:.1f} tokens")
