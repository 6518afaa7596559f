-- +goose Up
-- The audit log: append-only and hash-chained (see internal/audit).
--
-- Each row's hash is SHA-256(prev_hash || canonical encoding of the row); the first row's
-- prev_hash is 32 zero bytes. seq is gap-free: appends take pg_advisory_xact_lock on the
-- key in internal/audit (lockKey), read the last (seq, hash), insert seq+1 and commit.
-- detail, before and after use the json type (not jsonb) so the stored text is byte-exact
-- and the hash recomputes; cast to jsonb in queries when needed.
--
-- Least privilege in production. Triggers below reject UPDATE, DELETE and TRUNCATE for
-- every role, the owner included, but an owner (or superuser) can still drop or disable
-- them. So run the migrations as an owner role and the console as a role that holds only
-- INSERT and SELECT on this table:
--
--   CREATE ROLE console_app LOGIN PASSWORD '...';   -- not the owner of any table
--   GRANT SELECT, INSERT ON audit_events TO console_app;
--   -- (plus whatever the other tables need; never UPDATE, DELETE, TRUNCATE,
--   --  REFERENCES or TRIGGER on audit_events, and never ownership)
--
-- internal/audit's TestLeastPrivilegeRole creates such a role and proves that it can append
-- and verify but cannot UPDATE, DELETE or TRUNCATE.
CREATE TABLE audit_events (
    seq             bigint      PRIMARY KEY CHECK (seq > 0),
    occurred_at     timestamptz NOT NULL,
    actor_id        bigint,
    actor_email     text        NOT NULL DEFAULT '',
    actor_role      text        NOT NULL DEFAULT '',
    action          text        NOT NULL CHECK (action ~ '^[a-z]+\.[a-z_]+$'),
    target_type     text        NOT NULL DEFAULT '',
    target_id       text        NOT NULL DEFAULT '',
    target_label    text        NOT NULL DEFAULT '',
    reason          text        NOT NULL DEFAULT '',
    outcome         text        NOT NULL
        CHECK (outcome IN ('pending', 'succeeded', 'failed', 'denied', 'unknown')),
    detail          json        NOT NULL DEFAULT '{}',
    before          json,
    after           json,
    upstream_status integer,
    upstream_error  text        NOT NULL DEFAULT '',
    trace_id        text        NOT NULL DEFAULT '',
    request_id      text        NOT NULL DEFAULT '',
    client_ip       text        NOT NULL DEFAULT '',
    user_agent      text        NOT NULL DEFAULT '',
    intent_seq      bigint      REFERENCES audit_events (seq) CHECK (intent_seq < seq),
    prev_hash       bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash            bytea       NOT NULL CHECK (octet_length(hash) = 32)
);

-- The auditor screens page by seq (keyset, newest first) with combinable filters, so the
-- filter indexes carry seq DESC last.
CREATE INDEX audit_events_time_idx    ON audit_events (occurred_at DESC, seq DESC);
CREATE INDEX audit_events_actor_email_idx ON audit_events (actor_email, seq DESC);
CREATE INDEX audit_events_actor_id_idx    ON audit_events (actor_id, seq DESC) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_events_action_idx  ON audit_events (action, seq DESC);
CREATE INDEX audit_events_target_idx  ON audit_events (target_type, target_id, seq DESC);
CREATE INDEX audit_events_outcome_idx ON audit_events (outcome, seq DESC);
CREATE INDEX audit_events_request_idx ON audit_events (request_id, seq DESC) WHERE request_id <> '';
-- Finding intents without an outcome: the open candidates, and the outcomes that close them.
CREATE INDEX audit_events_intent_seq_idx ON audit_events (intent_seq) WHERE intent_seq IS NOT NULL;
CREATE INDEX audit_events_pending_idx    ON audit_events (occurred_at, seq) WHERE outcome = 'pending';

-- +goose StatementBegin
CREATE FUNCTION audit_events_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit events are never changed or removed; append a new event instead.';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_events_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_reject_change();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_reject_change();

REVOKE ALL ON audit_events FROM PUBLIC;

-- +goose Down
DROP TABLE audit_events;
DROP FUNCTION audit_events_reject_change();
