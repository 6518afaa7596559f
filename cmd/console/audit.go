package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/server"
)

// notProductionFlag must be given to `console audit seed`: it writes synthetic events
// into the audit log, which a production log must never contain.
const notProductionFlag = "i-know-this-is-not-production"

const auditUsage = `Usage:
  console audit verify [--checkpoint FILE]   verify the hash chain; exit 1 and print seq=N when broken
  console audit verify --ndjson FILE [--partial]
                                             verify a file received from the audit stream (no database)
  console audit checkpoint --out FILE        sign the chain head now and write the checkpoint to FILE
  console audit seed --events N --i-know-this-is-not-production
                                             append N synthetic events (benchmarks only)

Each takes --help.
`

// runAudit runs `console audit <sub>`.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: "console audit: want a subcommand: verify, checkpoint or seed"}
	}
	if args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(stdout, auditUsage)
		return nil
	}
	sub := args[0]
	if sub == "verify" && wantsNDJSON(args[1:]) {
		return auditVerifyNDJSON(args[1:], stdout, stderr)
	}
	f, helped, err := parseAuditFlags(sub, args[1:], stderr)
	if err != nil || helped {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.LogLevel)
	pool, closeDB, err := server.Database(ctx, &cfg, logger)
	if err != nil {
		return err
	}
	defer closeDB()
	store := audit.NewStore(pool)
	switch sub {
	case "checkpoint":
		return auditCheckpoint(ctx, store, cfg, f.out, stdout)
	case "seed":
		return auditSeed(ctx, store, f.events, f.span, stdout)
	}
	return auditVerify(ctx, store, cfg, f.checkpointFile, stdout)
}

// auditFlags are the flags of the audit subcommands.
type auditFlags struct {
	checkpointFile, out string
	events              int
	span                time.Duration
	notProduction       bool
}

// parseAuditFlags parses and checks the flags of the audit subcommand sub; helped reports
// that --help was asked and answered.
func parseAuditFlags(sub string, args []string, stderr io.Writer) (f auditFlags, helped bool, err error) {
	fs := flag.NewFlagSet("console audit "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch sub {
	case "verify":
		fs.StringVar(&f.checkpointFile, "checkpoint", "", "also check a signed checkpoint file: its signature, and that the log still holds its row (detects rows cut from the tail)")
	case "checkpoint":
		fs.StringVar(&f.out, "out", "", "write the signed checkpoint to this file (required)")
	case "seed":
		fs.IntVar(&f.events, "events", 0, "how many synthetic events to append (required)")
		fs.DurationVar(&f.span, "span", 365*24*time.Hour, "spread the events over this span ending now")
		fs.BoolVar(&f.notProduction, notProductionFlag, false, "confirm that the database is not a production one (required)")
	default:
		return f, false, exitError{code: 2, msg: fmt.Sprintf("console audit: unknown subcommand %q", sub)}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, true, nil
		}
		return f, false, exitError{code: 2}
	}
	switch {
	case sub == "checkpoint" && f.out == "":
		return f, false, exitError{code: 2, msg: "console audit checkpoint: --out FILE is required"}
	case sub == "seed" && !f.notProduction:
		return f, false, exitError{code: 2, msg: "console audit seed: refusing to write synthetic events into the audit log without --" + notProductionFlag +
			" (only ever run it against a benchmark or test database)"}
	case sub == "seed" && f.events <= 0:
		return f, false, exitError{code: 2, msg: "console audit seed: --events N must be positive"}
	}
	return f, false, nil
}

// auditVerify walks the chain and, with a checkpoint file, checks the log against it.
func auditVerify(ctx context.Context, store *audit.Store, cfg config.Config, checkpointFile string, stdout io.Writer) error {
	report, err := store.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, report.String())
	if !report.Intact() {
		return exitError{code: 1, msg: report.First.String()}
	}
	if checkpointFile == "" {
		return nil
	}
	cp, err := audit.ReadCheckpointFile(checkpointFile)
	if err != nil {
		return exitError{code: 1, msg: err.Error()}
	}
	if err := store.VerifyCheckpoint(ctx, cp, nil); err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("checkpoint %s: %v", checkpointFile, err)}
	}
	fmt.Fprintf(stdout, "checkpoint holds: seq=%d hash=%x signed %s by key %s\n",
		cp.Seq, cp.Hash, cp.Time.Format(time.RFC3339), base64.StdEncoding.EncodeToString(cp.PublicKey))
	if cfg.AuditSigningKey != "" {
		signer, err := audit.LoadSigner(cfg.AuditSigningKey)
		if err != nil {
			return err
		}
		if err := store.VerifyCheckpoint(ctx, cp, signer.PublicKey()); err != nil {
			return exitError{code: 1, msg: fmt.Sprintf("checkpoint %s: %v", checkpointFile, err)}
		}
		fmt.Fprintln(stdout, "the checkpoint is signed by the configured key (CONSOLE_AUDIT_SIGNING_KEY)")
	} else {
		fmt.Fprintln(stdout, "compare the key above with the public key on the console's Integrity page")
	}
	return nil
}

// auditCheckpoint signs the chain head with the configured key and writes the file.
func auditCheckpoint(ctx context.Context, store *audit.Store, cfg config.Config, out string, stdout io.Writer) error {
	var signer *audit.Signer
	var err error
	switch {
	case cfg.AuditSigningKey != "":
		signer, err = audit.LoadSigner(cfg.AuditSigningKey)
	case cfg.LocalDatabase():
		signer, err = audit.LoadOrGenerateSigner(filepath.Join(cfg.DataDir, audit.LocalKeyFile))
	default:
		return exitError{code: 1, msg: "console audit checkpoint: no signing key: set CONSOLE_AUDIT_SIGNING_KEY to an Ed25519 PEM (PKCS #8) key file"}
	}
	if err != nil {
		return err
	}
	cp, err := store.Checkpoint(ctx, signer)
	if err != nil {
		return err
	}
	if err := audit.WriteCheckpointFile(out, cp); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checkpoint seq=%d hash=%x written to %s\n", cp.Seq, cp.Hash, out)
	return nil
}

// auditSeed appends synthetic events for benchmarks and reports the rate.
func auditSeed(ctx context.Context, store *audit.Store, events int, span time.Duration, stdout io.Writer) error {
	start := time.Now()
	last := start
	n, err := store.Seed(ctx, audit.SeedOptions{Events: events, Span: span, Seed: uint64(start.UnixNano()), Progress: func(written int) {
		if time.Since(last) >= 5*time.Second || written == events {
			last = time.Now()
			fmt.Fprintf(stdout, "%d/%d events (%.0f/s)\n", written, events, float64(written)/time.Since(start).Seconds())
		}
	}})
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(stdout, "seeded %d events in %s (%.0f events/s)\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	return nil
}
