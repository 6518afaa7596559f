package handlers

import "context"

// secondFactorPath is where a right password waits for its second factor.
const secondFactorPath = "/login/second-factor"

// totpFactors keeps operators' authenticator-app (TOTP) secrets and recovery codes.
type totpFactors interface {
	// Enrolled reports whether the operator has a confirmed TOTP.
	Enrolled(ctx context.Context, operatorID int64) (bool, error)
}

// mfaRoutes are the second-factor step of sign-in and the security page.
func (h *Handler) mfaRoutes() []Route { return nil }
