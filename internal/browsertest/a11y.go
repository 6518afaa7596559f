package browsertest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/playwright-community/playwright-go"
)

// A11yTags are the axe-core rule tags every page must pass: WCAG 2.0, 2.1 and 2.2 at
// levels A and AA.
var A11yTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// Violation is one axe-core rule that a page breaks, with the elements that break it.
type Violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target string `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// String names the rule, its impact and help, and each offending element.
func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n      %s  %s", n.Target, n.HTML)
	}
	return b.String()
}

var (
	axeMu  sync.Mutex
	axeSrc string
)

func axeSource() (string, error) {
	axeMu.Lock()
	defer axeMu.Unlock()
	if axeSrc != "" {
		return axeSrc, nil
	}
	dir, err := Tools()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(dir, "axe.min.js"))
	if err != nil {
		return "", fmt.Errorf("browsertest: %w", err)
	}
	axeSrc = string(b)
	return axeSrc, nil
}

// axeRun runs axe on the whole document and returns its violations as JSON (a target
// inside a shadow root or frame is a list of selectors, joined here by " >> ").
const axeRun = `async (tags) => {
  const r = await window.axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return JSON.stringify(r.violations.map(v => ({
    id: v.id, impact: v.impact || "", help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.map(s => Array.isArray(s) ? s.join(" >> ") : s).join(" "), html: n.html})),
  })));
}`

// A11yViolations injects axe-core into page (through the DevTools protocol, so the
// console's Content-Security-Policy stays as it is) and returns what it finds at the
// A11yTags levels.
func A11yViolations(page playwright.Page) ([]Violation, error) {
	src, err := axeSource()
	if err != nil {
		return nil, err
	}
	loaded, err := page.Evaluate(`typeof window.axe === "object"`)
	if err != nil {
		return nil, fmt.Errorf("browsertest: axe: %w", err)
	}
	if loaded != true {
		if _, err := page.Evaluate(src + "\n;true"); err != nil {
			return nil, fmt.Errorf("browsertest: injecting axe: %w", err)
		}
	}
	out, err := page.Evaluate(axeRun, A11yTags)
	if err != nil {
		return nil, fmt.Errorf("browsertest: running axe: %w", err)
	}
	s, ok := out.(string)
	if !ok {
		return nil, fmt.Errorf("browsertest: axe returned %T", out)
	}
	var vs []Violation
	if err := json.Unmarshal([]byte(s), &vs); err != nil {
		return nil, fmt.Errorf("browsertest: axe result: %w", err)
	}
	return vs, nil
}

// CheckA11y fails the test (without stopping it) when page, in the named state,
// breaks a WCAG 2.2 AA rule, listing each rule and element. When the test binary
// collects HTML (CollectHTML), the page's markup is kept for the Nu HTML Checker too.
func CheckA11y(t testing.TB, page playwright.Page, state string) {
	t.Helper()
	RecordHTML(t, page, state)
	vs, err := A11yViolations(page)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "accessibility: %s (%s): %d axe violation(s):", state, page.URL(), len(vs))
	for _, v := range vs {
		b.WriteString("\n  - " + v.String())
	}
	t.Error(b.String())
}
