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

// newOperator is what `console operator add` was given.
type newOperator struct {
	email, name, role string
	// breakGlass lets the operator sign in with a password while CONSOLE_LOCAL_SIGNIN=off.
	breakGlass bool
}

// addOperator adds an operator with the password read as one line from stdin: the
// operator's own (they typed it, or it was given to them as theirs), so it is kept — a
// password the console generates is one-time instead. A break-glass operator keeps
// password sign-in when CONSOLE_LOCAL_SIGNIN=off.
func addOperator(ctx context.Context, ops *operators.Store, auditLog *audit.Store, actor audit.Actor,
	n newOperator, stdin io.Reader, stdout io.Writer) error {
	if n.email == "" || n.name == "" || n.role == "" {
		return exitError{code: 2, msg: "console operator add: --email, --name and --role are required"}
	}
	role, err := operators.ParseRole(n.role)
	if err != nil {
		return exitError{code: 2, msg: "console operator add: " + err.Error()}
	}
	hash, err := readPassword(stdin, n.email)
	if err != nil {
		return err
	}
	after := map[string]any{"email": n.email, "name": n.name, "role": string(role)}
	if n.breakGlass {
		after["break_glass"] = true
	}
	var op operators.Operator
	err = performed(audit.Perform(ctx, auditLog, audit.Operation{
		Intent: audit.Event{Actor: actor, Action: audit.ActionOperatorCreate, Target: audit.Target{Type: "operator", Label: n.email},
			After: audit.DetailJSON(after)},
		Call: func(ctx context.Context) (err error) {
			if op, err = ops.Create(ctx, n.email, n.name, role, hash); err != nil || !n.breakGlass {
				return err
			}
			op, err = ops.SetBreakGlass(ctx, op.ID, true)
			return err
		},
	}))
	if err != nil {
		return err
	}
	mark := ""
	if op.BreakGlass {
		mark = " (break-glass: password sign-in stays open when CONSOLE_LOCAL_SIGNIN=off)"
	}
	fmt.Fprintf(stdout, "operator %s added with role %s%s; they sign in with the password given\n", op.Email, op.Role, mark)
	return nil
}

// readPassword reads the password as one line from stdin, checks it against the policy
// and hashes it.
func readPassword(stdin io.Reader, email string) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if err := password.NewPolicy().Check(pw, email); err != nil {
		return "", exitError{code: 2, msg: "console operator add: " + err.Error()}
	}
	return password.Hash(pw)
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
