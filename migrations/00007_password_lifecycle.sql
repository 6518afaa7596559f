-- +goose Up
-- A password the console generated or an admin set (a new operator, an admin's reset, the
-- first admin) must be changed at the next sign-in: until then it opens only the form that
-- changes it. password_changed_at is when the operator last chose their own password.
ALTER TABLE operators
    ADD COLUMN must_change_password boolean NOT NULL DEFAULT false,
    ADD COLUMN password_changed_at  timestamptz;

-- +goose Down
ALTER TABLE operators
    DROP COLUMN password_changed_at,
    DROP COLUMN must_change_password;
