// Package drafts keeps what an operator typed into a form, in PostgreSQL, so that a
// session ending mid-form loses nothing: one draft per operator and form page, restored
// after the next sign-in, deleted when the form is saved, discarded or too old.
package drafts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound means the operator has no live draft for the page.
var ErrNotFound = errors.New("drafts: not found")

// Field is one form field's name and value; a name may repeat (checkboxes).
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Draft is an operator's unsaved form.
type Draft struct {
	OperatorID int64
	// Page is the path of the page the form is on, where signing in again returns.
	Page string
	// Action is the path the form posts to.
	Action    string
	Fields    []Field
	SavedAt   time.Time
	ExpiresAt time.Time
}

// Limits of one draft: a form of substance has a few dozen fields of a few hundred
// characters; anything larger is not a form of this console.
const (
	MaxFields     = 200
	MaxValueBytes = 4096
	MaxNameBytes  = 128
)

// secretWords are the words of a field name that mark a secret. A field whose name holds
// one is never kept unless its form lists that exact name (a setting such as
// "pinConfirmationLength" is a number, not a PIN).
var secretWords = map[string]bool{"password": true, "passwd": true, "passphrase": true, "secret": true,
	"token": true, "pin": true, "code": true, "otp": true, "totp": true, "recovery": true, "csrf": true,
	"nonce": true, "assertion": true, "credential": true, "key": true}

// nameWords splits a field name into words: camelCase humps, digits and letters between
// dots, dashes and underscores.
var nameWords = regexp.MustCompile(`[A-Z]+[a-z]*|[a-z]+|[0-9]+`)

// IsSecret reports whether a field named name may hold a password, secret, one-time code
// or anti-forgery token: "newPassword", "totp_code", "recovery-codes" and "apiKey" are,
// "deviceId" and "reason" are not.
func IsSecret(name string) bool {
	lower := strings.ToLower(name)
	for _, w := range []string{"password", "secret", "token", "csrf"} {
		if strings.Contains(lower, w) {
			return true
		}
	}
	for _, w := range nameWords.FindAllString(name, -1) {
		w = strings.ToLower(w)
		if secretWords[w] || secretWords[strings.TrimSuffix(w, "s")] {
			return true
		}
	}
	return false
}

// Form says which fields a draft of one form may hold: an allow-list, so that a field the
// form does not name is never kept.
type Form struct {
	// Names are fields kept as they are: the form's own inputs, and the hidden copy of what
	// the form was loaded with (a fingerprint), so that a save from a restored draft still
	// meets the conflict check.
	Names []string
	// Prefixes admit numbered or keyed fields ("attr.3.value"); a name admitted only by a
	// prefix must not look like a secret.
	Prefixes []string
}

// Allows reports whether a draft of the form may keep the field named name.
func (f Form) Allows(name string) bool {
	if name == "" || len(name) > MaxNameBytes {
		return false
	}
	for _, n := range f.Names {
		if n == name {
			return true
		}
	}
	for _, p := range f.Prefixes {
		if strings.HasPrefix(name, p) {
			return !IsSecret(name)
		}
	}
	return false
}

// Keep returns the fields the form allows, within the limits of one draft.
func (f Form) Keep(fields []Field) []Field {
	out := make([]Field, 0, len(fields))
	for _, fl := range fields {
		if len(fl.Value) > MaxValueBytes || !f.Allows(fl.Name) {
			continue
		}
		if len(out) == MaxFields {
			break
		}
		out = append(out, fl)
	}
	return out
}

// Store keeps drafts in PostgreSQL. Every method takes the time as an argument, so that
// expiry follows the console's clock.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns the drafts kept in pool's database.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Save keeps d as the operator's draft of its page, replacing the one before. Only the
// fields form allows are written: no password or secret reaches the table.
func (s *Store) Save(ctx context.Context, form Form, d Draft) error {
	fields, err := json.Marshal(form.Keep(d.Fields))
	if err != nil {
		return fmt.Errorf("drafts: save: %w", err)
	}
	_, err = s.pool.Exec(ctx, `
		INSERT INTO drafts (operator_id, page, action, fields, saved_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (operator_id, page) DO UPDATE
		SET action = EXCLUDED.action, fields = EXCLUDED.fields,
		    saved_at = EXCLUDED.saved_at, expires_at = EXCLUDED.expires_at`,
		d.OperatorID, d.Page, d.Action, fields, d.SavedAt, d.ExpiresAt)
	if err != nil {
		return fmt.Errorf("drafts: save: %w", err)
	}
	return nil
}

// Get returns the operator's draft of page that is still live at now.
func (s *Store) Get(ctx context.Context, operatorID int64, page string, now time.Time) (Draft, error) {
	d := Draft{OperatorID: operatorID, Page: page}
	var fields []byte
	err := s.pool.QueryRow(ctx, `
		SELECT action, fields, saved_at, expires_at FROM drafts
		WHERE operator_id = $1 AND page = $2 AND expires_at > $3`, operatorID, page, now).
		Scan(&d.Action, &fields, &d.SavedAt, &d.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Draft{}, ErrNotFound
	}
	if err != nil {
		return Draft{}, fmt.Errorf("drafts: get: %w", err)
	}
	if err := json.Unmarshal(fields, &d.Fields); err != nil {
		return Draft{}, fmt.Errorf("drafts: get: %w", err)
	}
	return d, nil
}

// Delete forgets the operator's draft of page, if there is one.
func (s *Store) Delete(ctx context.Context, operatorID int64, page string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM drafts WHERE operator_id = $1 AND page = $2`, operatorID, page); err != nil {
		return fmt.Errorf("drafts: delete: %w", err)
	}
	return nil
}

// Prune deletes the drafts that expired by now and returns how many.
func (s *Store) Prune(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM drafts WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("drafts: prune: %w", err)
	}
	return tag.RowsAffected(), nil
}
