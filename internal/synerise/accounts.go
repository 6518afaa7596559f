package synerise

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// AccountsService triggers RaaS account actions (/sauth/clients). Each answers an empty 2xx
// on success; refusals come back as *APIError: 404 no such customer, 400 the action does not
// apply to the account's state, 403 the PIN device rule. These are POSTs and are never
// retried automatically.
type AccountsService struct{ c *Client }

type emailBody struct {
	Email string `json:"email"`
}

// RequestPasswordReset makes Synerise e-mail a password reset token to the customer:
// POST /sauth/clients/password-reset/request {"email"}.
func (s *AccountsService) RequestPasswordReset(ctx context.Context, email string) error {
	const op = "accounts.request_password_reset"
	if strings.TrimSpace(email) == "" {
		return fmt.Errorf("synerise: %s: %w: email is empty", op, ErrInvalidInput)
	}
	return s.c.call(ctx, op, http.MethodPost, "/sauth/clients/password-reset/request", nil, emailBody{email}, nil)
}

// ResendActivationEmail makes Synerise e-mail a new activation/confirmation link:
// POST /sauth/clients/activation/request {"email"}.
func (s *AccountsService) ResendActivationEmail(ctx context.Context, email string) error {
	const op = "accounts.resend_activation_email"
	if strings.TrimSpace(email) == "" {
		return fmt.Errorf("synerise: %s: %w: email is empty", op, ErrInvalidInput)
	}
	return s.c.call(ctx, op, http.MethodPost, "/sauth/clients/activation/request", nil, emailBody{email}, nil)
}

// PINRequest asks for an activation PIN. DeviceID must be the customer's own device id:
// confirmation is accepted only from the device that last requested a PIN, so a PIN requested
// with any other id locks the customer's device out of confirming.
type PINRequest struct {
	Email    string `json:"email"`
	UUID     string `json:"uuid"`
	DeviceID string `json:"deviceId"`
}

// RequestActivationPIN makes Synerise e-mail a new activation PIN:
// POST /sauth/clients/activation/by-pin-code/request {"email","uuid","deviceId"}.
func (s *AccountsService) RequestActivationPIN(ctx context.Context, r PINRequest) error {
	const op = "accounts.request_activation_pin"
	if strings.TrimSpace(r.Email) == "" || strings.TrimSpace(r.DeviceID) == "" {
		return fmt.Errorf("synerise: %s: %w: email and deviceId are required", op, ErrInvalidInput)
	}
	return s.c.call(ctx, op, http.MethodPost, "/sauth/clients/activation/by-pin-code/request", nil, r, nil)
}
