package handlers

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/operators"
)

// passkeyService keeps operators' passkeys and runs the WebAuthn ceremonies.
type passkeyService interface {
	// Count is how many passkeys the operator has.
	Count(ctx context.Context, operatorID int64) (int, error)
	// AnyRegistered reports whether any operator has a passkey (the sign-in page then
	// offers passkey sign-in); false when it cannot tell.
	AnyRegistered(ctx context.Context) bool
}

// passkeyRoutes register, list and remove passkeys, and sign in with one.
func (h *Handler) passkeyRoutes() []Route { return nil }

// passkeyStepUp verifies a passkey assertion given for a step-up (the prompt's
// _step_up_passkey field) for op.
func (h *Handler) passkeyStepUp(c echo.Context, op operators.Operator, assertion string) (bool, error) {
	return false, nil
}
