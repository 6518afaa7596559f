package handlers

import "context"

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
