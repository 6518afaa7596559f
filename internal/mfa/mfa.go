// Package mfa keeps operators' second factors on PostgreSQL: an authenticator-app
// (TOTP) secret, sealed at rest, and ten one-time recovery codes, kept only as keyed
// hashes. A code is accepted once, even when sent twice at the same moment.
package mfa

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Issuer names the console in the operator's authenticator app.
const Issuer = "RaaS Console"

// period is the TOTP time step; skew is how many steps before or after now a code may
// come from (clocks of phones drift, and people type slowly).
const (
	period = 30
	skew   = 1
)

var (
	// ErrNoPending is returned when the operator has no authenticator app being set up.
	ErrNoPending = errors.New("mfa: no authenticator app being set up")
	// ErrWrongCode is returned when a code confirming an authenticator app is not right.
	ErrWrongCode = errors.New("mfa: wrong code")
	// errNoRow is an operator without any authenticator app, set up or confirmed.
	errNoRow = errors.New("mfa: no authenticator app")
)

// Store keeps second factors in pool's database.
type Store struct {
	pool   *pgxpool.Pool
	sealer *sealer
	codes  *codeHasher
}

// NewStore returns the store; keys for sealing secrets and hashing recovery codes are
// derived from secret (the session secret), so they change only when it does.
func NewStore(pool *pgxpool.Pool, secret []byte) (*Store, error) {
	s, err := newSealer(secret)
	if err != nil {
		return nil, err
	}
	h, err := newCodeHasher(secret)
	if err != nil {
		return nil, err
	}
	return &Store{pool: pool, sealer: s, codes: h}, nil
}

// Enrolment is an authenticator-app secret being set up: shown once as a QR code and as
// text, usable only after a code from it was confirmed.
type Enrolment struct {
	// Secret is the base32 secret.
	Secret string
	// URL is the otpauth:// URL the QR code holds.
	URL string
}

