package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Main runs the simulator as a command:
//
//	console simulator --addr 127.0.0.1:9090 --seed N --customers 5000 \
//	    --api-key K (repeatable) --token-lifetime 1h --expired-token-status 401 --latency 0
//
// It prints the address, the API keys and the example customers, and serves
// until ctx is done. It then shuts down gracefully (requests in flight finish)
// and prints one last line, "counts at shutdown: " and a JSON object
// {"requests":{route:n},"executed":{route:n},"tokensRejected":{reason:n}}, so a harness that restarts the
// simulator can add up what the stopped process handled. --help prints the
// usage and returns nil.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts Options
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	fs.Int64Var(&opts.Seed, "seed", 0, "seed of the generated customer set")
	fs.IntVar(&opts.Customers, "customers", DefaultCustomers, "number of customers to generate")
	fs.DurationVar(&opts.TokenLifetime, "token-lifetime", DefaultTokenLifetime, "lifetime of workspace tokens")
	fs.IntVar(&opts.ExpiredTokenStatus, "expired-token-status", 401, "status an expired token is answered with (401 or 403)")
	fs.DurationVar(&opts.Latency, "latency", 0, "latency added to every request")
	fs.Func("api-key", "accepted workspace API key (repeatable; default "+DefaultAPIKey+")", func(v string) error {
		if v == "" {
			return errors.New("empty API key")
		}
		opts.APIKeys = append(opts.APIKeys, v)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: console simulator [flags]\n\nServes a built-in Synerise workspace simulator.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("simulator: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("simulator: unexpected arguments %q", fs.Args())
	}
	if opts.Customers < 1 {
		return errors.New("simulator: --customers must be at least 1")
	}
	if opts.TokenLifetime <= 0 {
		return errors.New("simulator: --token-lifetime must be positive")
	}
	if opts.ExpiredTokenStatus != 401 && opts.ExpiredTokenStatus != 403 {
		return errors.New("simulator: --expired-token-status must be 401 or 403")
	}
	if len(opts.APIKeys) == 0 {
		opts.APIKeys = []string{DefaultAPIKey}
	}
	srv, err := Start(opts, *addr)
	if err != nil {
		return err
	}
	printBanner(stdout, srv, opts)
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	counts, _ := json.Marshal(ShutdownCounts{Requests: srv.Simulator.RequestCounts(), Executed: srv.Simulator.ExecutedCounts(),
		TokensRejected: srv.Simulator.TokenRejections()})
	fmt.Fprintf(stdout, "%s%s\n", ShutdownCountsPrefix, counts)
	if err != nil {
		return fmt.Errorf("simulator: shut down: %w", err)
	}
	return nil
}

// ShutdownCountsPrefix starts the line Main prints last, followed by ShutdownCounts as JSON.
const ShutdownCountsPrefix = "counts at shutdown: "

// ShutdownCounts are the request and executed counters per route of a simulator
// that Main has shut down.
type ShutdownCounts struct {
	Requests       map[string]int `json:"requests"`
	Executed       map[string]int `json:"executed"`
	TokensRejected map[string]int `json:"tokensRejected"`
}

func printBanner(w io.Writer, srv *Server, opts Options) {
	fmt.Fprintf(w, "Synerise simulator listening on %s (seed %d, %d customers, token lifetime %s)\n",
		srv.URL, opts.Seed, opts.Customers, opts.TokenLifetime)
	for _, k := range opts.APIKeys {
		fmt.Fprintf(w, "API key: %s\n", k)
	}
	fmt.Fprintf(w, "Admin endpoints: %s/_simulator/outbox, /settings, /faults, /auth, /tokens/revoke, /requests, /executed, /examples, /accounts/{clientId}\n", srv.URL)
	fmt.Fprintln(w, "Example customers:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  STATE\tCLIENT ID\tE-MAIL\tUUID\tDEVICE ID")
	for _, e := range srv.Simulator.Examples() {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\n", e.State, e.ClientID, orDash(e.Email), e.UUID, orDash(e.DeviceID))
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
