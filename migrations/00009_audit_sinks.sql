-- +goose Up
-- The audit stream (internal/auditsink): where each sink has got to, and the sink
-- configuration last seen at start.
--
-- seq is the last event the sink acknowledged (0: nothing yet, so a new sink starts with
-- the whole log at seq 1) and hash that event's hash. The shipper advances seq only after
-- an acknowledgement and may move it back when a sink without acknowledgements (syslog)
-- loses its connection; delivery is at-least-once, so moving back only repeats events.
-- failing says whether the last delivery failed: audit.sink_failure and
-- audit.sink_recovered are recorded on its transitions only, whichever replica ships.
CREATE TABLE audit_sink_cursors (
    sink          text        PRIMARY KEY CHECK (sink IN ('webhook', 'syslog')),
    seq           bigint      NOT NULL DEFAULT 0 CHECK (seq >= 0),
    hash          bytea       CHECK (hash IS NULL OR octet_length(hash) = 32),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    failing       boolean     NOT NULL DEFAULT false,
    last_error    text        NOT NULL DEFAULT '',
    last_error_at timestamptz
);

-- One row: the fingerprint of the sink configuration (URLs, format, syslog address; never
-- a secret) and its secret-free description, so a changed configuration is audited once.
CREATE TABLE audit_sink_config (
    id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
    fingerprint text        NOT NULL,
    description json        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE audit_sink_config;
DROP TABLE audit_sink_cursors;
