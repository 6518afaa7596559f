package server

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/handlers"
)

// identityDeps gives the web layer how operators prove who they are: the policy, the
// OpenID provider when single sign-on is on, TOTP factors, passkeys and the sessions list.
func identityDeps(ctx context.Context, cfg config.Config, pool *pgxpool.Pool, d *handlers.Deps, logger *slog.Logger) error {
	id := cfg.Identity
	d.Identity = handlers.IdentityPolicy{
		MFARequired:    id.MFARequired,
		StepUpWindow:   id.StepUpWindow,
		LocalSignInOff: !id.LocalSignIn,
		PublicURL:      id.PublicURL,
	}
	if err := ssoDeps(ctx, cfg, d, logger); err != nil {
		return err
	}
	if err := mfaDeps(cfg, pool, d); err != nil {
		return err
	}
	if err := passkeyDeps(cfg, pool, d); err != nil {
		return err
	}
	sessionDeps(pool, d)
	return nil
}
