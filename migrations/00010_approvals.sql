-- +goose Up
-- Four-eyes change requests: a change one operator asked for, waiting for (or past)
-- another operator's decision. The audit log holds the legal record (request, decision,
-- execution, each naming "request #N"); request_seq and decision_seq link this row to the
-- request's event and to the decision's intent, around which the execution's rows sit.
CREATE TABLE approval_requests (
    id                 bigserial PRIMARY KEY,
    action             text NOT NULL CHECK (action IN ('settings', 'customer.email', 'customer.erase', 'operator.role')),
    target_type        text NOT NULL,
    target_id          text NOT NULL,
    target_label       text NOT NULL DEFAULT '',
    changes            jsonb NOT NULL DEFAULT '[]',
    payload            jsonb NOT NULL DEFAULT '{}',
    fingerprint        text NOT NULL DEFAULT '',
    reason             text NOT NULL,
    requested_by       bigint NOT NULL REFERENCES operators (id),
    requested_by_email text NOT NULL,
    requested_at       timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL CHECK (expires_at > requested_at),
    state              text NOT NULL DEFAULT 'pending'
                       CHECK (state IN ('pending', 'approved', 'rejected', 'expired', 'executed', 'failed')),
    decided_by         bigint REFERENCES operators (id),
    decided_by_email   text NOT NULL DEFAULT '',
    comment            text NOT NULL DEFAULT '',
    decided_at         timestamptz,
    outcome            text NOT NULL DEFAULT '',
    request_seq        bigint,
    decision_seq       bigint,
    CHECK (state IN ('pending', 'expired') OR decided_at IS NOT NULL),
    CHECK (state <> 'rejected' OR comment <> '')
);
CREATE INDEX approval_requests_pending_idx ON approval_requests (expires_at) WHERE state = 'pending';
CREATE INDEX approval_requests_requested_by_idx ON approval_requests (requested_by, requested_at DESC);
CREATE INDEX approval_requests_decided_idx ON approval_requests (decided_at DESC) WHERE decided_at IS NOT NULL;

-- +goose Down
DROP TABLE approval_requests;
