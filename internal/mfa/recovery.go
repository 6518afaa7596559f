package mfa

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// RecoveryCodeCount is how many recovery codes an operator gets at a time.
const RecoveryCodeCount = 10

// codeEncoding is Crockford's base32 in lower case: no i, l, o or u, so a code read
// aloud or copied by hand is not mistaken (o is read as 0, i and l as 1).
var codeEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newRecoveryCode is 50 random bits as ten characters, "xxxxx-xxxxx".
func newRecoveryCode() (string, error) {
	b := make([]byte, 7)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("mfa: recovery code: %w", err)
	}
	s := codeEncoding.EncodeToString(b)[:10]
	return s[:5] + "-" + s[5:], nil
}

// NormalizeRecoveryCode is code as stored: lower case, without spaces and hyphens, with
// the letters Crockford's base32 reads as digits (o as 0, i and l as 1), so that
// "ABCDE FGHJK" and "abcde-fghjk" are the same code.
func NormalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		switch r {
		case '-', ' ':
			return -1
		case 'o':
			return '0'
		case 'i', 'l':
			return '1'
		}
		return r
	}, code)
}

// replaceRecoveryCodes deletes the operator's recovery codes and stores ten new ones,
// returned in clear.
func (s *Store) replaceRecoveryCodes(ctx context.Context, tx pgx.Tx, operatorID int64, now time.Time) ([]string, error) {
	if _, err := tx.Exec(ctx, `DELETE FROM operator_recovery_codes WHERE operator_id = $1`, operatorID); err != nil {
		return nil, fmt.Errorf("mfa: delete recovery codes: %w", err)
	}
	codes := make([]string, 0, RecoveryCodeCount)
	for len(codes) < RecoveryCodeCount {
		code, err := newRecoveryCode()
		if err != nil {
			return nil, err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO operator_recovery_codes (operator_id, code_hash, created_at)
			VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, operatorID, s.codes.hash(operatorID, NormalizeRecoveryCode(code)), now)
		if err != nil {
			return nil, fmt.Errorf("mfa: store recovery code: %w", err)
		}
		if tag.RowsAffected() == 1 {
			codes = append(codes, code)
		}
	}
	return codes, nil
}

// RegenerateRecoveryCodes replaces the operator's recovery codes with ten new ones,
// returned in clear once.
func (s *Store) RegenerateRecoveryCodes(ctx context.Context, operatorID int64, now time.Time) ([]string, error) {
	var codes []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		codes, err = s.replaceRecoveryCodes(ctx, tx, operatorID, now)
		return err
	})
	return codes, err
}

// UseRecoveryCode spends code if it is one of the operator's unused recovery codes, in
// one statement, so that it works once even when sent twice at once; left is how many
// unused codes remain.
func (s *Store) UseRecoveryCode(ctx context.Context, operatorID int64, code string, now time.Time) (ok bool, left int, err error) {
	code = NormalizeRecoveryCode(strings.TrimSpace(code))
	if len(code) != 10 {
		left, err = s.RecoveryCodesLeft(ctx, operatorID)
		return false, left, err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE operator_recovery_codes SET used_at = $3
		WHERE operator_id = $1 AND code_hash = $2 AND used_at IS NULL`, operatorID, s.codes.hash(operatorID, code), now)
	if err != nil {
		return false, 0, fmt.Errorf("mfa: use recovery code: %w", err)
	}
	left, err = s.RecoveryCodesLeft(ctx, operatorID)
	return tag.RowsAffected() == 1, left, err
}

// RecoveryCodesLeft is how many unused recovery codes the operator has.
func (s *Store) RecoveryCodesLeft(ctx context.Context, operatorID int64) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM operator_recovery_codes
		WHERE operator_id = $1 AND used_at IS NULL`, operatorID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("mfa: count recovery codes: %w", err)
	}
	return n, nil
}
