package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/server"
)

// exitError ends the process with a code other than 1, or quietly.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

const usage = `console — RaaS admin console for Synerise customer accounts

Usage:
  console serve                      run the web console (applies migrations first)
  console migrate                    apply the embedded database migrations (as CONSOLE_MIGRATE_DATABASE_URL's
                                     role when set, then grant DATABASE_URL's role what it needs)
  console operator add --email E --name N --role support|admin|auditor [--break-glass]
                                     add an operator with their own password, read as one line from
                                     stdin; --break-glass keeps password sign-in open to them when
                                     CONSOLE_LOCAL_SIGNIN=off
  console operator disable --email E disable an operator and end their sessions
  console operator reset-password --email E
                                     give an operator a new one-time password (printed once), end their
                                     sessions; they must choose their own at the next sign-in
  console operator list              list operators
  console audit verify [--checkpoint FILE]
                                     verify the audit log's hash chain (exit 1 when broken)
  console audit checkpoint --out FILE
                                     sign the chain head now (needs CONSOLE_AUDIT_SIGNING_KEY or a local key)
  console audit seed --events N --i-know-this-is-not-production
                                     append synthetic events, for benchmarks on a scratch database
  console simulator [flags]          run the built-in Synerise simulator standalone

Each command takes --help. Configuration comes from the environment:
`

// run is the whole program: it parses the subcommand and calls it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		printUsage(stdout)
		return nil
	}
	cmd, rest := args[0], args[1:]
	if cmd == "simulator" {
		return runSimulator(ctx, rest, stdout, stderr)
	}
	if cmd == "audit" {
		return runAudit(ctx, rest, getenv, stdout, stderr)
	}
	if cmd == "operator" && len(rest) > 0 {
		cmd, rest = cmd+" "+rest[0], rest[1:]
	}
	f, helped, err := parseFlags(cmd, rest, stderr)
	if errors.Is(err, errUnknownCommand) {
		printUsage(stderr)
		return exitError{code: 2, msg: fmt.Sprintf("console: unknown command %q", strings.Join(args, " "))}
	}
	if err != nil || helped {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.LogLevel)
	switch cmd {
	case "serve":
		return server.Run(ctx, cfg, server.Options{Terminal: stdout, Logger: logger})
	case "migrate":
		if err := server.Migrate(ctx, &cfg, logger); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	}
	return runOperator(ctx, cmd, f, cfg, logger, stdin, stdout)
}

// errUnknownCommand is parseFlags' answer to a command it does not know.
var errUnknownCommand = errors.New("console: unknown command")

// operatorFlags are the flags of the operator commands.
type operatorFlags struct {
	email, name, role string
	breakGlass        bool
}

// parseFlags parses the flags of cmd; helped reports that --help was asked and answered.
func parseFlags(cmd string, args []string, stderr io.Writer) (f operatorFlags, helped bool, err error) {
	fs := flag.NewFlagSet("console "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch cmd {
	case "operator add":
		fs.StringVar(&f.email, "email", "", "operator's e-mail (required)")
		fs.StringVar(&f.name, "name", "", "operator's name (required)")
		fs.StringVar(&f.role, "role", "", "support, admin or auditor (required)")
		fs.BoolVar(&f.breakGlass, "break-glass", false, "may sign in with a password while CONSOLE_LOCAL_SIGNIN=off")
	case "operator disable", "operator reset-password":
		fs.StringVar(&f.email, "email", "", "operator's e-mail (required)")
	case "serve", "migrate", "operator list":
	default:
		return f, false, errUnknownCommand
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: console %s [flags]\n", cmd)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, true, nil
		}
		return f, false, exitError{code: 2}
	}
	return f, false, nil
}

// runOperator runs one of the operator commands on the configured database.
func runOperator(ctx context.Context, cmd string, f operatorFlags, cfg config.Config, logger *slog.Logger, stdin io.Reader, stdout io.Writer) error {
	pool, closeDB, err := server.Database(ctx, &cfg, logger)
	if err != nil {
		return err
	}
	defer closeDB()
	ops := operators.NewStore(pool)
	auditLog := audit.NewStore(pool)
	system := audit.Actor{Email: "console-cli", Role: "system"}

	switch cmd {
	case "operator add":
		return addOperator(ctx, ops, auditLog, system, newOperator(f), stdin, stdout)
	case "operator reset-password":
		return operatorResetPassword(ctx, ops, auditLog, system, f.email, stdout)
	case "operator disable":
		return operatorDisable(ctx, ops, auditLog, system, f.email, stdout)
	case "operator list":
		return operatorList(ctx, ops, stdout)
	}
	return nil
}

func operatorList(ctx context.Context, ops *operators.Store, stdout io.Writer) error {
	list, err := ops.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tE-MAIL\tNAME\tROLE\tSTATE")
	for _, o := range list {
		state := "active"
		if o.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", o.ID, o.Email, o.Name, o.Role, state)
	}
	return tw.Flush()
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, usage)
	for _, v := range config.Variables() {
		fmt.Fprintf(w, "  %-30s %s (default: %s)\n", v.Name, v.Meaning, v.Default)
	}
}
