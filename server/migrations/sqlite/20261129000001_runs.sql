-- Every benchmark run, CLI or dashboard. Specs, reports and summaries are JSON documents of app::protocol types.
CREATE TABLE IF NOT EXISTS runs (
    id            TEXT PRIMARY KEY NOT NULL,   -- unguessable, URL-safe
    name          TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,               -- running | completed | failed | stopped | interrupted
    created_at_ms INTEGER NOT NULL,            -- Unix epoch, milliseconds
    ended_at_ms   INTEGER,
    spec_json     TEXT NOT NULL,
    report_json   TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at_ms DESC);
