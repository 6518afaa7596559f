package idptest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// binary returns the path of a built cmd/testidp. The binary is cached in the temp
// directory under a hash of its sources, go.mod, go.sum and the Go version, so that a
// test binary (or several running at once) builds it once, without package state.
func binary(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("idptest: %v", err)
	}
	key, err := sourceHash(root)
	if err != nil {
		t.Fatalf("idptest: %v", err)
	}
	dir := filepath.Join(os.TempDir(), "testidp-"+key)
	bin := filepath.Join(dir, "testidp")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "build", "-o", filepath.Join(tmp, "testidp"), "./cmd/testidp")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("idptest: go build ./cmd/testidp: %v\n%s", err, out)
	}
	// Rename is atomic: a concurrent build of the same sources replaces it harmlessly.
	if err := os.Rename(filepath.Join(tmp, "testidp"), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// moduleRoot walks up from the working directory (a package of this module) to go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func sourceHash(root string) (string, error) {
	files, err := filepath.Glob(filepath.Join(root, "cmd", "testidp", "*.go"))
	if err != nil {
		return "", err
	}
	files = append(files, filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum"))
	h := sha256.New()
	h.Write([]byte(runtime.Version()))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		h.Write([]byte(f))
		h.Write(raw)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
