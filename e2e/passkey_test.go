package e2e

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
)

// localhostConsole starts a console reached at http://localhost:PORT: browsers refuse
// passkeys on an IP address, so the relying party is localhost.
func localhostConsole(t *testing.T) (*console, string) {
	t.Helper()
	port := strconv.Itoa(freePort(t))
	c := startConsoleWith(t, map[string]string{
		"CONSOLE_ADDR":       "127.0.0.1:" + port,
		"CONSOLE_PUBLIC_URL": "http://localhost:" + port,
	})
	return c, "http://localhost:" + port
}

// virtualAuthenticator gives the page's browser context Chromium's virtual platform
// authenticator: resident keys, user verification that always succeeds.
func virtualAuthenticator(t *testing.T, page playwright.Page) {
	t.Helper()
	cdp, err := page.Context().NewCDPSession(page)
	check(t, err, "CDP session")
	_, err = cdp.Send("WebAuthn.enable", map[string]any{"enableUI": false})
	check(t, err, "WebAuthn.enable")
	_, err = cdp.Send("WebAuthn.addVirtualAuthenticator", map[string]any{"options": map[string]any{
		"protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
		"hasUserVerification": true, "isUserVerified": true, "automaticPresenceSimulation": true,
	}})
	check(t, err, "WebAuthn.addVirtualAuthenticator")
}

func signInWithPassword(t *testing.T, page playwright.Page, base, email string) {
	t.Helper()
	browsertest.Goto(t, page, base+"/login")
	check(t, page.GetByLabel("E-mail").Fill(email))
	check(t, page.GetByLabel("Password").Fill(testPassword))
	check(t, button(page, "Sign in").Click())
}

func signOut(t *testing.T, page playwright.Page) {
	t.Helper()
	check(t, button(page, "Sign out").Click())
	expectVisible(t, heading(page, "Sign in"))
}

func TestPasskeyJourney(t *testing.T) {
	c, base := localhostConsole(t)
	email := c.operator(operators.RoleSupport)
	page := browsertest.NewPage(t)
	virtualAuthenticator(t, page)

	signInWithPassword(t, page, base, email)
	expectVisible(t, button(page, "Sign out"))
	if n, _ := button(page, "Sign in with a passkey").Count(); n != 0 {
		t.Fatal("a passkey was offered before any was registered")
	}
	browsertest.Goto(t, page, base+"/account/passkeys")
	expectVisible(t, heading(page, "Passkeys"))
	check(t, page.GetByLabel("Passkey name").Fill("Chromium virtual key"))
	check(t, button(page, "Add a passkey").Click())
	expectText(t, page.GetByRole("status"), "Passkey “Chromium virtual key” added")
	expectVisible(t, page.GetByRole("cell", playwright.PageGetByRoleOptions{Name: "Chromium virtual key", Exact: playwright.Bool(true)}))
	browsertest.Screenshot(t, page, "passkeys")
	checkA11y(t, page, "passkeys")
	if evs := c.events(audit.ActionPasskeyAdd); len(evs) != 1 || evs[0].Outcome != audit.OutcomeSucceeded {
		t.Fatalf("passkey add audit: %+v", evs)
	}

	// Passwordless: the sign-in page now offers the passkey.
	signOut(t, page)
	check(t, button(page, "Sign in with a passkey").Click())
	expectVisible(t, button(page, "Sign out"))
	in := c.events(audit.ActionSignIn)
	var d map[string]any
	_ = json.Unmarshal(in[len(in)-1].Detail, &d)
	if d["method"] != "passkey" {
		t.Fatalf("passwordless sign-in recorded as %s", in[len(in)-1].Detail)
	}

	// A password now asks for the passkey as the second factor.
	signOut(t, page)
	signInWithPassword(t, page, base, email)
	expectVisible(t, heading(page, "Confirm it is you"))
	check(t, button(page, "Use a passkey").Click())
	expectVisible(t, button(page, "Sign out"))
	in = c.events(audit.ActionSignIn)
	_ = json.Unmarshal(in[len(in)-1].Detail, &d)
	if d["method"] != "password" || d["factor"] != "passkey" {
		t.Fatalf("second factor sign-in recorded as %s", in[len(in)-1].Detail)
	}
}

func TestPasskeyCancelledIsTold(t *testing.T) {
	c, base := localhostConsole(t)
	email := c.operator(operators.RoleSupport)
	page := browsertest.NewPage(t) // no authenticator: the browser's request fails
	signInWithPassword(t, page, base, email)
	expectVisible(t, button(page, "Sign out"))
	browsertest.Goto(t, page, base+"/account/passkeys")
	check(t, button(page, "Add a passkey").Click())
	expectText(t, page.GetByRole("alert"), "Give the passkey a name first")
	check(t, page.GetByLabel("Passkey name").Fill("Nothing"))
	cdp, err := page.Context().NewCDPSession(page)
	check(t, err)
	_, err = cdp.Send("WebAuthn.enable", map[string]any{"enableUI": false})
	check(t, err)
	// An authenticator whose user never confirms: the browser reports NotAllowedError.
	_, err = cdp.Send("WebAuthn.addVirtualAuthenticator", map[string]any{"options": map[string]any{
		"protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
		"hasUserVerification": true, "isUserVerified": false, "automaticPresenceSimulation": true,
	}})
	check(t, err)
	check(t, button(page, "Add a passkey").Click())
	expectText(t, page.GetByRole("alert"), "cancelled or timed out")
	if evs := c.events(audit.ActionPasskeyAdd); len(evs) != 0 {
		t.Fatalf("a cancelled passkey was recorded: %+v", evs)
	}
}
