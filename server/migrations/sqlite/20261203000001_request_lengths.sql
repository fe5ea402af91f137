-- Measurement truth (issue 13): each request's asked-for output length (max_tokens) beside the received one, and
-- whether it had to be sent again after the server had closed its pooled connection.
ALTER TABLE run_requests ADD COLUMN requested_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_requests ADD COLUMN retried INTEGER NOT NULL DEFAULT 0;
