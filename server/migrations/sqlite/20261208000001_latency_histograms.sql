-- Latency distributions (issue 15): each run's TTFT, TPOT and E2E of its measured (not warmup), successful requests
-- as HDR histograms — per sweep step, and merged for the whole run — so that a CDF or a percentile is read from a few
-- kilobytes whatever the number of requests. Written when the run ends (the CLI: with its series), or built from
-- `run_requests` on the first read of a run archived before this table (or found interrupted).
CREATE TABLE IF NOT EXISTS run_latency_histograms (
    run_id    TEXT NOT NULL,
    step      INTEGER NOT NULL,              -- sweep step index; -1: the whole run (every step merged)
    metric    TEXT NOT NULL,                 -- ttft | tpot | e2e
    samples   INTEGER NOT NULL,              -- values recorded
    histogram BLOB NOT NULL,                 -- HdrHistogram V2 encoding; values in ns, 3 significant digits
    PRIMARY KEY (run_id, step, metric)
) WITHOUT ROWID;
