-- The series of each run (issue 6): 1 s windows, GPU samples and per-request records, written in batches of at most
-- one second while the run is live; plus the user's notes and tags and the GPU telemetry status of the run.
ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN tags_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE runs ADD COLUMN telemetry_json TEXT;          -- app::protocol::gpu::TelemetryStatus during the run

-- One row per closed 1 s window (app::protocol::event::WindowStats as JSON).
CREATE TABLE IF NOT EXISTS run_windows (
    run_id      TEXT NOT NULL,
    step        INTEGER NOT NULL,
    t_end_ms    INTEGER NOT NULL,              -- end of the window, ms since the run (step) started
    unix_ms     INTEGER NOT NULL,              -- end of the window, Unix epoch ms (the axis shared with GPU samples)
    window_json TEXT NOT NULL,
    PRIMARY KEY (run_id, step, t_end_ms)
) WITHOUT ROWID;

-- GPU samples taken while the run was live (app::protocol::gpu::GpuSample as JSON), one row per GPU per tick.
CREATE TABLE IF NOT EXISTS run_gpu_samples (
    run_id      TEXT NOT NULL,
    gpu_index   INTEGER NOT NULL,
    unix_ms     INTEGER NOT NULL,
    sample_json TEXT NOT NULL,
    PRIMARY KEY (run_id, gpu_index, unix_ms)
) WITHOUT ROWID;

-- One row per request (app::protocol::event::RequestRecord), as columns for exports and distributions.
CREATE TABLE IF NOT EXISTS run_requests (
    run_id           TEXT NOT NULL,
    step             INTEGER NOT NULL,
    idx              INTEGER NOT NULL,         -- request index within the step, warmup included
    t_send_ms        REAL NOT NULL,            -- ms since the step started (scheduled send for a rate load)
    scheduler_lag_ms REAL NOT NULL,
    ttft_ms          REAL,
    e2e_ms           REAL,
    tpot_ms          REAL,
    output_tokens    INTEGER NOT NULL,
    input_tokens     INTEGER NOT NULL,
    token_source     TEXT NOT NULL,            -- usage | chunks
    warmup           INTEGER NOT NULL,         -- 0 | 1
    error_class      TEXT,                     -- app::protocol::record::ErrorClass, NULL when it succeeded
    error_status     INTEGER,
    error_message    TEXT,
    PRIMARY KEY (run_id, step, idx)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
