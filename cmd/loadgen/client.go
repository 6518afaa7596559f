package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"golang.org/x/net/html"

	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/password"
)

// operator is one signed-in person: their own cookies (session, CSRF) over a shared
// transport.
type operator struct {
	email string
	role  operators.Role
	ip    string // the X-Forwarded-For address they sign in from
	base  string
	http  *http.Client
	csrf  string
}

const operatorPassword = "loadgen-Password-2026!"

// createOperators adds n operators of role to the console's database.
func createOperators(ctx context.Context, store *operators.Store, prefix string, n int, role operators.Role) ([]string, error) {
	hash, err := password.Hash(operatorPassword)
	if err != nil {
		return nil, err
	}
	var emails []string
	for i := range n {
		email := fmt.Sprintf("%s%03d@loadgen.example", prefix, i)
		if _, err := store.Create(ctx, email, fmt.Sprintf("%s %d", prefix, i), role, hash); err != nil {
			return nil, fmt.Errorf("create operator %s: %w", email, err)
		}
		emails = append(emails, email)
	}
	return emails, nil
}

// signIn signs an operator in through the login form, as a browser does.
func signIn(ctx context.Context, base string, transport http.RoundTripper, email string, role operators.Role, ip string) (*operator, error) {
	jar := &consoleJar{}
	op := &operator{email: email, role: role, ip: ip, base: base, http: &http.Client{Jar: jar, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if code, _, err := op.do(ctx, http.MethodGet, "/login", nil, false); err != nil || code != http.StatusOK {
		return nil, fmt.Errorf("sign-in form: %d %v", code, err)
	}
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		if strings.HasSuffix(c.Name, "console_csrf") {
			op.csrf = c.Value
		}
	}
	code, _, err := op.do(ctx, http.MethodPost, "/login", url.Values{"email": {email}, "password": {operatorPassword}}, false)
	if err != nil || code != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in %s: %d %v", email, code, err)
	}
	return op, nil
}

// do sends one request; a form is posted with the CSRF token. It returns the status and
// body.
func (op *operator) do(ctx context.Context, method, path string, form url.Values, htmx bool) (int, []byte, error) {
	code, body, _, err := op.doWithID(ctx, method, path, form, htmx)
	return code, body, err
}

// doWithID is do that also returns the X-Request-Id the console answered with, the id of
// the request's audit rows (the console makes every id itself).
func (op *operator) doWithID(ctx context.Context, method, path string, form url.Values, htmx bool) (int, []byte, string, error) {
	var body io.Reader
	if form != nil {
		form.Set("_csrf", op.csrf)
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, op.base+path, body)
	if err != nil {
		return 0, nil, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if htmx {
		req.Header.Set("HX-Request", "true")
		req.Header.Set("X-CSRF-Token", op.csrf)
	}
	req.Header.Set("X-Forwarded-For", op.ip)
	res, err := op.http.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer res.Body.Close()
	buf := bytes.NewBuffer(make([]byte, 0, 16<<10)) // the console's pages are 5–20 kB
	_, err = buf.ReadFrom(res.Body)
	return res.StatusCode, buf.Bytes(), res.Header.Get("X-Request-Id"), err
}

// consoleJar keeps one operator's cookies for the one console the generator talks to:
// what net/http/cookiejar does for any number of sites, without its per-request cost
// (a tenth of the generator's CPU), which the generator would otherwise take from the
// console on the same machine. Expiry and paths do not matter here: the console's cookies
// are all Path=/ and session-long, and a cookie it deletes (MaxAge < 0) is dropped.
type consoleJar struct {
	mu      sync.Mutex
	cookies []*http.Cookie
}

func (j *consoleJar) SetCookies(_ *url.URL, set []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range set {
		j.cookies = slices.DeleteFunc(j.cookies, func(old *http.Cookie) bool { return old.Name == c.Name })
		if c.MaxAge >= 0 && c.Value != "" {
			j.cookies = append(j.cookies, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
}

func (j *consoleJar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.cookies)
}

// simClient calls the simulator straight, as the console's Synerise client does: a
// workspace token once, then bearer-authenticated JSON requests.
type simClient struct {
	base  string
	http  *http.Client
	token string
}

func newSimClient(ctx context.Context, base, apiKey string, transport http.RoundTripper) (*simClient, error) {
	c := &simClient{base: base, http: &http.Client{Transport: transport}}
	b, _ := json.Marshal(map[string]string{"apiKey": apiKey})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/uauth/v2/auth/login/profile", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.Token == "" {
		return nil, fmt.Errorf("simulator login: %d %v", res.StatusCode, err)
	}
	c.token = out.Token
	return c, nil
}

// getProfile is the profile read a customer view makes: GET /v4/clients/{id}.
func (c *simClient) getProfile(ctx context.Context, id int64) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/v4/clients/%d", c.base, id), nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Api-Version", "4.4")
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	// Decode as the console's client does, so both sides pay for reading the profile.
	var p map[string]any
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		return res.StatusCode, err
	}
	return res.StatusCode, nil
}

// formValues are the fields of the form in page that posts to action, as a browser
// would submit them; nil when the page has no such form.
func formValues(page []byte, action string) url.Values {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil
	}
	var form *html.Node
	walk(doc, func(n *html.Node) {
		if form == nil && n.Type == html.ElementNode && n.Data == "form" && attr(n, "action") == action {
			form = n
		}
	})
	if form == nil {
		return nil
	}
	v := url.Values{}
	walk(form, func(n *html.Node) {
		name := attr(n, "name")
		if n.Type != html.ElementNode || name == "" {
			return
		}
		switch n.Data {
		case "input":
			if attr(n, "type") == "checkbox" {
				if hasAttr(n, "checked") {
					v.Add(name, attr(n, "value"))
				}
				return
			}
			v.Add(name, attr(n, "value"))
		case "textarea":
			var b strings.Builder
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.TextNode {
					b.WriteString(c.Data)
				}
			}
			v.Add(name, b.String())
		case "select":
			val := ""
			walk(n, func(o *html.Node) {
				if o.Type == html.ElementNode && o.Data == "option" && hasAttr(o, "selected") {
					val = attr(o, "value")
				}
			})
			v.Add(name, val)
		}
	})
	return v
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
