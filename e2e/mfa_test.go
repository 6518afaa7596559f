package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
	"github.com/pquerna/otp/totp"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// nextCode waits, when needed, for a time step after the last one used, and returns its
// code: the console accepts each code once.
func nextCode(t *testing.T, secret string, lastStep *int64) string {
	t.Helper()
	for time.Now().Unix()/30 <= *lastStep {
		time.Sleep(500 * time.Millisecond)
	}
	now := time.Now()
	*lastStep = now.Unix() / 30
	code, err := totp.GenerateCode(secret, now)
	check(t, err)
	return code
}

// MFA journey: a support agent sets up an authenticator app from the secret shown as
// text, signs in again with password and code, and — once the step-up window has
// passed — edits a customer: the second factor is asked for in a dialog over the form,
// which keeps what was typed, and the edit is saved as typed.
func TestSecondFactorJourney(t *testing.T) {
	c := startConsoleWith(t, map[string]string{"CONSOLE_STEP_UP_WINDOW": "30s"})
	anna := exampleCustomer(t, c, simulator.StateActivated)
	page, email := c.signIn(operators.RoleSupport)

	browsertest.Goto(t, page, c.URL+"/account/security")
	expectVisible(t, heading(page, "Sign-in security"))
	check(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Set up an authenticator app"}).Click())
	expectVisible(t, heading(page, "Set up an authenticator app"))
	expectVisible(t, page.GetByAltText("QR code for your authenticator app"))
	text, err := page.Locator("#totp-secret").TextContent()
	check(t, err)
	secret := strings.ReplaceAll(text, " ", "")
	var step int64
	check(t, page.GetByLabel("Code shown by the app").Fill(nextCode(t, secret, &step)))
	browsertest.Screenshot(t, page, "mfa-setup")
	checkA11y(t, page, "mfa-setup")
	check(t, button(page, "Confirm").Click())
	expectVisible(t, heading(page, "Your recovery codes"))
	browsertest.Check(t, browsertest.Expect().Locator(page.Locator("#recovery-codes li")).ToHaveCount(10))
	browsertest.Screenshot(t, page, "mfa-recovery-codes")
	checkA11y(t, page, "mfa-recovery-codes")
	check(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "I have saved them — continue"}).Click())

	check(t, button(page, "Sign out").Click())
	browsertest.Goto(t, page, c.URL+"/login")
	check(t, page.GetByLabel("E-mail").Fill(email))
	check(t, page.GetByLabel("Password").Fill(testPassword))
	check(t, button(page, "Sign in").Click())
	expectVisible(t, heading(page, "Confirm it is you"))
	check(t, page.GetByLabel("Code from your authenticator app, or a recovery code").Fill(nextCode(t, secret, &step)))
	browsertest.Screenshot(t, page, "mfa-second-factor")
	checkA11y(t, page, "mfa-second-factor")
	check(t, button(page, "Continue").Click())
	expectVisible(t, button(page, "Sign out"))

	// Past the 30-second step-up window, the edit asks for a factor.
	time.Sleep(31 * time.Second)
	browsertest.Goto(t, page, c.URL+"/customers/"+strconv.FormatInt(anna.ClientID, 10)+"/edit")
	field := func(label string) playwright.Locator {
		return page.GetByLabel(label, playwright.PageGetByLabelOptions{Exact: exactName()})
	}
	check(t, field("City").Fill("Sopot"))
	const reason = "TICKET-7001 moved to Sopot"
	check(t, field("Reason for the change").Fill(reason))
	check(t, button(page, "Save changes to Synerise").Click())
	dialog := page.GetByRole("dialog", playwright.PageGetByRoleOptions{Name: "Confirm it is you"})
	expectVisible(t, dialog)
	browsertest.Check(t, browsertest.Expect().Locator(field("City")).ToHaveValue("Sopot"), "the form behind the prompt keeps what was typed")
	browsertest.Screenshot(t, page, "mfa-step-up")
	checkA11y(t, page, "mfa-step-up")
	if got, _ := c.sim.Profile(anna.ClientID); strings.Contains(string(got), "Sopot") {
		t.Fatal("the edit was sent before the step-up")
	}
	check(t, dialog.GetByLabel("Code from your authenticator app, or a recovery code").Fill(nextCode(t, secret, &step)))
	check(t, dialog.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Confirm and continue"}).Click())
	expectText(t, page.GetByRole("status").First(), "Synerise accepted the changes.")
	if got, _ := c.sim.Profile(anna.ClientID); !strings.Contains(string(got), "Sopot") {
		t.Fatalf("profile after the step-up: %s", got)
	}
	if evs := c.events(audit.ActionStepUp); len(evs) != 1 || evs[0].Outcome != audit.OutcomeSucceeded {
		t.Fatalf("step-up events: %+v", evs)
	}
	if evs := c.events(audit.ActionSecondFactor); len(evs) != 1 || evs[0].Outcome != audit.OutcomeSucceeded {
		t.Fatalf("second-factor events: %+v", evs)
	}
}
