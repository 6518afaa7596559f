package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
)

// operatorResetPassword gives an operator a new generated one-time password, printed once
// to stdout and never logged or audited, and ends their sessions; they must choose their
// own password at the next sign-in.
func operatorResetPassword(ctx context.Context, ops *operators.Store, auditLog *audit.Store, actor audit.Actor,
	email string, stdout io.Writer) error {
	if email == "" {
		return exitError{code: 2, msg: "console operator reset-password: --email is required"}
	}
	op, err := ops.ByEmail(ctx, email)
	if err != nil {
		return fmt.Errorf("operator %q: %w", email, err)
	}
	oneTime, err := password.Generate()
	if err != nil {
		return err
	}
	hash, err := password.Hash(oneTime)
	if err != nil {
		return err
	}
	intent, err := auditLog.Intent(ctx, audit.Event{Actor: actor, Action: audit.ActionOperatorPasswordReset,
		Target: audit.Target{Type: "operator", ID: fmt.Sprint(op.ID), Label: op.Email},
		Before: audit.DetailJSON(map[string]any{"must_change_password": op.MustChangePassword})})
	if err != nil {
		return err
	}
	_, err = ops.ResetPassword(ctx, op.ID, hash)
	outcome := audit.OutcomeSucceeded
	if err != nil {
		outcome = audit.OutcomeFailed
	}
	if _, aerr := auditLog.Outcome(ctx, intent, outcome, func(e *audit.Event) {
		if err == nil {
			e.After = audit.DetailJSON(map[string]any{"must_change_password": true, "sessions": "ended"})
		}
	}); aerr != nil {
		return errors.Join(err, aerr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "operator %s: their sessions have ended. The new one-time password is shown only now:\n  %s\n"+
		"They must choose their own password when they sign in with it.\n", op.Email, oneTime)
	return nil
}
