package handlers

import (
	"github.com/labstack/echo/v4"
)

// ssoProvider is the OpenID provider operators sign in through.
type ssoProvider interface {
	// Name is the provider's name on the sign-in button.
	Name() string
}

// ssoRoutes start single sign-on and take the provider's answer.
func (h *Handler) ssoRoutes() []Route { return nil }

// requireCurrentRole ends a single sign-on session whose provider groups no longer map to
// the role it was started with (the role map changed).
func (h *Handler) requireCurrentRole(Route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
}
