#!/usr/bin/env python3
"""Table of GuideLLM vs tokenscope runs made by compare.sh.

Usage: summarize.py OUT_DIR
Reads OUT_DIR/guidellm-<rep>.json (GuideLLM report) and OUT_DIR/tokenscope-<rep>.json (tokenscope report).

Field mapping (both in ms / tokens per second):
  tool        out tok/s                                 TTFT p50/p99/mean            ITL p50                   TPOT p50                    failed
  guidellm    metrics.output_tokens_per_second          metrics.time_to_first_token  metrics.inter_token_      metrics.time_per_output_    request_totals.errored
              .successful.mean (= output tokens of      _ms.successful.{percentiles  latency_ms.successful     token_ms.successful         (+ .incomplete)
              successful requests / window)             .p50,.p99,mean}              .percentiles.p50          .percentiles.p50
  tokenscope  output_tokens_per_s                       ttft_ms.{p50,p99,mean}       itl_ms.p50                tpot_ms.p50                 requests_failed
NB: GuideLLM's TPOT is request latency / output tokens (TTFT included); tokenscope's tpot_ms is whatever its
report defines (vLLM's: (e2e - ttft) / (output - 1)), so compare ITL first.
"""

import glob
import json
import os
import re
import statistics
import sys


def _get(d, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return default
        d = d[p]
    return d


def guidellm_row(path):
    d = json.load(open(path))
    b = d["benchmarks"][0]
    m = b["metrics"]

    def s(name, stat):
        x = _get(m, name, "successful")
        if x is None:
            return None
        return x["mean"] if stat == "mean" else x["percentiles"][stat]

    totals = m["request_totals"]
    return {
        "out_tps": _get(m, "output_tokens_per_second", "successful", "mean"),
        "req_s": _get(m, "requests_per_second", "successful", "mean"),
        "ttft_p50": s("time_to_first_token_ms", "p50"),
        "ttft_p99": s("time_to_first_token_ms", "p99"),
        "ttft_mean": s("time_to_first_token_ms", "mean"),
        "itl_p50": s("inter_token_latency_ms", "p50"),
        "itl_mean": s("inter_token_latency_ms", "mean"),
        "tpot_p50": s("time_per_output_token_ms", "p50"),
        "ok": totals["successful"],
        "failed": totals["errored"] + totals.get("incomplete", 0),
        "in_tok": _get(m, "prompt_token_count", "successful", "mean"),
        "out_tok": _get(m, "output_token_count", "successful", "mean"),
        "dur": b.get("duration"),
    }


def _tokenscope_report(d):
    if "output_tokens_per_s" in d:
        return d
    for key in ("report", "run", "result"):
        if isinstance(d.get(key), dict) and "output_tokens_per_s" in d[key]:
            return d[key]
    for key in ("steps", "reports", "runs"):
        if isinstance(d.get(key), list) and d[key]:
            r = _tokenscope_report(d[key][0])
            if r:
                return r
    return None


def tokenscope_row(path):
    r = _tokenscope_report(json.load(open(path)))
    if r is None:
        raise ValueError(f"{path}: no output_tokens_per_s in the report")
    ok = r.get("requests_completed") or 0
    return {
        "out_tps": r.get("output_tokens_per_s"),
        "req_s": r.get("requests_per_s"),
        "ttft_p50": _get(r, "ttft_ms", "p50"),
        "ttft_p99": _get(r, "ttft_ms", "p99"),
        "ttft_mean": _get(r, "ttft_ms", "mean"),
        "itl_p50": _get(r, "itl_ms", "p50"),
        "itl_mean": _get(r, "itl_ms", "mean"),
        "tpot_p50": _get(r, "tpot_ms", "p50"),
        "ok": ok,
        "failed": r.get("requests_failed"),
        "in_tok": (r["input_tokens"] / ok) if ok and r.get("input_tokens") is not None else None,
        "out_tok": (r["output_tokens"] / ok) if ok and r.get("output_tokens") is not None else None,
        "dur": r.get("duration_s"),
    }


COLS = [("out_tps", "out tok/s", 9, 1), ("req_s", "req/s", 6, 2), ("ttft_p50", "TTFT p50", 9, 1),
        ("ttft_p99", "TTFT p99", 9, 1), ("ttft_mean", "TTFT mean", 9, 1), ("itl_p50", "ITL p50", 8, 2),
        ("itl_mean", "ITL mean", 8, 2), ("tpot_p50", "TPOT p50", 8, 2), ("ok", "ok", 4, 0),
        ("failed", "failed", 6, 0), ("in_tok", "in/req", 7, 1), ("out_tok", "out/req", 7, 1)]


def fmt(v, w, dec):
    if v is None:
        return "-".rjust(w)
    return f"{v:{w}.{dec}f}" if dec else f"{int(v):{w}d}"


def main():
    out = sys.argv[1]
    rows = []
    for tool, fn in (("guidellm", guidellm_row), ("tokenscope", tokenscope_row)):
        paths = [p for p in glob.glob(os.path.join(out, f"{tool}-*.json"))
                 if re.search(rf"/{tool}-\d+\.json$", p)]
        for p in sorted(paths, key=lambda p: int(re.search(r"-(\d+)\.json$", p).group(1))):
            rep = int(re.search(r"-(\d+)\.json$", p).group(1))
            try:
                rows.append((tool, str(rep), fn(p)))
            except Exception as e:  # noqa: BLE001
                print(f"# {p}: {e}", file=sys.stderr)
    head = f"{'tool':<10} {'rep':>4} " + " ".join(h.rjust(w) for _, h, w, _ in COLS)
    print(head)
    print("-" * len(head))
    for tool, rep, r in rows:
        print(f"{tool:<10} {rep:>4} " + " ".join(fmt(r[k], w, d) for k, _, w, d in COLS))
    print("-" * len(head))
    means = {}
    for tool in ("guidellm", "tokenscope"):
        rs = [r for t, _, r in rows if t == tool]
        if not rs:
            continue
        mean, spread = {}, {}
        for k, _, _, _ in COLS:
            vals = [r[k] for r in rs if r[k] is not None]
            mean[k] = statistics.fmean(vals) if vals else None
            # spread: (max - min) / mean, in percent
            spread[k] = (100 * (max(vals) - min(vals)) / mean[k]) if len(vals) > 1 and mean[k] else None
        means[tool] = mean
        print(f"{tool:<10} {'mean':>4} " + " ".join(fmt(mean[k], w, d) for k, _, w, d in COLS))
        print(f"{tool:<10} {'sprd':>4} " + " ".join(
            (fmt(spread[k], w - 1, 1) + "%") if spread[k] is not None else "-".rjust(w) for k, _, w, _ in COLS))
    if len(means) == 2:
        g, t = means["guidellm"], means["tokenscope"]
        print(f"{'ts/gl':<10} {'ratio':>4} " + " ".join(
            fmt(t[k] / g[k], w, 3) if g[k] and t[k] is not None else "-".rjust(w) for k, _, w, _ in COLS))
    print("(sprd = (max-min)/mean over reps; ratio = tokenscope mean / guidellm mean; times in ms)")


if __name__ == "__main__":
    main()
