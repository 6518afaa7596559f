-- +goose NO TRANSACTION
-- +goose Up
-- The audit log at scale: an action together with an outcome ("customer.view" that
-- failed, "customer.update" still pending) is read in seq order from one index. With only
-- the two single-column indexes a rare or impossible pair made the planner walk every
-- event of the action (or of the outcome) looking for a match: seconds at 10M events.
--
-- Built CONCURRENTLY, outside a transaction, so appends to a large log go on meanwhile.
-- If the build fails it leaves an INVALID index; the next run drops and builds it again.
DROP INDEX CONCURRENTLY IF EXISTS audit_events_action_outcome_idx;
CREATE INDEX CONCURRENTLY audit_events_action_outcome_idx ON audit_events (action, outcome, seq DESC);

-- The planner takes action and outcome for independent and so expects an impossible pair
-- (a customer.view is never pending) to match thousands of events, and walks the primary
-- key for them. Statistics on the pair (filled by ANALYZE, and by autovacuum's) tell it
-- which pairs occur and how often, so it reads the index above instead.
CREATE STATISTICS IF NOT EXISTS audit_events_action_outcome_stats (mcv) ON action, outcome FROM audit_events;
-- A large log is analyzed now, so the new statistics count at once. A small or empty one is
-- left to autovacuum: statistics taken of an empty table tell the planner it stays empty,
-- and plans cached meanwhile read the growing log badly (measured: the customer timeline
-- query 0.05 -> 0.44 ms on a fresh database under load).
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_events OFFSET 100000) THEN
        ANALYZE audit_events;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP STATISTICS IF EXISTS audit_events_action_outcome_stats;
DROP INDEX CONCURRENTLY IF EXISTS audit_events_action_outcome_idx;
