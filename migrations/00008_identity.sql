-- +goose Up
-- Operator identity: single sign-on, second factors, break-glass, and what an operator
-- sees of their sessions.
--
-- sso: the operator signs in through the OpenID provider (created there on first sign-in,
-- or a password operator an admin linked); sso_subject is the provider's issuer and
-- subject ("issuer|sub") once one sign-in has bound them. break_glass: may still sign in
-- with a password when CONSOLE_LOCAL_SIGNIN=off. webauthn_handle: the random user handle
-- passkeys are registered under (never the operator id).
ALTER TABLE operators
    ADD COLUMN sso             boolean NOT NULL DEFAULT false,
    ADD COLUMN sso_subject     text UNIQUE,
    ADD COLUMN break_glass     boolean NOT NULL DEFAULT false,
    ADD COLUMN webauthn_handle bytea UNIQUE;

-- One TOTP secret per operator, sealed (AES-GCM) with a key derived from the session
-- secret; usable once confirmed. last_step is the newest time step accepted, so a code
-- is accepted once.
CREATE TABLE operator_totp (
    operator_id  bigint PRIMARY KEY REFERENCES operators (id) ON DELETE CASCADE,
    secret       bytea NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Ten one-time recovery codes per operator, only their hashes.
CREATE TABLE operator_recovery_codes (
    operator_id bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    code_hash   bytea NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operator_id, code_hash)
);

-- Passkeys (WebAuthn credentials): the public key and counters as go-webauthn keeps them.
CREATE TABLE operator_passkeys (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator_id   bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    credential_id bytea NOT NULL UNIQUE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    credential    jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz
);
CREATE INDEX operator_passkeys_operator_idx ON operator_passkeys (operator_id);

-- What the sessions page shows: a reference to end a session by (never the id or its
-- hash), where and with what it was started, and how.
ALTER TABLE sessions
    ADD COLUMN ref         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    ADD COLUMN client_ip   text NOT NULL DEFAULT '',
    ADD COLUMN user_agent  text NOT NULL DEFAULT '',
    ADD COLUMN auth_method text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sessions
    DROP COLUMN auth_method,
    DROP COLUMN user_agent,
    DROP COLUMN client_ip,
    DROP COLUMN ref;
DROP TABLE operator_passkeys;
DROP TABLE operator_recovery_codes;
DROP TABLE operator_totp;
ALTER TABLE operators
    DROP COLUMN webauthn_handle,
    DROP COLUMN break_glass,
    DROP COLUMN sso_subject,
    DROP COLUMN sso;
