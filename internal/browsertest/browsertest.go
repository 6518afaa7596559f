// Package browsertest drives a real, headless Chromium from Go tests through
// playwright-go. It is used only by tests.
//
// One browser is started per test binary and shared by all its tests; each test
// gets its own browser context (isolated cookies and storage). Wire it up with
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
//
// or, when the package also needs another harness such as dbtest,
//
//	func TestMain(m *testing.M) {
//		stop, err := browsertest.Start()
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		code := dbtest.Main(m)
//		stop()
//		os.Exit(code)
//	}
//
// There is no skipping: if the driver or the browser cannot start, every test fails.
//
// The Playwright driver is the npm package playwright-core, run by the system node, in
// $PLAYWRIGHT_DRIVER_PATH or <repo root>/.cache/playwright-driver; when it is missing or
// has the wrong version, Start runs scripts/playwright-driver.sh once to build it.
// Chromium comes from $CHROMIUM_PATH or /usr/bin/chromium (Debian's package). Playwright's
// own downloads are never used.
//
// Locate elements the way a person would: page.GetByLabel, page.GetByRole,
// page.GetByText. Wait with assertions, never with sleeps:
//
//	browsertest.Check(t, browsertest.Expect().Locator(page.GetByText("Saved")).ToBeVisible())
package browsertest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
)

// Timeout is the default timeout, in milliseconds, for actions, navigations and
// assertions: short, so that a failing wait fails fast.
const Timeout = 10_000

// DefaultChromium is used when $CHROMIUM_PATH is unset.
const DefaultChromium = "/usr/bin/chromium"

// ChromiumArgs are passed to every Chromium launch. --no-sandbox is needed when
// running as root (as on CI); the rest keep the browser quiet and offline.
var ChromiumArgs = []string{
	"--no-sandbox",
	"--disable-gpu",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--no-first-run",
	"--disable-quic",
	"--disable-dev-shm-usage",
}

// Viewport is the size of every page.
var Viewport = playwright.Size{Width: 1280, Height: 900}

var (
	mu      sync.Mutex
	pw      *playwright.Playwright
	browser playwright.Browser
	root    string
)

// Main starts the browser, runs the tests and shuts everything down. It returns
// the exit code for os.Exit; 1 with a reason on stderr if the browser cannot start.
func Main(m *testing.M) int {
	stop, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		fmt.Fprintln(os.Stderr, "browsertest: browser tests cannot run; failing (tests never skip for lack of a browser)")
		return 1
	}
	code := m.Run()
	stop()
	return code
}

// Start starts the Playwright driver and Chromium for this test binary. Call the
// returned stop after the tests have run. Prefer Main unless TestMain must combine harnesses.
func Start() (stop func(), err error) {
	mu.Lock()
	defer mu.Unlock()
	if browser != nil {
		return nil, errors.New("browsertest: Start called twice")
	}
	r, err := RepoRoot()
	if err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	dir, err := driverDir(r)
	if err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	if err := ensureDriver(r, dir); err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}

	p, err := playwright.Run(&playwright.RunOptions{
		DriverDirectory:     dir,
		SkipInstallBrowsers: true,
		Stdout:              os.Stderr, // keep driver chatter out of `go test -json` stdout
		Stderr:              os.Stderr,
	})
	if err != nil {
		return nil, fmt.Errorf("browsertest: starting the Playwright driver in %s: %w", dir, err)
	}
	b, err := launchChromium(p)
	if err != nil {
		_ = p.Stop()
		return nil, err
	}
	pw, browser, root = p, b, r
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if browser != nil {
			_ = browser.Close()
		}
		if pw != nil {
			_ = pw.Stop()
		}
		pw, browser = nil, nil
	}, nil
}

// driverDir is where the Playwright driver lives: PLAYWRIGHT_DRIVER_PATH, or .cache in the
// repository.
func driverDir(repoRoot string) (string, error) {
	dir := os.Getenv("PLAYWRIGHT_DRIVER_PATH")
	if dir == "" {
		dir = filepath.Join(repoRoot, ".cache", "playwright-driver")
	}
	return filepath.Abs(dir)
}

