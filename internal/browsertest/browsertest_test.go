package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/browsertest"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

const greetPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Greeter</title><script src="/greet.js" defer></script></head>
<body>
<main>
  <h1>Greeter</h1>
  <form id="greet">
    <label for="name">Your name</label>
    <input id="name" name="name" type="text" autocomplete="off">
    <button type="submit">Greet me</button>
  </form>
  <p id="greeting" role="status"></p>
</main>
</body>
</html>`

const greetJS = `document.getElementById("greet").addEventListener("submit", function (e) {
  e.preventDefault();
  document.getElementById("greeting").textContent =
    "Hello, " + document.getElementById("name").value + "!";
});
`

// server serves pages under a CSP that forbids inline script, as the console does.
func server(t *testing.T, files map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		ct := "text/html; charset=utf-8"
		if filepath.Ext(r.URL.Path) == ".js" {
			ct = "text/javascript; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFillClickAndScreenshot(t *testing.T) {
	srv := server(t, map[string]string{"/": greetPage, "/greet.js": greetJS})
	page := browsertest.NewPage(t)
	seen := browsertest.WatchForScripts(t, page)
	browsertest.Goto(t, page, srv.URL+"/")

	expect := browsertest.Expect()
	browsertest.Check(t, expect.Page(page).ToHaveTitle("Greeter"))
	browsertest.Check(t, page.GetByLabel("Your name").Fill("Ada <b>Lovelace</b>"), "fill name")
	browsertest.Check(t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Greet me"}).Click(), "click greet")
	browsertest.Check(t, expect.Locator(page.GetByRole("status")).ToHaveText("Hello, Ada <b>Lovelace</b>!"), "greeting shown")
	browsertest.Check(t, expect.Locator(page.GetByText("Hello, Ada <b>Lovelace</b>!")).ToBeVisible(), "greeting visible")

	path := browsertest.Screenshot(t, page, t.Name())
	if want := filepath.Join(browsertest.ScreenshotDir(), "TestFillClickAndScreenshot.png"); path != want {
		t.Errorf("screenshot path = %s, want %s", path, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() == 0 {
		t.Fatalf("%s is empty", path)
	}
	png := make([]byte, 8)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Read(png); err != nil || string(png) != "\x89PNG\r\n\x1a\n" {
		t.Fatalf("%s is not a PNG (%q, %v)", path, png, err)
	}
	if got := seen(); len(got) != 0 {
		t.Errorf("unexpected dialogs: %q", got)
	}
}

func TestWatchForScriptsRecordsAlert(t *testing.T) {
	srv := server(t, map[string]string{
		"/":         `<!doctype html><html lang="en"><head><title>Alert</title><script src="/alert.js"></script></head><body><h1>Loaded</h1></body></html>`,
		"/alert.js": `alert("boom");`,
	})
	page := browsertest.NewPage(t)
	seen := browsertest.WatchForScripts(t, page)
	browsertest.Goto(t, page, srv.URL+"/") // the load event waits for the dismissed alert
	browsertest.Check(t, browsertest.Expect().Locator(page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "Loaded"})).ToBeVisible())
	got := seen()
	if len(got) != 1 || got[0] != "alert: boom" {
		t.Fatalf("dialogs = %q, want [\"alert: boom\"]", got)
	}
}

// The use the watcher is for: markup that tries to run script must not.
func TestWatchForScriptsSeesNothingFromInertMarkup(t *testing.T) {
	srv := server(t, map[string]string{
		"/": `<!doctype html><html lang="en"><head><title>Inert</title></head><body>
<h1>Comments</h1><img src="/missing.png" alt="" onerror="alert('xss')"><script>alert('inline')</script></body></html>`,
	})
	page := browsertest.NewPage(t)
	seen := browsertest.WatchForScripts(t, page)
	browsertest.Goto(t, page, srv.URL+"/")
	browsertest.Check(t, browsertest.Expect().Locator(page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "Comments"})).ToBeVisible())
	if got := seen(); len(got) != 0 {
		t.Fatalf("CSP should have blocked inline script, saw dialogs %q", got)
	}
}

// Two contexts do not share cookies.
func TestContextsAreIsolated(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "who", Value: "alice", Path: "/"})
		}
		who := "nobody"
		if c, err := r.Cookie("who"); err == nil {
			who = c.Value
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><title>x</title><p>signed in: ` + who + `</p></html>`))
	}))
	defer srv.Close()

	alice, err := browsertest.NewContext(t).NewPage()
	browsertest.Check(t, err)
	bob, err := browsertest.NewContext(t).NewPage()
	browsertest.Check(t, err)
	browsertest.Goto(t, alice, srv.URL+"/set")
	browsertest.Goto(t, alice, srv.URL+"/")
	browsertest.Goto(t, bob, srv.URL+"/")
	expect := browsertest.Expect()
	browsertest.Check(t, expect.Locator(alice.GetByText("signed in: alice")).ToBeVisible())
	browsertest.Check(t, expect.Locator(bob.GetByText("signed in: nobody")).ToBeVisible())
}