// GroupedSecret is the secret in groups of four, for typing it in by hand.
func (e Enrolment) GroupedSecret() string {
	var b strings.Builder
	for i, r := range e.Secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// QRCode is the otpauth URL as a 200×200 PNG.
func (e Enrolment) QRCode() ([]byte, error) {
	key, err := otp.NewKeyFromURL(e.URL)
	if err != nil {
		return nil, fmt.Errorf("mfa: read key: %w", err)
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return nil, fmt.Errorf("mfa: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("mfa: encode QR code: %w", err)
	}
	return buf.Bytes(), nil
}

// secrets is what is sealed in operator_totp.secret: the confirmed secret and the one
// being set up. One row holds both so that setting up a new app keeps the old one
// working until the new one is confirmed.
type secrets struct {
	Active  string `json:"active,omitempty"`
	Pending string `json:"pending,omitempty"` // otpauth URL
}

// Begin makes a new secret for operatorID (named by email in the app) to be set up,
// replacing any other one being set up; a confirmed one stays until this one is confirmed.
func (s *Store) Begin(ctx context.Context, operatorID int64, email string) (Enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: Issuer, AccountName: email, Period: period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return Enrolment{}, fmt.Errorf("mfa: generate secret: %w", err)
	}
	err = s.update(ctx, operatorID, func(sec *secrets) error {
		sec.Pending = key.URL()
		return nil
	})
	if err != nil {
		return Enrolment{}, err
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// Pending is the secret being set up for operatorID; ErrNoPending when there is none.
func (s *Store) Pending(ctx context.Context, operatorID int64) (Enrolment, error) {
	sec, _, err := s.load(ctx, s.pool, operatorID, false)
	if err != nil && !errors.Is(err, errNoRow) {
		return Enrolment{}, err
	}
	if sec.Pending == "" {
		return Enrolment{}, ErrNoPending
	}
	key, err := otp.NewKeyFromURL(sec.Pending)
	if err != nil {
		return Enrolment{}, fmt.Errorf("mfa: read pending key: %w", err)
	}
	return Enrolment{Secret: key.Secret(), URL: sec.Pending}, nil
}

// Confirm makes the secret being set up the operator's authenticator app when code is
// one of its codes, and returns ten new recovery codes in clear — the only time they
// exist outside the operator's hands. ErrWrongCode when code is not right,
// ErrNoPending when nothing is being set up.
func (s *Store) Confirm(ctx context.Context, operatorID int64, code string, now time.Time) ([]string, error) {
	var codes []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		sec, lastStep, err := s.load(ctx, tx, operatorID, true)
		if err != nil && !errors.Is(err, errNoRow) {
			return err
		}
		if sec.Pending == "" {
			return ErrNoPending
		}
		key, err := otp.NewKeyFromURL(sec.Pending)
		if err != nil {
			return fmt.Errorf("mfa: read pending key: %w", err)
		}
		step, ok := matchStep(key.Secret(), code, now)
		if !ok {
			return ErrWrongCode
		}
		sealed, err := s.sealer.seal(operatorID, secrets{Active: key.Secret()})
		if err != nil {
			return err
		}
		// The confirming code is spent: it cannot sign in afterwards.
		_, err = tx.Exec(ctx, `UPDATE operator_totp SET secret = $2, confirmed_at = $3, last_step = $4
			WHERE operator_id = $1`, operatorID, sealed, now, max(step, lastStep))
		if err != nil {
			return fmt.Errorf("mfa: confirm: %w", err)
		}
		codes, err = s.replaceRecoveryCodes(ctx, tx, operatorID, now)
		return err
	})
	return codes, err
}

// Verify reports whether code is the operator's current authenticator-app code. A code
// is accepted once: the time step it belongs to is remembered in the same statement
// that accepts it, so a replay, or the same code sent twice at once, fails.
func (s *Store) Verify(ctx context.Context, operatorID int64, code string, now time.Time) (bool, error) {
	sec, _, err := s.load(ctx, s.pool, operatorID, false)
	if errors.Is(err, errNoRow) {
		return false, nil
	}
	if err != nil || sec.Active == "" {
		return false, err
	}
	step, ok := matchStep(sec.Active, code, now)
	if !ok {
		return false, nil
	}
	tag, err := s.pool.Exec(ctx, `UPDATE operator_totp SET last_step = $2
		WHERE operator_id = $1 AND confirmed_at IS NOT NULL AND last_step < $2`, operatorID, step)
	if err != nil {
		return false, fmt.Errorf("mfa: accept code: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Enrolled reports whether the operator has a confirmed authenticator app.
func (s *Store) Enrolled(ctx context.Context, operatorID int64) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM operator_totp
		WHERE operator_id = $1 AND confirmed_at IS NOT NULL)`, operatorID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("mfa: enrolled: %w", err)
	}
	return ok, nil
}

// Remove deletes the operator's authenticator app and recovery codes: a recovery code
// left without the app would be a factor of its own.
func (s *Store) Remove(ctx context.Context, operatorID int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM operator_totp WHERE operator_id = $1`, operatorID); err != nil {
			return fmt.Errorf("mfa: remove: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM operator_recovery_codes WHERE operator_id = $1`, operatorID); err != nil {
			return fmt.Errorf("mfa: remove recovery codes: %w", err)
		}
		return nil
	})
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// load opens the operator's sealed secrets; errNoRow when there are none.
func (s *Store) load(ctx context.Context, q querier, operatorID int64, forUpdate bool) (secrets, int64, error) {
	sql := `SELECT secret, last_step FROM operator_totp WHERE operator_id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var sealed []byte
	var lastStep int64
	err := q.QueryRow(ctx, sql, operatorID).Scan(&sealed, &lastStep)
	if errors.Is(err, pgx.ErrNoRows) {
		return secrets{}, 0, errNoRow
	}
	if err != nil {
		return secrets{}, 0, fmt.Errorf("mfa: load secret: %w", err)
	}
	sec, err := s.sealer.open(operatorID, sealed)
	return sec, lastStep, err
}

// update changes the operator's sealed secrets under a row lock, creating the row.
func (s *Store) update(ctx context.Context, operatorID int64, change func(*secrets) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		sec, _, err := s.load(ctx, tx, operatorID, true)
		if err != nil && !errors.Is(err, errNoRow) {
			return err
		}
		if err := change(&sec); err != nil {
			return err
		}
		sealed, err := s.sealer.seal(operatorID, sec)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO operator_totp (operator_id, secret) VALUES ($1, $2)
			ON CONFLICT (operator_id) DO UPDATE SET secret = EXCLUDED.secret`, operatorID, sealed)
		if err != nil {
			return fmt.Errorf("mfa: store secret: %w", err)
		}
		return nil
	})
}

// matchStep finds the time step within the skew whose code is code.
func matchStep(secret, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, false
	}
	opts := totp.ValidateOpts{Period: period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	current := now.Unix() / period
	for d := int64(-skew); d <= skew; d++ {
		step := current + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*period, 0), opts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}
