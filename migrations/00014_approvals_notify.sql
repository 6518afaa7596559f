-- +goose Up
-- Every replica counts the change requests waiting for a decision from a copy of the
-- pending ones kept in memory, and drops that copy when told to on the console_approvals
-- channel. The triggers tell it on every write path — the web layer, the expiry job,
-- another replica, a hand-written statement — so no caller has to remember to. The payload
-- names nothing ('*'): every change drops the whole copy. The row triggers stay silent on
-- a statement that changed nothing (the expiry job's usual run), and PostgreSQL folds the
-- identical notifications of one transaction into one, delivered at commit.

-- +goose StatementBegin
CREATE FUNCTION notify_approvals_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('console_approvals', '*');
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER approval_requests_notify AFTER INSERT OR UPDATE OR DELETE ON approval_requests
    FOR EACH ROW EXECUTE FUNCTION notify_approvals_change();
CREATE TRIGGER approval_requests_notify_truncate AFTER TRUNCATE ON approval_requests
    FOR EACH STATEMENT EXECUTE FUNCTION notify_approvals_change();

-- +goose Down
DROP TRIGGER approval_requests_notify_truncate ON approval_requests;
DROP TRIGGER approval_requests_notify ON approval_requests;
DROP FUNCTION notify_approvals_change();
