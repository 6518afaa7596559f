-- +goose Up
-- Server-side sessions. The cookie carries an opaque id; only its SHA-256 is stored, so
-- a copy of this table does not let anyone sign in.
CREATE TABLE sessions (
    id_hash      bytea PRIMARY KEY,
    operator_id  bigint REFERENCES operators (id) ON DELETE CASCADE,
    data         jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_operator_idx ON sessions (operator_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
