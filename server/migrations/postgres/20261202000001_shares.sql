-- PostgreSQL twin of ../sqlite/20261202000001_shares.sql.
-- Share links (issue 6): an unguessable id that opens one run or a comparison of runs, until revoked.
CREATE TABLE IF NOT EXISTS shares (
    id            TEXT PRIMARY KEY NOT NULL,   -- unguessable, URL-safe (made by the caller)
    kind          TEXT NOT NULL,               -- run | compare
    run_ids_json  TEXT NOT NULL,               -- JSON array of run ids
    label         TEXT NOT NULL DEFAULT '',
    created_at_ms BIGINT NOT NULL,             -- Unix epoch, milliseconds
    revoked_at_ms BIGINT                       -- NULL while the link works
);
CREATE INDEX IF NOT EXISTS shares_created ON shares (created_at_ms DESC);
