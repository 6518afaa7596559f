// Package idptest runs cmd/testidp, a real OpenID provider, as its own process for tests
// of the console's single sign-on, and drives its login page over HTTP.
package idptest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Options configure the provider: one confidential client and its users.
type Options struct {
	// ClientID and ClientSecret default to "console" and "console-test-secret".
	ClientID, ClientSecret string
	// RedirectURIs the client may use; an entry with "*" is a glob (path.Match), e.g.
	// http://localhost:*/auth/oidc/callback. Default: that glob and the same for 127.0.0.1.
	RedirectURIs []string
	Users        []User
	// Addr is the address to listen on; default 127.0.0.1:0 (a free port).
	Addr string
}

// User is a person at the provider; Email is the login name.
type User struct {
	Email    string   `json:"email"`
	Password string   `json:"password"`
	Name     string   `json:"name"`
	Groups   []string `json:"groups"`
	// AMR is the ID token's amr; empty means ["pwd"].
	AMR []string `json:"amr"`
	// Subject is the ID token's sub; empty means one derived from the e-mail.
	Subject string `json:"subject,omitempty"`
	// EmailUnverified makes the ID token say email_verified=false.
	EmailUnverified bool `json:"email_unverified,omitempty"`
	// Claims are extra ID token claims, e.g. {"roles": "a b"} for groups as one string.
	Claims map[string]any `json:"claims,omitempty"`
}

// IdP is a running provider; it stops when the test ends.
type IdP struct {
	t      testing.TB
	issuer string
	client *http.Client
}

type fileConfig struct {
	Addr   string `json:"addr"`
	Client struct {
		ID           string   `json:"id"`
		Secret       string   `json:"secret"`
		RedirectURIs []string `json:"redirect_uris"`
	} `json:"client"`
	Users []User `json:"users"`
}

// Start builds cmd/testidp (cached by source hash), starts it on a free port of
// 127.0.0.1 and waits until discovery answers.
func Start(t testing.TB, opts Options) *IdP {
	t.Helper()
	bin := binary(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "idp.json")
	if err := os.WriteFile(cfgPath, configJSON(t, opts), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfgPath)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("idptest: start %s: %v", bin, err)
	}
	t.Cleanup(func() { stop(t, cmd, stderr) })
	p := &IdP{t: t, issuer: readIssuer(t, stdout), client: &http.Client{Timeout: 10 * time.Second}}
	p.waitForDiscovery()
	return p
}

func configJSON(t testing.TB, opts Options) []byte {
	var c fileConfig
	c.Addr = opts.Addr
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	c.Client.ID, c.Client.Secret, c.Client.RedirectURIs = opts.ClientID, opts.ClientSecret, opts.RedirectURIs
	if c.Client.ID == "" {
		c.Client.ID = "console"
	}
	if c.Client.Secret == "" {
		c.Client.Secret = "console-test-secret"
	}
	if len(c.Client.RedirectURIs) == 0 {
		c.Client.RedirectURIs = []string{"http://localhost:*/auth/oidc/callback", "http://127.0.0.1:*/auth/oidc/callback"}
	}
	c.Users = opts.Users
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// readIssuer reads the provider's one line "issuer <URL>".
func readIssuer(t testing.TB, stdout io.Reader) string {
	t.Helper()
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		s.Scan()
		line <- s.Text()
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case l := <-line:
		issuer, ok := strings.CutPrefix(l, "issuer ")
		if !ok {
			t.Fatalf("idptest: the provider said %q instead of its issuer", l)
		}
		return issuer
	case <-time.After(15 * time.Second):
		t.Fatal("idptest: the provider did not print its issuer within 15s")
		return ""
	}
}

func (p *IdP) waitForDiscovery() {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := p.client.Get(p.issuer + "/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("idptest: discovery at %s did not answer: %v", p.issuer, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func stop(t testing.TB, cmd *exec.Cmd, stderr *os.File) {
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	stderr.Close()
	if t.Failed() {
		if out, err := os.ReadFile(stderr.Name()); err == nil && len(bytes.TrimSpace(out)) > 0 {
			t.Logf("testidp stderr:\n%s", out)
		}
	}
}

// Issuer is the provider's issuer URL (http://127.0.0.1:PORT).
func (p *IdP) Issuer() string { return p.issuer }

// RotateKeys gives the provider a new signing key; the old one leaves the JWKS at once.
func (p *IdP) RotateKeys() { p.control("/_control/rotate-keys", nil) }

// Misbehave makes every ID token issued from now on wrong in one way, until "none":
// wrong-audience, expired, nonce-mismatch, no-email, bad-signature (signed by a key
// the JWKS does not serve) or stale-auth-time (auth_time an hour ago whatever max_age
// asked).
func (p *IdP) Misbehave(mode string) { p.control("/_control/misbehave?mode="+mode, nil) }

// SetUser adds a user or replaces the one with the same e-mail (e.g. new groups).
func (p *IdP) SetUser(u User) {
	raw, err := json.Marshal(u)
	if err != nil {
		p.t.Fatal(err)
	}
	p.control("/_control/users", raw)
}

func (p *IdP) control(path string, body []byte) {
	p.t.Helper()
	resp, err := p.client.Post(p.issuer+path, "application/json", bytes.NewReader(body))
	if err != nil {
		p.t.Fatalf("idptest: %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		p.t.Fatalf("idptest: %s: %s: %s", path, resp.Status, msg)
	}
}

func (p *IdP) String() string { return fmt.Sprintf("testidp at %s", p.issuer) }
