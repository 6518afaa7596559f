// Package e2e drives the real console in a real Chromium, like a person would: the same
// server.Run that `console serve` uses, its own PostgreSQL database, and the in-process
// Synerise simulator.
package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/database"
	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
	"github.com/raas-console/console/internal/server"
	"github.com/raas-console/console/internal/synerise/simulator"
)

func TestMain(m *testing.M) {
	stop, err := browsertest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	checkHTML, err := browsertest.CollectHTML()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := dbtest.Main(m)
	stop()
	// Every page the journeys reached, in one run of the Nu HTML Checker.
	if err := checkHTML(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// testPassword is every operator's password in these journeys.
const testPassword = "journey-password-2026"

// console is one running console for a test.
type console struct {
	t    *testing.T
	URL  string
	sim  *simulator.Simulator
	pool *pgxpool.Pool
	ops  *operators.Store
	log  *audit.Store
	hash string
}

func startConsole(t *testing.T) *console { return startConsoleWith(t, nil) }

// startConsoleWith starts the console with extra environment on top of the test defaults.
func startConsoleWith(t *testing.T, extra map[string]string) *console {
	t.Helper()
	dbURL := dbtest.URL(t)
	env := map[string]string{
		"CONSOLE_ADDR":           "127.0.0.1:0",
		"DATABASE_URL":           dbURL,
		"CONSOLE_SESSION_SECRET": "5f0c4a2e9b7d1c3e8f6a0b2d4c6e8a1f3b5d7c9e1a2b4c6d8e0f1a3b5c7d9e1f",
		"CONSOLE_SECURE_COOKIES": "false",
		"CONSOLE_LOG_LEVEL":      "warn",
	}
	maps.Copy(env, extra)
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	sim := simulator.New(simulator.Options{Customers: 500})
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, cfg, server.Options{
			Logger:    slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Ready:     func(addr string) { ready <- addr },
			Simulator: sim,
		})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("console did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("console did not start within 30s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("console stopped with: %v", err)
		}
	})
	pool, err := database.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	hash, err := password.Hash(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	return &console{t: t, URL: "http://" + addr, sim: sim, pool: pool,
		ops: operators.NewStore(pool), log: audit.NewStore(pool), hash: hash}
}

var operatorN atomic.Int64

// operator creates an operator of role and returns their e-mail.
func (c *console) operator(role operators.Role) string {
	c.t.Helper()
	email := string(role) + strconv.FormatInt(operatorN.Add(1), 10) + "@example.com"
	if _, err := c.ops.Create(context.Background(), email, "Test "+string(role), role, c.hash); err != nil {
		c.t.Fatal(err)
	}
	return email
}

// signIn opens a fresh browser context and signs in as a new operator of role.
func (c *console) signIn(role operators.Role) (playwright.Page, string) {
	c.t.Helper()
	email := c.operator(role)
	page := browsertest.NewPage(c.t)
	c.signInAs(page, email, testPassword)
	return page, email
}

func (c *console) signInAs(page playwright.Page, email, pw string) {
	c.t.Helper()
	browsertest.Goto(c.t, page, c.URL+"/login")
	check(c.t, page.GetByLabel("E-mail").Fill(email))
	check(c.t, page.GetByLabel("Password").Fill(pw))
	// Exactly "Sign in": "Sign in with <provider>" and "Sign in with a passkey" may be there too.
	check(c.t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Sign in", Exact: playwright.Bool(true)}).Click())
	expectVisible(c.t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Sign out"}))
}

// events returns the audit events with action, oldest first.
func (c *console) events(action audit.Action) []audit.Event {
	c.t.Helper()
	rows, err := c.pool.Query(context.Background(), `SELECT seq FROM audit_events WHERE action = $1 ORDER BY seq`, string(action))
	if err != nil {
		c.t.Fatal(err)
	}
	var seqs []int64
	for rows.Next() {
		var s int64
		_ = rows.Scan(&s)
		seqs = append(seqs, s)
	}
	rows.Close()
	var out []audit.Event
	for _, s := range seqs {
		e, err := c.log.Get(context.Background(), s)
		if err != nil {
			c.t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func check(t *testing.T, err error, what ...any) {
	t.Helper()
	browsertest.Check(t, err, what...)
}

func expectVisible(t *testing.T, l playwright.Locator) {
	t.Helper()
	browsertest.Check(t, browsertest.Expect().Locator(l).ToBeVisible())
}

func expectText(t *testing.T, l playwright.Locator, text string) {
	t.Helper()
	browsertest.Check(t, browsertest.Expect().Locator(l).ToContainText(text))
}

// checkA11y fails the test when the page, in the named state, breaks a WCAG 2.2 AA rule
// (axe-core), and keeps its markup for the Nu HTML Checker run after the tests.
func checkA11y(t *testing.T, page playwright.Page, state string) {
	t.Helper()
	browsertest.CheckA11y(t, page, state)
}

func heading(page playwright.Page, name string) playwright.Locator {
	return page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: name, Level: playwright.Int(1)})
}

func button(page playwright.Page, name string) playwright.Locator {
	return page.GetByRole("button", playwright.PageGetByRoleOptions{Name: name, Exact: playwright.Bool(true)})
}
