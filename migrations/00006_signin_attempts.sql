-- +goose Up
-- Sign-in attempts per client IP per minute, shared by every replica: the per-IP sign-in
-- rate limit (internal/handlers ratelimit.go) takes an attempt with one atomic upsert, so
-- two replicas behind a proxy give an address the limit once, not once each. Windows
-- older than ten minutes are pruned.
CREATE TABLE signin_attempts (
    client_ip    text        NOT NULL,
    window_start timestamptz NOT NULL,
    attempts     integer     NOT NULL CHECK (attempts > 0),
    PRIMARY KEY (client_ip, window_start)
);
CREATE INDEX signin_attempts_window_idx ON signin_attempts (window_start);

-- +goose Down
DROP TABLE signin_attempts;
