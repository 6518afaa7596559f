package browsertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// The checking tools (axe-core and the Nu HTML Checker) come from npm through
// scripts/a11y-tools.sh into $A11Y_TOOLS_PATH or <repo root>/.cache/a11y-tools.
// They are fetched once per test binary, on first use.
var (
	toolsOnce sync.Once
	toolsDir  string
	toolsErr  error
)

// Tools returns the directory holding axe.min.js and vnu.jar, running
// scripts/a11y-tools.sh when either is missing.
func Tools() (string, error) {
	toolsOnce.Do(func() { toolsDir, toolsErr = ensureTools() })
	return toolsDir, toolsErr
}

func ensureTools() (string, error) {
	r, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("browsertest: %w", err)
	}
	dir := os.Getenv("A11Y_TOOLS_PATH")
	if dir == "" {
		dir = filepath.Join(r, ".cache", "a11y-tools")
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", err
	}
	if haveTools(dir) {
		return dir, nil
	}
	script := filepath.Join(r, "scripts", "a11y-tools.sh")
	cmd := exec.Command("bash", script, dir)
	cmd.Dir = r
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("browsertest: fetching axe-core and vnu-jar with %s %s: %w", script, dir, err)
	}
	if !haveTools(dir) {
		return "", fmt.Errorf("browsertest: %s did not leave axe.min.js and vnu.jar in %s", script, dir)
	}
	return dir, nil
}

func haveTools(dir string) bool {
	for _, f := range []string{"axe.min.js", "vnu.jar"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}
