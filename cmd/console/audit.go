package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/server"
)

// runAudit runs `console audit <sub>`.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: "console audit: want a subcommand: verify"}
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("console audit "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch sub {
	case "verify":
	default:
		return exitError{code: 2, msg: fmt.Sprintf("console audit: unknown subcommand %q", sub)}
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return exitError{code: 2}
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	pool, closeDB, err := server.Database(ctx, &cfg, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer closeDB()
	store := audit.NewStore(pool)
	report, err := store.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, report.String())
	if !report.Intact() {
		return exitError{code: 1, msg: report.First.String()}
	}
	return nil
}
