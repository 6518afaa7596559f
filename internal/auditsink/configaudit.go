package auditsink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/audit"
)

// Described is the sink configuration as audited: where events go and in which format,
// never a secret or token.
type Described struct {
	WebhookURL    string `json:"webhookUrl,omitempty"`
	WebhookFormat string `json:"webhookFormat,omitempty"`
	SyslogAddr    string `json:"syslogAddr,omitempty"`
}

// fingerprint identifies d, with the full URL: a changed token in its query is a change.
// Only this hash is stored of the URL's query.
func (d Described) fingerprint() string {
	b, _ := json.Marshal(d) // strings only: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// shown is d as the audit log and the database keep it: the URL without user
// information and with its query values replaced, since either may hold a credential.
func (d Described) shown() Described {
	if u, err := url.Parse(d.WebhookURL); err == nil && d.WebhookURL != "" {
		u.User = nil
		q := u.Query()
		for k := range q {
			q[k] = []string{"[redacted]"}
		}
		u.RawQuery = q.Encode()
		d.WebhookURL = u.String()
	}
	return d
}

// RecordConfig compares the sink configuration with the one stored at the last start
// and, when it differs, records audit.sink_config with the before and after and stores
// the new one. Replicas starting together record one change: the row is locked while
// the event is written.
func RecordConfig(ctx context.Context, pool *pgxpool.Pool, log Appender, now Described) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// The first start ever has no row; lock the table's only row, or its future place.
		if _, err := tx.Exec(ctx, "LOCK TABLE audit_sink_config IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		var stored string
		var before json.RawMessage
		err := tx.QueryRow(ctx, "SELECT fingerprint, description FROM audit_sink_config").Scan(&stored, &before)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			stored = Described{}.fingerprint() // never configured: as if nothing was
		case err != nil:
			return err
		}
		if stored == now.fingerprint() {
			return nil
		}
		after := audit.DetailJSON(now.shown())
		if _, err := log.Append(ctx, audit.Event{
			Actor: systemActor(), Action: audit.ActionAuditSinkConfig,
			Target:  audit.Target{Type: "audit_sink", ID: "config", Label: "audit stream configuration"},
			Outcome: audit.OutcomeSucceeded, Before: before, After: after,
			Detail: audit.DetailJSON(map[string]string{"why": "the console started with a different audit stream configuration"}),
		}); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO audit_sink_config (id, fingerprint, description) VALUES (true, $1, $2)
			ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, description = EXCLUDED.description, updated_at = now()`,
			now.fingerprint(), []byte(after))
		return err
	})
	if err != nil {
		return fmt.Errorf("auditsink: record configuration: %w", err)
	}
	return nil
}
