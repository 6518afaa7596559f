package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/raas-console/console/internal/localdb"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// database is where the console under test keeps its data: a fresh database created for
// the run, on the server DATABASE_URL names or on a private throwaway cluster.
type database struct {
	url     string // the run's database
	cleanup func()
}

// openDatabase creates a fresh database for the run. With adminURL empty it starts a
// private cluster under tmp (fsync on unless throwaway), as `make run` would.
func openDatabase(ctx context.Context, adminURL, tmp string, throwaway bool, keep bool) (*database, error) {
	stop := func() {}
	var urlFor func(db string) string
	if adminURL == "" {
		cluster, err := localdb.Start(ctx, localdb.Options{Dir: filepath.Join(tmp, "postgres"), Throwaway: throwaway, Database: "postgres"})
		if err != nil {
			return nil, err
		}
		stop = func() { _ = cluster.Stop() }
		adminURL, urlFor = cluster.URL(), cluster.URLFor
	} else {
		cfg, err := pgx.ParseConfig(adminURL)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		urlFor = func(db string) string {
			c := cfg.Copy()
			c.Database = db
			u := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", c.User, c.Host, c.Port, db)
			if c.Password != "" {
				u = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", c.User, c.Password, c.Host, c.Port, db)
			}
			return u
		}
	}
	name := "loadgen_" + randomHex(4)
	if err := execAdmin(ctx, adminURL, "CREATE DATABASE "+name); err != nil {
		stop()
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	return &database{url: urlFor(name), cleanup: func() {
		if !keep {
			_ = execAdmin(context.Background(), adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		}
		stop()
	}}, nil
}

func execAdmin(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// consoleProc is the console under test running as its own process.
type consoleProc struct {
	cmd  *exec.Cmd
	url  string
	log  *os.File
	done chan error
}

// startConsole runs `console serve` against db and the simulator at simURL and waits
// until /readyz answers 200; it returns how long that took.
func startConsole(ctx context.Context, bin, dbURL, simURL, dataDir, logLevel, logPath string) (*consoleProc, time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"CONSOLE_ADDR="+addr,
		"DATABASE_URL="+dbURL,
		"CONSOLE_DATA_DIR="+dataDir,
		"CONSOLE_SESSION_SECRET="+randomHex(32),
		"CONSOLE_SECURE_COOKIES=false",
		// Each simulated operator signs in from its own X-Forwarded-For address, so the
		// per-IP sign-in limit applies per operator as it would in an office.
		"CONSOLE_TRUSTED_PROXIES=127.0.0.1",
		"SYNERISE_API_URL="+simURL,
		"SYNERISE_API_KEY="+simulator.DefaultAPIKey,
		// The operators sign in with a password alone: a second factor (required by
		// default against a real Synerise) is not what is measured here.
		"CONSOLE_MFA_REQUIRED=none",
		"CONSOLE_LOG_LEVEL="+logLevel,
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, 0, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &consoleProc{cmd: cmd, url: "http://" + addr, log: logf, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	for {
		select {
		case err := <-p.done:
			logf.Close()
			return nil, 0, fmt.Errorf("console exited before it was ready (%v); see %s", err, logPath)
		case <-ctx.Done():
			p.stop()
			return nil, 0, ctx.Err()
		default:
		}
		res, err := http.Get(p.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p, time.Since(start), nil
			}
		}
		if time.Since(start) > time.Minute {
			p.stop()
			return nil, 0, errors.New("console not ready after a minute; see " + logPath)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// startSimulator runs `console simulator` as a process of its own, as Synerise is for the
// console, on addr (a free loopback port when empty) with any extra flags, and waits until
// it accepts connections.
func startSimulator(ctx context.Context, bin, addr string, seed int64, customers int, latency time.Duration, logPath string, extra ...string) (*consoleProc, error) {
	if addr == "" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr = "127.0.0.1:" + strconv.Itoa(port)
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	args := append([]string{"simulator", "-addr", addr, "-seed", strconv.FormatInt(seed, 10),
		"-customers", strconv.Itoa(customers), "-latency", latency.String()}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s simulator: %w", bin, err)
	}
	p := &consoleProc{cmd: cmd, url: "http://" + addr, log: logf, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	start := time.Now()
	for {
		select {
		case err := <-p.done:
			logf.Close()
			return nil, fmt.Errorf("simulator exited before it was ready (%v); see %s", err, logPath)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		default:
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return p, nil
		}
		if time.Since(start) > time.Minute {
			p.stop()
			return nil, errors.New("simulator not accepting connections after a minute; see " + logPath)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stop ends the console gracefully (SIGTERM) and waits for it.
func (p *consoleProc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.log.Close()
}

// procMemory reads a process's resident memory from /proc/<pid>/status: the current
// (VmRSS) and the peak (VmHWM), in MB.
func procMemory(pid int) (rss, hwm float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		for key, dst := range map[string]*float64{"VmRSS:": &rss, "VmHWM:": &hwm} {
			if rest, ok := strings.CutPrefix(line, key); ok {
				kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
				*dst = float64(kb) / 1024
			}
		}
	}
	return rss, hwm
}

// resetPeak resets a process's VmHWM to its current RSS, so each phase reports its own
// peak (Linux: writing 5 to clear_refs). It reports whether that worked.
func resetPeak(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cpuTime is the user+system CPU a process has used, from /proc/<pid>/stat.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command may hold spaces; fields after it start past the last ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// machineCPU reads the first line of /proc/stat: CPU time spent busy (user, nice, system,
// irq, softirq) and stolen by the hypervisor, summed over all CPUs.
func machineCPU() (busy, steal time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	ticks := func(i int) time.Duration {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		return time.Duration(n) * time.Second / 100 // USER_HZ
	}
	return ticks(1) + ticks(2) + ticks(3) + ticks(6) + ticks(7), ticks(8)
}

// backendsCPU is the CPU used by the PostgreSQL backends serving database db (their
// process titles name it): what the console's queries cost the server.
func backendsCPU(db string) time.Duration {
	if db == "" {
		return 0
	}
	entries, _ := os.ReadDir("/proc")
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.HasPrefix(string(cmd), "postgres: ") || !strings.Contains(string(cmd), " "+db+" ") {
			continue
		}
		total += cpuTime(pid)
	}
	return total
}
