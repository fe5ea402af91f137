-- PostgreSQL twin of ../sqlite/20261201000001_series.sql: BIGINT for INTEGER, DOUBLE PRECISION for REAL, plain
-- tables for WITHOUT ROWID. `warmup` stays a 0 | 1 integer so one set of queries serves both databases.
ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN tags_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE runs ADD COLUMN telemetry_json TEXT;          -- app::protocol::gpu::TelemetryStatus during the run

-- One row per closed 1 s window (app::protocol::event::WindowStats as JSON).
CREATE TABLE IF NOT EXISTS run_windows (
    run_id      TEXT NOT NULL,
    step        BIGINT NOT NULL,
    t_end_ms    BIGINT NOT NULL,               -- end of the window, ms since the run (step) started
    unix_ms     BIGINT NOT NULL,               -- end of the window, Unix epoch ms (the axis shared with GPU samples)
    window_json TEXT NOT NULL,
    PRIMARY KEY (run_id, step, t_end_ms)
);

-- GPU samples taken while the run was live (app::protocol::gpu::GpuSample as JSON), one row per GPU per tick.
CREATE TABLE IF NOT EXISTS run_gpu_samples (
    run_id      TEXT NOT NULL,
    gpu_index   BIGINT NOT NULL,
    unix_ms     BIGINT NOT NULL,
    sample_json TEXT NOT NULL,
    PRIMARY KEY (run_id, gpu_index, unix_ms)
);

-- One row per request (app::protocol::event::RequestRecord), as columns for exports and distributions.
CREATE TABLE IF NOT EXISTS run_requests (
    run_id           TEXT NOT NULL,
    step             BIGINT NOT NULL,
    idx              BIGINT NOT NULL,          -- request index within the step, warmup included
    t_send_ms        DOUBLE PRECISION NOT NULL, -- ms since the step started (scheduled send for a rate load)
    scheduler_lag_ms DOUBLE PRECISION NOT NULL,
    ttft_ms          DOUBLE PRECISION,
    e2e_ms           DOUBLE PRECISION,
    tpot_ms          DOUBLE PRECISION,
    output_tokens    BIGINT NOT NULL,
    input_tokens     BIGINT NOT NULL,
    token_source     TEXT NOT NULL,            -- usage | chunks
    warmup           BIGINT NOT NULL,          -- 0 | 1
    error_class      TEXT,                     -- app::protocol::record::ErrorClass, NULL when it succeeded
    error_status     BIGINT,
    error_message    TEXT,
    PRIMARY KEY (run_id, step, idx)
);

CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
