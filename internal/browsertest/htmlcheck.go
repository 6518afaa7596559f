package browsertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/playwright-community/playwright-go"
)

// The markup of the pages a test binary reaches is kept in one directory and checked by
// the W3C Nu HTML Checker in one Java run at the end (one JVM start, not one per page).
var (
	htmlMu    sync.Mutex
	htmlDir   string
	htmlPages map[string]string // file name -> "state (URL)"
)

// CollectHTML starts keeping the markup of every page given to Goto (the server's
// response) and to CheckA11y (the document as it stands, after htmx swaps). Call the
// returned check after the tests: it runs the Nu HTML Checker over all of it and
// returns an error listing each error by page, line and message. Without a Java runtime
// the check fails when $CI is set and is skipped, with a note on stderr, otherwise.
func CollectHTML() (check func() error, err error) {
	dir, err := os.MkdirTemp("", "console-html-")
	if err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	htmlMu.Lock()
	htmlDir, htmlPages = dir, map[string]string{}
	htmlMu.Unlock()
	return func() error {
		htmlMu.Lock()
		pages := htmlPages
		htmlDir, htmlPages = "", nil
		htmlMu.Unlock()
		defer os.RemoveAll(dir)
		if len(pages) == 0 {
			return nil
		}
		errs, err := ValidateHTML(dir)
		if errors.Is(err, ErrNoJava) && os.Getenv("CI") == "" {
			fmt.Fprintf(os.Stderr, "browsertest: %v: the HTML of %d pages was not checked\n", err, len(pages))
			return nil
		}
		if err != nil {
			return err
		}
		return htmlReport(errs, pages)
	}, nil
}

func htmlReport(errs []HTMLError, pages map[string]string) error {
	if len(errs) == 0 {
		fmt.Fprintf(os.Stderr, "browsertest: Nu HTML Checker: %d pages, 0 errors\n", len(pages))
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Nu HTML Checker: %d error(s) in the pages the tests reached:", len(errs))
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s [%s] line %d: %s\n      %s", e.File, pages[e.File], e.Line, e.Message, strings.TrimSpace(e.Extract))
	}
	return errors.New(b.String())
}

// RecordHTML keeps page's current markup under the test's name and state, when the
// test binary collects HTML.
func RecordHTML(t testing.TB, page playwright.Page, state string) {
	t.Helper()
	if !collecting() {
		return
	}
	html, err := page.Content()
	if err != nil {
		t.Fatalf("browsertest: page content: %v", err)
	}
	keepHTML(t.Name()+"--"+state, state+" ("+page.URL()+")", html)
}

func collecting() bool {
	htmlMu.Lock()
	defer htmlMu.Unlock()
	return htmlDir != ""
}

// recordResponse keeps the body of an HTML response that Goto received.
func recordResponse(t testing.TB, resp playwright.Response) {
	t.Helper()
	if !collecting() || !strings.HasPrefix(resp.Headers()["content-type"], "text/html") {
		return
	}
	body, err := resp.Body()
	if err != nil {
		return // a redirect or a download has no body to check
	}
	u, _ := url.Parse(resp.URL())
	name := "GET " + resp.URL()
	if u != nil {
		name = "GET " + u.Path
	}
	keepHTML(t.Name()+"--"+name, name+" ("+resp.URL()+")", string(body))
}

func keepHTML(name, what, html string) {
	htmlMu.Lock()
	defer htmlMu.Unlock()
	if htmlDir == "" {
		return
	}
	base := strings.Trim(unsafeName.ReplaceAllString(name, "_"), "_.")
	file := base + ".html"
	for i := 2; htmlPages[file] != ""; i++ {
		file = fmt.Sprintf("%s-%d.html", base, i)
	}
	htmlPages[file] = what
	_ = os.WriteFile(filepath.Join(htmlDir, file), []byte(html), 0o644)
}

// ErrNoJava is returned by ValidateHTML when no Java runtime is on PATH.
var ErrNoJava = errors.New("no java on PATH (apt-get install -y default-jre-headless)")

// HTMLError is one error the Nu HTML Checker reports.
type HTMLError struct {
	File    string // the file's name within the checked directory
	Line    int
	Message string
	Extract string
}

// ValidateHTML runs the Nu HTML Checker (vnu.jar from Tools) once over every .html
// file in dir and returns its errors, sorted by file and line.
func ValidateHTML(dir string) ([]HTMLError, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, ErrNoJava
	}
	tools, err := Tools()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(java, "-jar", filepath.Join(tools, "vnu.jar"),
		"--errors-only", "--format", "json", "--exit-zero-always", "--skip-non-html", dir)
	var out bytes.Buffer
	cmd.Stderr = &out // vnu writes its report to stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("browsertest: vnu: %w: %s", err, out.String())
	}
	var report struct {
		Messages []struct {
			Type, URL, Message, Extract string
			LastLine                    int
		}
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		return nil, fmt.Errorf("browsertest: vnu report: %w: %s", err, out.String())
	}
	var errs []HTMLError
	for _, m := range report.Messages {
		if m.Type != "error" && m.Type != "non-document-error" {
			continue
		}
		errs = append(errs, HTMLError{File: filepath.Base(m.URL), Line: m.LastLine, Message: m.Message, Extract: m.Extract})
	}
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].File != errs[j].File {
			return errs[i].File < errs[j].File
		}
		return errs[i].Line < errs[j].Line
	})
	return errs, nil
}
