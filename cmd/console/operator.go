package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
)

// operatorAdd adds an operator with the password read as one line from stdin. The
// password was typed by whoever ran the command, not chosen by the operator: it opens
// only the form that changes it.
func operatorAdd(ctx context.Context, ops *operators.Store, auditLog *audit.Store, actor audit.Actor,
	email, name, roleName string, stdin io.Reader, stdout io.Writer) error {
	if email == "" || name == "" || roleName == "" {
		return exitError{code: 2, msg: "console operator add: --email, --name and --role are required"}
	}
	role, err := operators.ParseRole(roleName)
	if err != nil {
		return exitError{code: 2, msg: "console operator add: " + err.Error()}
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if err := password.NewPolicy().Check(pw, email); err != nil {
		return exitError{code: 2, msg: "console operator add: " + err.Error()}
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	var op operators.Operator
	err = performed(audit.Perform(ctx, auditLog, audit.Operation{
		Intent: audit.Event{Actor: actor, Action: audit.ActionOperatorCreate, Target: audit.Target{Type: "operator", Label: email},
			After: audit.DetailJSON(map[string]string{"email": email, "name": name, "role": string(role)})},
		Call: func(ctx context.Context) (err error) {
			op, err = ops.CreateWithOneTimePassword(ctx, email, name, role, hash)
			return err
		},
	}))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "operator %s added with role %s; they must change the password at their first sign-in\n", op.Email, op.Role)
	return nil
}

// operatorDisable disables an operator and ends their sessions.
func operatorDisable(ctx context.Context, ops *operators.Store, auditLog *audit.Store, actor audit.Actor,
	email string, stdout io.Writer) error {
	op, err := ops.ByEmail(ctx, email)
	if err != nil {
		return fmt.Errorf("operator %q: %w", email, err)
	}
	err = performed(audit.Perform(ctx, auditLog, audit.Operation{
		Intent: audit.Event{Actor: actor, Action: audit.ActionOperatorDisable,
			Target: audit.Target{Type: "operator", ID: fmt.Sprint(op.ID), Label: op.Email}},
		Call: func(ctx context.Context) error {
			_, err := ops.SetDisabled(ctx, op.ID, true)
			return err
		},
	}))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "operator %s disabled; their sessions have ended\n", op.Email)
	return nil
}

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
	err = performed(audit.Perform(ctx, auditLog, audit.Operation{
		Intent: audit.Event{Actor: actor, Action: audit.ActionOperatorPasswordReset,
			Target: audit.Target{Type: "operator", ID: fmt.Sprint(op.ID), Label: op.Email},
			Before: audit.DetailJSON(map[string]any{"must_change_password": op.MustChangePassword})},
		Call: func(ctx context.Context) error {
			_, err := ops.ResetPassword(ctx, op.ID, hash)
			return err
		},
		Record: func(e *audit.Event, err error) {
			if err == nil {
				e.After = audit.DetailJSON(map[string]any{"must_change_password": true, "sessions": "ended"})
			}
		},
	}))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "operator %s: their sessions have ended. The new one-time password is shown only now:\n  %s\n"+
		"They must choose their own password when they sign in with it.\n", op.Email, oneTime)
	return nil
}

// performed is a command's error after an audited operation: the call's, joined with
// the outcome row's if that could not be written.
func performed(res audit.Result, err error) error {
	return errors.Join(err, res.OutcomeErr)
}
