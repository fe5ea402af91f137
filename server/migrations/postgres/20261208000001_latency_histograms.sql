-- PostgreSQL twin of ../sqlite/20261208000001_latency_histograms.sql: BIGINT for INTEGER, BYTEA for BLOB, a plain
-- table for WITHOUT ROWID.
CREATE TABLE IF NOT EXISTS run_latency_histograms (
    run_id    TEXT NOT NULL,
    step      BIGINT NOT NULL,               -- sweep step index; -1: the whole run (every step merged)
    metric    TEXT NOT NULL,                 -- ttft | tpot | e2e
    samples   BIGINT NOT NULL,               -- values recorded
    histogram BYTEA NOT NULL,                -- HdrHistogram V2 encoding; values in ns, 3 significant digits
    PRIMARY KEY (run_id, step, metric)
);
