package browsertest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raas-console/console/internal/browsertest"
)

// A page with one unlabelled input and an image without alternative text: axe names both
// rules and the elements, under the same CSP as the console (no inline script).
func TestA11yViolationsNamesRuleAndNode(t *testing.T) {
	srv := server(t, map[string]string{"/": `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bad</title></head>
<body><main><h1>Bad</h1><input id="q" type="text"><p><img id="logo" src="/logo.png"> pale words</p></main></body></html>`,
		"/good": greetPage, "/greet.js": greetJS})
	page := browsertest.NewPage(t)
	browsertest.Goto(t, page, srv.URL+"/")
	vs, err := browsertest.A11yViolations(page)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range vs {
		got[v.ID] = v.String()
	}
	if !strings.Contains(got["label"], "#q") || !strings.Contains(got["image-alt"], "#logo") {
		t.Fatalf("violations = %q, want label on #q and image-alt on #logo", got)
	}
	if !strings.Contains(got["label"], "(critical)") {
		t.Errorf("label violation without its impact: %s", got["label"])
	}

	browsertest.Goto(t, page, srv.URL+"/good")
	if vs, err := browsertest.A11yViolations(page); err != nil || len(vs) != 0 {
		t.Fatalf("greeter page: violations %v, err %v; want none", vs, err)
	}
}

// The Nu HTML Checker reports an empty aria-describedby with its file and line, and
// passes a valid page.
func TestValidateHTMLReportsFileLineAndMessage(t *testing.T) {
	dir := t.TempDir()
	bad := "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>x</title></head>\n<body>\n<input aria-describedby=\"\">\n</body></html>\n"
	if err := os.WriteFile(filepath.Join(dir, "bad.html"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "good.html"), []byte(greetPage), 0o644); err != nil {
		t.Fatal(err)
	}
	errs, err := browsertest.ValidateHTML(dir)
	if err == browsertest.ErrNoJava && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 || errs[0].File != "bad.html" || errs[0].Line != 4 || !strings.Contains(errs[0].Message, "aria-describedby") {
		t.Fatalf("errors = %+v, want one on bad.html line 4 about aria-describedby", errs)
	}
}
