package main

// The floor: what this machine allows any implementation of an audited customer view.
//
// With -floor the phases measure a reference server instead of the console: a process of
// its own (this binary, re-executed with -floor-serve) that does only what a view cannot
// do without — read the profile from the simulator and, at the same time, make one small
// row durable in PostgreSQL (the same cluster, fsync and synchronous commit as the
// console's), then send a page of the console's size. No session, no templates, no hash
// chain, no history, one index. Its overhead over the direct read, and the views per second
// it sustains with the generator beside it, bound from below what the console can reach on
// the same machine: the distance between the two is the console's own cost.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/synerise/simulator"
)

// floorTable keeps the reference server's rows, one per view, in the run's database.
const floorTable = "loadgen_floor_views"

// floorPageSize is the size of the page the reference server sends: a customer page of
// the console is 14–15 kB.
const floorPageSize = 14 << 10

// floorEnv names the environment variables the generator starts the reference server with.
const (
	floorEnvDB  = "LOADGEN_FLOOR_DATABASE_URL"
	floorEnvSim = "LOADGEN_FLOOR_SIM_URL"
)

// serveFloor runs the reference server on addr until it is stopped (-floor-serve).
func serveFloor(addr string) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv(floorEnvDB))
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+floorTable+` (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),
		client_id bigint NOT NULL, request text NOT NULL)`); err != nil {
		return err
	}
	transport := &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute, DisableCompression: true}
	sim, err := newSimClient(ctx, os.Getenv(floorEnvSim), simulator.DefaultAPIKey, transport)
	if err != nil {
		return err
	}
	f := &floor{pool: pool, sim: sim, page: bytes.Repeat([]byte("<p>profile field</p>\n"), floorPageSize/21)}
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(f.view), ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

type floor struct {
	pool *pgxpool.Pool
	sim  *simClient
	page []byte
}

// view is a customer view reduced to its floor: the durable row beside the profile read,
// the page only when both are done.
func (f *floor) view(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/customers/"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ctx := r.Context()
	recorded := make(chan error, 1)
	go func() {
		_, err := f.pool.Exec(ctx, "INSERT INTO "+floorTable+" (client_id, request) VALUES ($1, $2)", id, r.RemoteAddr)
		recorded <- err
	}()
	code, err := f.sim.getProfile(ctx, id)
	if rerr := <-recorded; rerr != nil || err != nil || code != http.StatusOK {
		http.Error(w, fmt.Sprintf("record %v, read %d %v", rerr, code, err), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(f.page)
}

// startFloor starts the reference server as a process of its own on the run's database
// and simulator.
func startFloor(ctx context.Context, dbURL, simURL, logPath string) (*consoleProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-floor-serve", addr)
	cmd.Env = append(os.Environ(), floorEnvDB+"="+dbURL, floorEnvSim+"="+simURL)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start the reference server: %w", err)
	}
	p := &consoleProc{cmd: cmd, url: "http://" + addr, log: logf, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	for start := time.Now(); ; time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-p.done:
			logf.Close()
			return nil, fmt.Errorf("reference server exited before it was ready (%v); see %s", err, logPath)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		default:
		}
		if floorReady(p.url) {
			return p, nil
		}
		if time.Since(start) > time.Minute {
			p.stop()
			return nil, errors.New("reference server not ready after a minute; see " + logPath)
		}
	}
}

// floorReady reports whether the reference server answers (its table exists by then).
func floorReady(base string) bool {
	res, err := http.Get(base + "/customers/0")
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusBadGateway || res.StatusCode == http.StatusOK
}

// floorRows counts the reference server's rows, as viewRows counts the console's.
func (e *env) floorRows(ctx context.Context) int64 {
	var n int64
	_ = e.pool.QueryRow(ctx, "SELECT count(*) FROM "+floorTable).Scan(&n)
	return n
}
