package browsertest_test

import (
	"os"
	"os/exec"
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

// The pages a test reaches are checked by the Nu HTML Checker in one run: an empty
// aria-describedby is reported with its page, line and message; the valid page is not.
func TestCollectHTMLReportsPageLineAndMessage(t *testing.T) {
	bad := "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>x</title></head>\n<body><main><h1>x</h1>\n<label>Name <input aria-describedby=\"\"></label>\n</main></body></html>\n"
	srv := server(t, map[string]string{"/bad": bad, "/good": greetPage, "/greet.js": greetJS})
	check, err := browsertest.CollectHTML()
	if err != nil {
		t.Fatal(err)
	}
	page := browsertest.NewPage(t)
	browsertest.Goto(t, page, srv.URL+"/bad") // the server's response is kept
	browsertest.Goto(t, page, srv.URL+"/good")
	browsertest.CheckA11y(t, page, "greeter") // and the document as it stands
	if _, err := exec.LookPath("java"); err != nil && os.Getenv("CI") == "" {
		t.Skip("no java on PATH")
	}
	err = check()
	if err == nil {
		t.Fatal("the empty aria-describedby was not reported")
	}
	msg := err.Error()
	for _, want := range []string{"1 error(s)", "GET_bad.html", "GET /bad", "line 4:", "aria-describedby"} {
		if !strings.Contains(msg, want) {
			t.Errorf("report does not contain %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "greeter") {
		t.Errorf("the valid page is reported:\n%s", msg)
	}
}
