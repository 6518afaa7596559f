// Command testidp is a small OpenID provider for the console's tests: one confidential
// client, users with groups, a login form, and control endpoints under /_control/ that
// rotate keys, change users and make the next ID tokens misbehave. It is never shipped.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testidp:", err)
		os.Exit(1)
	}
}

// run serves the provider until ctx ends. It prints one line, "issuer <URL>", once the
// listener is open, so that a parent process can read the address chosen for :0.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("testidp", flag.ContinueOnError)
	configPath := fs.String("config", "", "JSON file with addr, client and users")
	addr := fs.String("addr", "", "listen address (overrides the file's addr; default 127.0.0.1:0)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	issuer := "http://" + ln.Addr().String()
	handler, err := newServer(issuer, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "issuer %s\n", issuer)
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
