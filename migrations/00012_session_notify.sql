-- +goose Up
-- Every replica keeps the sessions it has validated in memory and drops them when told to on
-- the console_sessions channel. The triggers tell it on every write path — the web layer,
-- the CLI, another replica, a hand-written statement — so no caller has to remember to. A
-- payload names a session by the hex of its stored SHA-256 (never the id itself), an
-- operator as 'op:<id>', or everything as '*'. Notifications are delivered at commit.

-- +goose StatementBegin
CREATE FUNCTION notify_session_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('console_sessions', '*');
        RETURN NULL;
    END IF;
    PERFORM pg_notify('console_sessions', encode(OLD.id_hash, 'hex'));
    IF TG_OP = 'UPDATE' AND NEW.id_hash <> OLD.id_hash THEN
        PERFORM pg_notify('console_sessions', encode(NEW.id_hash, 'hex'));
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION notify_operator_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('console_sessions', '*');
        RETURN NULL;
    END IF;
    PERFORM pg_notify('console_sessions', 'op:' || OLD.id);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER sessions_notify AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION notify_session_change();
CREATE TRIGGER sessions_notify_truncate AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION notify_session_change();
CREATE TRIGGER operators_notify AFTER UPDATE OR DELETE ON operators
    FOR EACH ROW EXECUTE FUNCTION notify_operator_change();
CREATE TRIGGER operators_notify_truncate AFTER TRUNCATE ON operators
    FOR EACH STATEMENT EXECUTE FUNCTION notify_operator_change();

-- +goose Down
DROP TRIGGER operators_notify_truncate ON operators;
DROP TRIGGER operators_notify ON operators;
DROP TRIGGER sessions_notify_truncate ON sessions;
DROP TRIGGER sessions_notify ON sessions;
DROP FUNCTION notify_operator_change();
DROP FUNCTION notify_session_change();
