package server_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/database"
	"github.com/raas-console/console/internal/dbtest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
	"github.com/raas-console/console/internal/server"
)

// When CONSOLE_TEST_REPLICA is set, the test binary is one console process: the same
// server.Run as `console serve`.
func TestMain(m *testing.M) {
	if os.Getenv("CONSOLE_TEST_REPLICA") == "1" {
		os.Exit(serveReplica())
	}
	os.Exit(dbtest.Main(m))
}

func serveReplica() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return 2
	}
	err = server.Run(ctx, cfg, server.Options{Terminal: os.Stdout, Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil))})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	return 0
}

type replica struct {
	cmd  *exec.Cmd
	URL  string
	done chan error
}

func startReplica(t *testing.T, dbURL string) *replica {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"CONSOLE_TEST_REPLICA=1", "DATABASE_URL="+dbURL, "CONSOLE_ADDR=127.0.0.1:0",
		"CONSOLE_SESSION_SECRET=9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b",
		"CONSOLE_SECURE_COOKIES=false", "CONSOLE_LOG_LEVEL=warn", "CONSOLE_SHUTDOWN_TIMEOUT=10s")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "Console ready at "); ok {
				ready <- strings.TrimSuffix(addr, "/")
			}
		}
		r.done <- cmd.Wait()
	}()
	select {
	case r.URL = <-ready:
	case err := <-r.done:
		t.Fatalf("replica exited before serving: %v", err)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("replica did not start within 30s")
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	return r
}

// stop sends SIGTERM and waits for a clean exit.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("replica did not exit cleanly: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("replica did not stop within 20s of SIGTERM")
	}
}

// Two console processes on one database: a session made on one works on the other, and
// audit appends from both at once form one valid chain.
func TestTwoReplicasShareSessionsAndOneAuditChain(t *testing.T) {
	dbURL := dbtest.URL(t)
	a := startReplica(t, dbURL)
	b := startReplica(t, dbURL)

	ctx := context.Background()
	pool := addSupport(t, dbURL, "rita@example.com", "Rita", "replica-password-2026")

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn(t, client, a.URL, "rita@example.com", "replica-password-2026")
	res, err := client.Get(b.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), "Welcome, Rita") {
		t.Fatalf("session from replica A on replica B: %d", res.StatusCode)
	}

	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			target := a.URL
			if i%2 == 1 {
				target = b.URL
			}
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			tryLogin(c, target, "nobody@example.com", "wrong-password-here")
		}(i)
	}
	wg.Wait()
	a.stop(t)
	b.stop(t)

	report, err := audit.NewStore(pool).Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !report.Intact() || report.RowsChecked < 41 {
		t.Fatalf("chain after concurrent appends from two processes: %s", report)
	}
}

// addSupport creates a support operator in the database at dbURL and returns a pool on it,
// closed when the test ends.
func addSupport(t *testing.T, dbURL, email, name, pw string) *pgxpool.Pool {
	t.Helper()
	pool, err := database.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	hash, _ := password.Hash(pw)
	if _, err := operators.NewStore(pool).Create(context.Background(), email, name, operators.RoleSupport, hash); err != nil {
		t.Fatal(err)
	}
	return pool
}

func signIn(t *testing.T, c *http.Client, base, email, pw string) {
	t.Helper()
	if res := tryLogin(c, base, email, pw); res != http.StatusSeeOther {
		t.Fatalf("sign-in on %s: %d", base, res)
	}
}

func tryLogin(c *http.Client, base, email, pw string) int {
	res, err := c.Get(base + "/login")
	if err != nil {
		return 0
	}
	res.Body.Close()
	u, _ := url.Parse(base)
	token := ""
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "console_csrf" {
			token = ck.Value
		}
	}
	res, err = c.PostForm(base+"/login", url.Values{"email": {email}, "password": {pw}, "_csrf": {token}})
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}
