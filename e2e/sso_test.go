package e2e

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/idptest"
	"github.com/raas-console/console/internal/operators"
)

// A person signs in through the identity provider's own login page and lands on the
// console's home as the role their group maps to; someone whose groups map to no role is
// told so on the sign-in page.
func TestSingleSignOnJourney(t *testing.T) {
	idp := idptest.Start(t, idptest.Options{Users: []idptest.User{
		{Email: "sam@example.com", Password: "provider-pass-1", Name: "Sam Support", Groups: []string{"staff", "helpdesk"}},
		{Email: "olga@example.com", Password: "provider-pass-2", Name: "Olga", Groups: []string{"staff"}},
	}})
	// The redirect URL (CONSOLE_PUBLIC_URL, by default http://localhost:<port>) must be
	// known before the console starts: a fixed free port. The browser uses that origin.
	port := strconv.Itoa(freePort(t))
	origin := "http://localhost:" + port
	c := startConsoleWith(t, map[string]string{
		"CONSOLE_ADDR":               "127.0.0.1:" + port,
		"CONSOLE_OIDC_ISSUER":        idp.Issuer(),
		"CONSOLE_OIDC_CLIENT_ID":     "console",
		"CONSOLE_OIDC_CLIENT_SECRET": "console-test-secret",
		"CONSOLE_OIDC_NAME":          "Test IdP",
		"CONSOLE_OIDC_ROLE_MAP":      "console-admins=admin,helpdesk=support",
	})
	page := browsertest.NewPage(t)
	providerSignIn(t, origin, page, "sam@example.com", "provider-pass-1")
	expectVisible(t, heading(page, "Welcome, Sam Support"))
	checkA11y(t, page, "sso-signed-in")
	if got := page.URL(); got != origin+"/" {
		t.Fatalf("landed on %s, want the home page", got)
	}
	if n, _ := page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Operators"}).Count(); n != 0 {
		t.Fatal("a support operator is offered the operators page")
	}
	op, err := c.ops.ByEmail(context.Background(), "sam@example.com")
	if err != nil || op.Role != operators.RoleSupport || !op.SSO {
		t.Fatalf("operator %+v, %v", op, err)
	}
	signIns := c.events(audit.ActionSignIn)
	if len(signIns) == 0 || !strings.Contains(string(signIns[len(signIns)-1].Detail), `"method":"sso"`) {
		t.Fatal("the sign-in was not audited as single sign-on")
	}

	refused := browsertest.NewPage(t)
	providerSignIn(t, origin, refused, "olga@example.com", "provider-pass-2")
	expectText(t, refused.GetByRole("alert"), "Your groups at Test IdP grant no console role")
	checkA11y(t, refused, "sso-refused")
	if len(c.events(audit.ActionSSORefused)) != 1 {
		t.Fatal("the refusal was not audited")
	}
}

// providerSignIn presses "Sign in with Test IdP" and fills in the provider's login page.
func providerSignIn(t *testing.T, origin string, page playwright.Page, email, pw string) {
	t.Helper()
	browsertest.Goto(t, page, origin+"/login")
	checkA11y(t, page, "sign-in-with-sso")
	check(t, button(page, "Sign in with Test IdP").Click())
	expectVisible(t, heading(page, "Sign in to the test identity provider"))
	check(t, page.GetByLabel("E-mail").Fill(email))
	check(t, page.GetByLabel("Password").Fill(pw))
	check(t, button(page, "Sign in").Click())
	check(t, page.WaitForURL(origin+"/**"))
}

// freePort is a TCP port on 127.0.0.1 nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
