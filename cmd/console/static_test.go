package main

import (
	"bufio"
	"debug/elf"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The binary the Dockerfile ships: built with CGO_ENABLED=0, it is static and starts
// alone in an empty directory with an empty environment (but for its address), with
// templates, static files and migrations embedded, and answers /healthz.
func TestStaticBinaryStartsAlone(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "console")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary needs a dynamic loader: it is not static")
		}
	}
	f.Close()

	work := filepath.Join(dir, "run")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Dir = work
	cmd.Env = []string{"CONSOLE_ADDR=" + addr}
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	printed := ""
	for !strings.Contains(printed, "Console ready at") {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("console exited before serving; it printed:\n%s", printed)
			}
			printed += line + "\n"
		case <-deadline:
			t.Fatalf("console not ready within 60s; it printed:\n%s", printed)
		}
	}
	if !strings.Contains(printed, "password:") {
		t.Errorf("first admin's password not shown on a fresh data directory:\n%s", printed)
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %v %v", res, err)
	}
	res.Body.Close()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("console did not stop cleanly on SIGTERM: %v", err)
	}
	if _, err := os.Stat(filepath.Join(work, ".data", "postgres", "data", "postmaster.pid")); err == nil {
		t.Fatal("the private PostgreSQL was left running")
	}
}
