package synerise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// DefaultErasePath is where a profile is erased: DELETE /v4/clients/{clientId}. The path is
// an assumption of the contract, so WithErasePath can change it.
const DefaultErasePath = "/v4/clients/{clientId}"

// erasePathParam is the placeholder of the erase path that becomes the clientId.
const erasePathParam = "{clientId}"

// WithErasePath sets the path of the erasure (default DefaultErasePath). It must start with
// "/" and hold "{clientId}" exactly once, in a segment of its own.
func WithErasePath(p string) Option {
	return func(c *Client) error {
		if err := CheckErasePath(p); err != nil {
			return err
		}
		c.erasePath = p
		return nil
	}
}

// CheckErasePath reports what is wrong with an erase path, or nil.
func CheckErasePath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?# \t\r\n") {
		return fmt.Errorf("erase path %q must be a path starting with / (no query, no spaces)", p)
	}
	if strings.Count(p, erasePathParam) != 1 || !strings.Contains(p+"/", "/"+erasePathParam+"/") {
		return fmt.Errorf("erase path %q must hold %s once, as a whole segment", p, erasePathParam)
	}
	return nil
}

// EmailTakenError is Synerise refusing an e-mail change because another profile already
// uses the address: a 400 (or 409) with a field error on "email". The *APIError stays
// reachable with errors.As.
type EmailTakenError struct {
	Email string
	Err   *APIError
}

func (e *EmailTakenError) Error() string {
	return "the e-mail address " + e.Email + " is already used by another profile (" + e.Err.Error() + ")"
}

// Unwrap lets errors.As find the *APIError.
func (e *EmailTakenError) Unwrap() error { return e.Err }

// IsEmailTaken reports whether an e-mail change was refused because another profile uses
// the address.
func IsEmailTaken(err error) bool {
	var e *EmailTakenError
	return errors.As(err, &e)
}

// ChangeEmail sets a profile's e-mail, an identifier the basic-info update refuses:
// POST /v4/clients/{clientId} {"email": new} → 202. An address another profile uses is an
// *EmailTakenError. Like every write it is sent once and never retried. The console checks
// the address is one before sending, so a refusal with a field error on email is the
// contract's "used by another profile".
func (s *ProfilesService) ChangeEmail(ctx context.Context, clientID int64, email string) error {
	const op = "profiles.change_email"
	if strings.TrimSpace(email) == "" {
		return fmt.Errorf("synerise: %s: %w: email is empty", op, ErrInvalidInput)
	}
	err := s.c.call(ctx, op, http.MethodPost, "/v4/clients/"+strconv.FormatInt(clientID, 10), nil, emailBody{email}, nil)
	var api *APIError
	if errors.As(err, &api) && (api.StatusCode == http.StatusBadRequest || api.StatusCode == http.StatusConflict) && hasFieldError(api, "email") {
		return fmt.Errorf("synerise: %s: %w", op, &EmailTakenError{Email: email, Err: api})
	}
	return err
}

func hasFieldError(e *APIError, field string) bool {
	for _, fe := range e.FieldErrors {
		if strings.EqualFold(fe.Field, field) {
			return true
		}
	}
	return false
}

// Erase deletes a profile for good (GDPR art. 17): DELETE on the erase path
// (DefaultErasePath unless WithErasePath). Any 2xx is success; 404 means there is no such
// profile (IsNotFound). Sent once, never retried, and it runs to its answer even if ctx is
// cancelled after it was sent.
func (s *ProfilesService) Erase(ctx context.Context, clientID int64) error {
	const op = "profiles.erase"
	if clientID <= 0 {
		return fmt.Errorf("synerise: %s: %w: clientId must be positive", op, ErrInvalidInput)
	}
	path := strings.Replace(s.c.erasePath, erasePathParam, strconv.FormatInt(clientID, 10), 1)
	return s.c.call(ctx, op, http.MethodDelete, path, nil, nil, nil)
}

// GetRaw fetches a profile exactly as Synerise returned it, byte for byte:
// GET /v4/clients/{clientId}. It is what the console hands over for an access request
// (GDPR art. 15). A body that is not JSON is an error.
func (s *ProfilesService) GetRaw(ctx context.Context, clientID int64) ([]byte, error) {
	var raw rawBody
	if err := s.c.call(ctx, "profiles.get_raw", http.MethodGet, "/v4/clients/"+strconv.FormatInt(clientID, 10), nil, nil, &raw); err != nil {
		return nil, err
	}
	return raw.b, nil
}

// rawBody is an out parameter that keeps a JSON response body as it came.
type rawBody struct{ b []byte }

func (r *rawBody) keep(data []byte) error {
	if !json.Valid(data) {
		return errors.New("decode response: not JSON")
	}
	r.b = append([]byte(nil), data...)
	return nil
}
