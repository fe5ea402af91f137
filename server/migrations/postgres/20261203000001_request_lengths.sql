-- Measurement truth (issue 13): each request's asked-for output length (max_tokens) beside the received one, and
-- whether it had to be sent again after the server had closed its pooled connection.
ALTER TABLE run_requests ADD COLUMN IF NOT EXISTS requested_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE run_requests ADD COLUMN IF NOT EXISTS retried BIGINT NOT NULL DEFAULT 0;
