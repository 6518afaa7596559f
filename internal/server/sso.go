package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/sso"
)

// ssoDeps connects the OpenID provider when single sign-on is configured. A provider that
// cannot be reached at start does not stop the console: sign-in through it says so, and
// break-glass operators can still sign in.
func ssoDeps(ctx context.Context, cfg config.Config, d *handlers.Deps, logger *slog.Logger) error {
	o := cfg.Identity.OIDC
	if !o.Enabled() {
		return nil
	}
	roles := make([]sso.GroupRole, 0, len(o.RoleMap))
	for _, m := range o.RoleMap {
		roles = append(roles, sso.GroupRole{Group: m.Group, Role: m.Role})
	}
	p, err := sso.New(ctx, sso.Config{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		RedirectURL: cfg.Identity.RedirectURL(), Name: o.Name, RolesClaim: o.RolesClaim, RoleMap: roles})
	if err != nil {
		return fmt.Errorf("server: single sign-on: %w", err)
	}
	logger.Info("single sign-on on", "issuer", o.Issuer, "redirect_url", cfg.Identity.RedirectURL(), "groups", len(roles))
	d.SSO = p
	return nil
}
