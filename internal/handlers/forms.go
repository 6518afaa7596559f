package handlers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/synerise"
)

// errAlreadySubmitted refuses a form sent a second time.
var errAlreadySubmitted = userError(http.StatusConflict, "Already sent",
	"This form was already submitted, and the action was sent once. Nothing was sent again. Check the customer's console history before starting over.")

// nonceLifetime is how long a claimed token is remembered: longer than a session lives.
const nonceLifetime = 13 * time.Hour

var noncePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// newToken is 128 random bits as 22 URL-safe characters: a form's one-time token, a
// request id.
func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// PruneForms forgets form tokens claimed longer ago than any session lives; the
// periodic job of every replica may run it.
func (h *Handler) PruneForms(ctx context.Context) (int64, error) {
	return h.Forms.Prune(ctx, h.Now().Add(-nonceLifetime))
}

// A double submit is harmless: each form carries a random token, and a token can be
// claimed once, across every replica (the claims live in the database, Deps.Forms).

// claimForm claims the form's token for the operator. A missing or malformed token is
// refused like a reused one would not be: the form is stale and must be reloaded.
func (h *Handler) claimForm(c echo.Context, nonce string) (string, error) {
	if !noncePattern.MatchString(nonce) {
		return "", userError(http.StatusUnprocessableEntity, "Form expired",
			"This form is missing its one-time token. Reload the page and try again; nothing was sent.")
	}
	key := idString(currentOperator(c).ID) + ":" + nonce
	ok, err := h.Forms.Claim(c.Request().Context(), key, h.Now())
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errAlreadySubmitted
	}
	return key, nil
}

// claimedCall makes the audited call to Synerise of a form whose token key was claimed.
// When nothing reached Synerise (the intent could not be written, the circuit was open)
// the claim is released, so the same form may be sent again; releasing is best effort: a
// claim left behind only refuses that form once more.
func (h *Handler) claimedCall(c echo.Context, key string, intent audit.Event, call func(context.Context) error) (audit.Outcome, error) {
	outcome, err := h.auditedCall(c, intent, call)
	if errors.Is(err, errAuditUnavailable) || synerise.IsCircuitOpen(err) {
		_ = h.Forms.Release(context.WithoutCancel(c.Request().Context()), key)
	}
	return outcome, err
}
