package sso

import (
	"errors"
	"strings"
	"unicode"
)

// Errors of a sign-in, for errors.Is.
var (
	// ErrUnavailable: the provider could not be reached or answered with a server error.
	ErrUnavailable = errors.New("the identity provider cannot be reached")
	// ErrRefused: the provider answered with an OAuth error (e.g. access_denied); the
	// error is a *RefusedError with the provider's code and description.
	ErrRefused = errors.New("the identity provider refused the sign-in")
	// ErrInvalidToken: the ID token cannot be accepted; the error is an
	// *InvalidTokenError whose Reason says why in words.
	ErrInvalidToken = errors.New("the identity provider's answer cannot be accepted")
)

// RefusedError is an OAuth error from the provider, at the callback or the token endpoint.
type RefusedError struct {
	// Code is the OAuth error code, e.g. access_denied or invalid_grant.
	Code string
	// Description is the provider's error_description, trimmed to printable text; it can
	// come from anyone who crafts a callback URL, so it is shown as text, never trusted.
	Description string
}

func (e *RefusedError) Error() string {
	msg := "sso: " + ErrRefused.Error() + ": " + e.Code
	if e.Description != "" {
		msg += " (" + e.Description + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// CallbackError is the error for a callback that carries error and error_description
// instead of a code.
func CallbackError(code, description string) error {
	return &RefusedError{Code: printable(code, 64), Description: printable(description, 300)}
}

// InvalidTokenError is an ID token refused, with the reason in words.
type InvalidTokenError struct {
	// Reason is written for the operator, e.g. "the ID token has expired".
	Reason string
	Err    error
}

func (e *InvalidTokenError) Error() string {
	if e.Err != nil {
		return "sso: " + e.Reason + ": " + e.Err.Error()
	}
	return "sso: " + e.Reason
}

// Is makes errors.Is(err, ErrInvalidToken) true.
func (e *InvalidTokenError) Is(target error) bool { return target == ErrInvalidToken }
func (e *InvalidTokenError) Unwrap() error        { return e.Err }

func invalid(reason string, err error) error { return &InvalidTokenError{Reason: reason, Err: err} }

// printable keeps at most max runes of s, dropping control and invisible formatting
// characters.
func printable(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max {
			break
		}
		if unicode.IsPrint(r) {
			b.WriteRune(r)
			n++
		}
	}
	return b.String()
}