// launchChromium starts Debian's Chromium (or CHROMIUM_PATH) headless.
func launchChromium(p *playwright.Playwright) (playwright.Browser, error) {
	exe := os.Getenv("CHROMIUM_PATH")
	if exe == "" {
		exe = DefaultChromium
	}
	if _, err := os.Stat(exe); err != nil {
		return nil, fmt.Errorf("browsertest: no Chromium at %s (install it: apt-get install -y chromium, or set CHROMIUM_PATH): %w", exe, err)
	}
	b, err := p.Chromium.Launch(playwright.BrowserTypeLaunchOptions{
		ExecutablePath: playwright.String(exe),
		Headless:       playwright.Bool(true),
		Args:           ChromiumArgs,
		Timeout:        playwright.Float(60_000),
	})
	if err != nil {
		return nil, fmt.Errorf("browsertest: launching Chromium %s: %w", exe, err)
	}
	return b, nil
}

// ensureDriver builds the driver directory with scripts/playwright-driver.sh when
// it does not answer the version playwright-go needs.
func ensureDriver(repoRoot, dir string) error {
	d, err := playwright.NewDriver(&playwright.RunOptions{DriverDirectory: dir})
	if err != nil {
		return err
	}
	if v := driverVersion(dir); v == d.Version {
		return nil
	}
	script := filepath.Join(repoRoot, "scripts", "playwright-driver.sh")
	fmt.Fprintf(os.Stderr, "browsertest: Playwright driver %s not found in %s; running %s\n", d.Version, dir, script)
	cmd := exec.Command("bash", script, dir)
	cmd.Dir = repoRoot
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building the Playwright driver with %s %s: %w", script, dir, err)
	}
	if v := driverVersion(dir); v != d.Version {
		//lint:ignore ST1005 Playwright is a proper noun.
		return fmt.Errorf("Playwright driver in %s reports version %q after %s, want %s", dir, v, script, d.Version)
	}
	return nil
}

// driverVersion returns what `DIR/node DIR/package/cli.js --version` reports, or "".
func driverVersion(dir string) string {
	node := os.Getenv("PLAYWRIGHT_NODEJS_PATH") // playwright-go honours it too
	if node == "" {
		node = filepath.Join(dir, "node")
	}
	cli := filepath.Join(dir, "package", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		return ""
	}
	out, err := exec.Command(node, cli, "--version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "Version "))
}

// RepoRoot returns the nearest directory at or above the working directory that
// holds go.mod (go test runs each package in its own directory).
func RepoRoot() (string, error) {
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
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}

func sharedBrowser(t testing.TB) playwright.Browser {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if browser == nil {
		t.Fatal("browsertest: no browser; call browsertest.Main (or Start) from TestMain")
	}
	return browser
}

// NewContext returns a fresh browser context (own cookies and storage, downloads
// accepted, 1280x900 viewport, Timeout for actions and navigations), closed at the
// end of the test. Use it directly for tests that need two users at once.
func NewContext(t testing.TB) playwright.BrowserContext {
	t.Helper()
	vp := Viewport
	ctx, err := sharedBrowser(t).NewContext(playwright.BrowserNewContextOptions{
		AcceptDownloads: playwright.Bool(true),
		Viewport:        &vp,
		Locale:          playwright.String("en-US"),
		TimezoneId:      playwright.String("UTC"),
	})
	if err != nil {
		t.Fatalf("browsertest: new browser context: %v", err)
	}
	ctx.SetDefaultTimeout(Timeout)
	ctx.SetDefaultNavigationTimeout(Timeout)
	t.Cleanup(func() { _ = ctx.Close() })
	// Registered after Close, so it runs first: a failed test leaves a picture of every open page.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, p := range ctx.Pages() {
			name := t.Name() + "-failure"
			if i > 0 {
				name += fmt.Sprintf("-%d", i)
			}
			if path, err := screenshot(p, name); err == nil {
				t.Logf("browsertest: failure screenshot %s (page %s)", path, p.URL())
			}
		}
	})
	return ctx
}

