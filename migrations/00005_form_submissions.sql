-- +goose Up
-- One-time form tokens already used, shared by every replica: a form sent twice (double
-- click, resubmitted page, two replicas behind a proxy) acts once. Keys are
-- "<operator id>:<random token>"; rows older than a session's lifetime are pruned.
CREATE TABLE form_submissions (
    key        text PRIMARY KEY,
    claimed_at timestamptz NOT NULL
);
CREATE INDEX form_submissions_claimed_idx ON form_submissions (claimed_at);

-- +goose Down
DROP TABLE form_submissions;
