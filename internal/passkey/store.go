package passkey

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/jackc/pgx/v5"
)

const passkeyColumns = `id, operator_id, credential_id, name, created_at, last_used_at`

// ensureHandle returns the operator's user handle, creating it at their first
// registration. COALESCE keeps the first of two concurrent registrations' handles.
func (s *Service) ensureHandle(ctx context.Context, operatorID int64) ([]byte, error) {
	fresh, err := newHandle()
	if err != nil {
		return nil, err
	}
	var handle []byte
	err = s.pool.QueryRow(ctx, `UPDATE operators SET webauthn_handle = COALESCE(webauthn_handle, $2)
		WHERE id = $1 RETURNING webauthn_handle`, operatorID, fresh).Scan(&handle)
	if err != nil {
		return nil, fmt.Errorf("passkey: user handle: %w", noRows(err, ErrNotFound))
	}
	return handle, nil
}

// user reads an operator's handle and credentials; the handle is nil before their first
// registration.
func (s *Service) user(ctx context.Context, operatorID int64) (user, error) {
	var u user
	err := s.pool.QueryRow(ctx, `SELECT webauthn_handle, email, name FROM operators WHERE id = $1`, operatorID).
		Scan(&u.handle, &u.name, &u.displayName)
	if err != nil {
		return user{}, fmt.Errorf("passkey: read operator: %w", noRows(err, ErrNotFound))
	}
	if u.creds, err = s.credentials(ctx, operatorID); err != nil {
		return user{}, err
	}
	return u, nil
}

// credentials are the operator's stored WebAuthn credentials.
func (s *Service) credentials(ctx context.Context, operatorID int64) ([]webauthn.Credential, error) {
	rows, err := s.pool.Query(ctx, `SELECT credential FROM operator_passkeys WHERE operator_id = $1 ORDER BY id`, operatorID)
	if err != nil {
		return nil, fmt.Errorf("passkey: read credentials: %w", err)
	}
	creds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (webauthn.Credential, error) {
		var raw []byte
		var c webauthn.Credential
		if err := row.Scan(&raw); err != nil {
			return c, err
		}
		return c, json.Unmarshal(raw, &c)
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: read credentials: %w", err)
	}
	return creds, nil
}

// operatorByHandle is the operator a user handle belongs to.
func (s *Service) operatorByHandle(ctx context.Context, handle []byte) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT id FROM operators WHERE webauthn_handle = $1`, handle).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("passkey: operator by handle: %w", noRows(err, ErrNotFound))
	}
	return id, nil
}

// insert stores a newly registered credential.
func (s *Service) insert(ctx context.Context, operatorID int64, name string, cred *webauthn.Credential) (Passkey, error) {
	raw, err := marshalCredential(cred)
	if err != nil {
		return Passkey{}, err
	}
	rows, err := s.pool.Query(ctx, `INSERT INTO operator_passkeys (operator_id, credential_id, name, credential, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+passkeyColumns, operatorID, cred.ID, name, raw, s.now())
	if err != nil {
		return Passkey{}, fmt.Errorf("passkey: store: %w", err)
	}
	pk, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Passkey])
	if isUniqueViolation(err) {
		return Passkey{}, ErrExists
	}
	if err != nil {
		return Passkey{}, fmt.Errorf("passkey: store: %w", err)
	}
	return pk, nil
}

// used records a successful assertion: the new sign count and flags, and when. An
// authenticator whose counter did not move forward may be a clone and is refused; so is a
// second use racing this one with the same counter (the update finds the counter moved).
func (s *Service) used(ctx context.Context, operatorID int64, cred *webauthn.Credential) (Passkey, error) {
	if cred.Authenticator.CloneWarning {
		return Passkey{}, &Refusal{Reason: "the authenticator's signature counter did not increase (possibly a cloned authenticator)"}
	}
	raw, err := marshalCredential(cred)
	if err != nil {
		return Passkey{}, err
	}
	rows, err := s.pool.Query(ctx, `UPDATE operator_passkeys SET credential = $3, last_used_at = $4
		WHERE operator_id = $1 AND credential_id = $2
		  AND ($5::bigint = 0 OR COALESCE((credential->'authenticator'->>'signCount')::bigint, 0) < $5::bigint)
		RETURNING `+passkeyColumns, operatorID, cred.ID, raw, s.now(), int64(cred.Authenticator.SignCount))
	if err != nil {
		return Passkey{}, fmt.Errorf("passkey: record use: %w", err)
	}
	pk, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Passkey])
	if err != nil {
		return Passkey{}, noRows(err, &Refusal{Reason: "the passkey was removed or used at the same time elsewhere"})
	}
	return pk, nil
}

// List is the operator's passkeys, oldest first.
func (s *Service) List(ctx context.Context, operatorID int64) ([]Passkey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+passkeyColumns+` FROM operator_passkeys WHERE operator_id = $1 ORDER BY id`, operatorID)
	if err != nil {
		return nil, fmt.Errorf("passkey: list: %w", err)
	}
	pks, err := pgx.CollectRows(rows, pgx.RowToStructByName[Passkey])
	if err != nil {
		return nil, fmt.Errorf("passkey: list: %w", err)
	}
	return pks, nil
}

// Count is how many passkeys the operator has.
func (s *Service) Count(ctx context.Context, operatorID int64) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM operator_passkeys WHERE operator_id = $1`, operatorID).Scan(&n); err != nil {
		return 0, fmt.Errorf("passkey: count: %w", err)
	}
	return n, nil
}

// AnyRegistered reports whether an operator who may sign in has a passkey; false when it
// cannot tell (the sign-in page then simply does not offer passkeys).
func (s *Service) AnyRegistered(ctx context.Context) bool {
	var found bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM operator_passkeys p
		JOIN operators o ON o.id = p.operator_id WHERE NOT o.disabled)`).Scan(&found)
	return err == nil && found
}

// Remove deletes the operator's passkey id and returns it; ErrNotFound when it is not
// theirs.
func (s *Service) Remove(ctx context.Context, operatorID, id int64) (Passkey, error) {
	rows, err := s.pool.Query(ctx, `DELETE FROM operator_passkeys WHERE operator_id = $1 AND id = $2 RETURNING `+passkeyColumns, operatorID, id)
	if err != nil {
		return Passkey{}, fmt.Errorf("passkey: remove: %w", err)
	}
	pk, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Passkey])
	if err != nil {
		return Passkey{}, noRows(err, ErrNotFound)
	}
	return pk, nil
}