// NewPage returns a page in a fresh browser context (see NewContext), closed at
// the end of the test.
func NewPage(t testing.TB) playwright.Page {
	t.Helper()
	ctx := NewContext(t)
	page, err := ctx.NewPage()
	if err != nil {
		t.Fatalf("browsertest: new page: %v", err)
	}
	return page
}

// Goto navigates to url and fails the test unless the response status is below 400.
func Goto(t testing.TB, page playwright.Page, url string) playwright.Response {
	t.Helper()
	resp, err := page.Goto(url)
	if err != nil {
		t.Fatalf("browsertest: goto %s: %v", url, err)
	}
	if resp == nil {
		t.Fatalf("browsertest: goto %s: no response", url)
	}
	if resp.Status() >= 400 {
		t.Fatalf("browsertest: goto %s: HTTP %d", url, resp.Status())
	}
	recordResponse(t, resp)
	return resp
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// ScreenshotDir returns <repo root>/artifacts/screenshots (git-ignored).
func ScreenshotDir() string {
	r := root
	if r == "" {
		r, _ = RepoRoot()
	}
	return filepath.Join(r, "artifacts", "screenshots")
}

// Screenshot saves a full-page PNG as artifacts/screenshots/<name>.png under the
// repo root and returns its path. Characters other than letters, digits, '.', '_'
// and '-' in name become '_' (so t.Name() is fine).
func Screenshot(t testing.TB, page playwright.Page, name string) string {
	t.Helper()
	path, err := screenshot(page, name)
	if err != nil {
		t.Fatalf("browsertest: screenshot %q: %v", name, err)
	}
	return path
}

func screenshot(page playwright.Page, name string) (string, error) {
	name = strings.Trim(unsafeName.ReplaceAllString(name, "_"), "_.")
	if name == "" {
		name = "screenshot"
	}
	dir := ScreenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".png")
	if _, err := page.Screenshot(playwright.PageScreenshotOptions{
		Path:     playwright.String(path),
		FullPage: playwright.Bool(true),
		Type:     playwright.ScreenshotTypePng,
	}); err != nil {
		return "", err
	}
	return path, nil
}

// WatchForScripts records and dismisses every alert, confirm, prompt and
// beforeunload dialog the page opens from now on, and returns a func that lists
// them as "<type>: <message>". Use it to prove that injected markup does not run:
// render a payload such as <img src=x onerror=alert(1)>, wait for the page to
// settle (an assertion on visible content), then require seen() to be empty.
func WatchForScripts(t testing.TB, page playwright.Page) (seen func() []string) {
	t.Helper()
	var (
		mu   sync.Mutex
		list []string
	)
	page.OnDialog(func(d playwright.Dialog) {
		mu.Lock()
		list = append(list, d.Type()+": "+d.Message())
		mu.Unlock()
		_ = d.Dismiss()
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), list...)
	}
}

// Expect returns Playwright's web-first assertions (they retry until Timeout).
// Pass their error to Check.
func Expect() playwright.PlaywrightAssertions {
	return playwright.NewPlaywrightAssertions(Timeout)
}

// Check fails the test now if err is non-nil; what, if given, says what was expected.
//
//	browsertest.Check(t, browsertest.Expect().Locator(loc).ToHaveText("Hello"), "greeting shown")
func Check(t testing.TB, err error, what ...any) {
	t.Helper()
	if err == nil {
		return
	}
	if len(what) > 0 {
		t.Fatalf("%s: %v", fmt.Sprint(what...), err)
	}
	t.Fatal(err)
}

// Until waits, without sleeping blindly, for cond to hold, polling every 50 ms up
// to Timeout. For state outside the page (a database row, a file); for the page
// itself use Expect.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout * time.Millisecond)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("browsertest: timed out after %v waiting for %s", Timeout*time.Millisecond, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
