-- +goose Up
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE operators (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email            citext NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
    name             text   NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role             text   NOT NULL CHECK (role IN ('support', 'admin', 'auditor')),
    password_hash    text   NOT NULL,
    disabled         boolean NOT NULL DEFAULT false,
    failed_signins   integer NOT NULL DEFAULT 0,
    locked_until     timestamptz,
    last_signin_at   timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE operators;
