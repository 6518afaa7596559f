-- +goose Up
-- Form drafts: what an operator typed into a form, kept so that a session ending mid-form
-- loses nothing. One draft per operator and form page; fields are [{"name","value"}] in
-- form order, never a password or secret (the web layer filters them before storing).
-- A draft is deleted when its form is saved, when it is discarded, and past expires_at.
CREATE TABLE drafts (
    operator_id bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    page        text NOT NULL,
    action      text NOT NULL,
    fields      jsonb NOT NULL,
    saved_at    timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (operator_id, page)
);
CREATE INDEX drafts_expires_idx ON drafts (expires_at);

-- +goose Down
DROP TABLE drafts;
