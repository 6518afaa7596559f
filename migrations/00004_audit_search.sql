-- +goose Up
-- The auditor workspace (internal/audit query.go, checkpoint.go): indexes for its filters,
-- and the signed checkpoints of the chain head.
--
-- Every filter index ends in seq DESC, so a filtered page is an index range read in the
-- order the page shows (newest first) and a keyset cursor (seq < $before) starts where the
-- previous page ended: page N costs what page 1 costs.
--
-- pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it. In
-- a database where the migrating role may not, create it once as a superuser first.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Operator e-mails are matched case-insensitively, as at sign-in.
DROP INDEX audit_events_actor_email_idx;
CREATE INDEX audit_events_actor_email_idx ON audit_events (lower(actor_email), seq DESC);
-- The target filter matches a customer id / uuid (target_id) or an e-mail (target_label),
-- whatever the target type; the query reads the two indexes as two seq-ordered branches.
-- (Not partial: a generic plan for "target_id = $1" could not use a partial index.)
CREATE INDEX audit_events_target_id_idx    ON audit_events (target_id, seq DESC);
CREATE INDEX audit_events_target_label_idx ON audit_events (lower(target_label), seq DESC);
-- Text within reasons: ILIKE '%words%'.
CREATE INDEX audit_events_reason_trgm_idx  ON audit_events USING gin (reason gin_trgm_ops);

-- Signed checkpoints: (seq, hash) of the chain head at a time, signed with an Ed25519 key
-- held outside the database. Append-only like audit_events. seq is not a foreign key:
-- a checkpoint must outlive the rows it vouches for, so that their removal shows.
CREATE TABLE audit_checkpoints (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq        bigint      NOT NULL CHECK (seq >= 0),
    hash       bytea       NOT NULL CHECK (octet_length(hash) = 32),
    created_at timestamptz NOT NULL,
    public_key bytea       NOT NULL CHECK (octet_length(public_key) = 32),
    signature  bytea       NOT NULL CHECK (octet_length(signature) = 64)
);

-- +goose StatementBegin
CREATE FUNCTION audit_checkpoints_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_checkpoints is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Checkpoints are never changed or removed; record a new one instead.';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_checkpoints_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_reject_change();

CREATE TRIGGER audit_checkpoints_no_truncate
    BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_reject_change();

-- In production grant the console's role only SELECT and INSERT here, as on audit_events:
--   GRANT SELECT, INSERT ON audit_checkpoints TO console_app;
REVOKE ALL ON audit_checkpoints FROM PUBLIC;

-- +goose Down
DROP TABLE audit_checkpoints;
DROP FUNCTION audit_checkpoints_reject_change();
DROP INDEX audit_events_reason_trgm_idx;
DROP INDEX audit_events_target_label_idx;
DROP INDEX audit_events_target_id_idx;
DROP INDEX audit_events_actor_email_idx;
CREATE INDEX audit_events_actor_email_idx ON audit_events (actor_email, seq DESC);
