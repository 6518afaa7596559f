package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"testing"
	"time"

	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/server"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// CONSOLE_MAX_IN_FLIGHT reaches the console `serve` runs: with one slot, a request that
// arrives while a slow one is being served waits and is then refused with 503.
func TestServeAppliesMaxInFlight(t *testing.T) {
	dbURL := dbtest.URL(t)
	env := map[string]string{
		"DATABASE_URL": dbURL, "CONSOLE_ADDR": "127.0.0.1:0", "CONSOLE_MAX_IN_FLIGHT": "1",
		"CONSOLE_SESSION_SECRET": "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b",
		"CONSOLE_SECURE_COOKIES": "false", "CONSOLE_LOG_LEVEL": "warn",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sim := simulator.New(simulator.Options{})
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, cfg, server.Options{Logger: slog.New(slog.DiscardHandler), Simulator: sim,
			Ready: func(addr string) { ready <- "http://" + addr }})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("console not serving after 30s")
	}

	addSupport(t, dbURL, "ines@example.com", "Ines", "in-flight-password-2026")
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn(t, client, base, "ines@example.com", "in-flight-password-2026")
	customer := base + "/customers/" + strconv.FormatInt(sim.Examples()[0].ClientID, 10)

	// The only slot: a customer view held up by Synerise for longer than the queue wait.
	sim.SetFault(simulator.RouteProfileGet, simulator.Fault{Latency: 3 * time.Second})
	slow := make(chan int, 1)
	go func() {
		res, err := client.Get(customer)
		if err != nil {
			slow <- 0
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		slow <- res.StatusCode
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	res, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("a request beyond the one slot: %d, Retry-After %q; want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("refused after %s, without waiting for a slot", waited)
	}
	if code := <-slow; code != http.StatusOK {
		t.Fatalf("the slow view: %d", code)
	}
	sim.ClearFault(simulator.RouteProfileGet)
	if res, err := client.Get(base + "/"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("after the slot is free: %v %v", res, err)
	}
}
