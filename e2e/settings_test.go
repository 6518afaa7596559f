package e2e

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
)

// Settings journey: an admin changes one RaaS setting. A value out of range is shown next
// to its field and writes nothing; the preview lists exactly the one change and what it
// does to customers; saving without a reason is refused; with a reason it is saved. Every
// other setting in Synerise — those the console does not model included — is byte for
// byte what it was.
func TestAdminChangesOneSetting(t *testing.T) {
	c := startConsole(t)
	// Values other than the simulator's defaults, so that a setting dropped from the
	// write (which Synerise resets to its default) would show.
	seed := c.sim.Settings()
	seed["tokenLifetimeInSeconds"] = json.RawMessage(`7200`)
	seed["confirmationRedirectLink"] = json.RawMessage(`"https://shop.example.com/welcome"`)
	seed["allowEmailChangeFromWebForm"] = json.RawMessage(`true`)
	seed["pinConfirmationLength"] = json.RawMessage(`8`)
	seed["passwordResetMailSubject"] = json.RawMessage(`"Zresetuj hasło"`)
	seed["maxLoginAttempts"] = json.RawMessage(`7`)
	if errs, _ := c.sim.SetSettings(seed); len(errs) > 0 {
		t.Fatal(errs)
	}
	before := c.sim.Settings()
	if !bytes.Equal(before["maxLoginAttempts"], []byte("7")) || !bytes.Equal(before["registrationType"], []byte(`"AUTOMATIC"`)) {
		t.Fatalf("simulator settings not as seeded: %s", settingsText(before))
	}

	page, email := c.signIn(operators.RoleAdmin)
	check(t, linkNamed(page, "Settings").First().Click())
	expectVisible(t, heading(page, "RaaS settings"))
	field := func(label string) playwright.Locator {
		return page.GetByLabel(label, playwright.PageGetByLabelOptions{Exact: exactName()})
	}
	expectText(t, page.Locator("#registrationType-current"), "Automatic")
	expectText(t, page.Locator("#tokenLifetimeInSeconds-current"), "7200 seconds (2 hours)")
	browsertest.Check(t, browsertest.Expect().Locator(field("Allow e-mail change from web forms")).ToBeChecked())
	others := page.Locator("section").Filter(playwright.LocatorFilterOptions{Has: page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "Other settings (kept as they are)"})})
	expectText(t, others, "passwordResetMailSubject")
	expectText(t, others, `"Zresetuj hasło"`)
	expectText(t, others, "maxLoginAttempts")
	browsertest.Screenshot(t, page, "settings-form")
	checkA11y(t, page, "settings-form")

	// A slip of the finger in another field: shown there, nothing written, choice kept.
	_, err := field("Registration type").SelectOption(playwright.SelectOptionValues{Labels: &[]string{"E-mail activation"}})
	check(t, err)
	check(t, field("PIN length").Fill("80"))
	check(t, button(page, "Preview changes").Click())
	expectText(t, page.Locator("#settings-problem"), "Some values cannot be used; see the messages next to them. Nothing was saved.")
	expectText(t, page.Locator("#pinConfirmationLength-error"), "Enter a whole number from 4 to 12.")
	browsertest.Check(t, browsertest.Expect().Locator(field("PIN length")).ToHaveAttribute("aria-invalid", "true"))
	browsertest.Check(t, browsertest.Expect().Locator(field("Registration type")).ToHaveValue("REQUIRE_EMAIL_ACTIVATION"), "the other choice is kept")
	browsertest.Screenshot(t, page, "settings-invalid")
	checkA11y(t, page, "settings-invalid")

	// Put the PIN length back; the preview has the one change.
	check(t, field("PIN length").Fill("8"))
	check(t, button(page, "Preview changes").Click())
	expectVisible(t, heading(page, "Check your changes to the RaaS settings"))
	changes := page.Locator("table.setting-changes tbody tr")
	browsertest.Check(t, browsertest.Expect().Locator(changes).ToHaveCount(1), "only the registration type is previewed")
	browsertest.Check(t, browsertest.Expect().Locator(changes.Locator("th, td")).ToHaveText([]string{
		"Registration type registrationType", "Automatic", "E-mail activation",
		"From now on new accounts cannot sign in until the customer clicks the activation link e-mailed to them.",
	}, playwright.LocatorAssertionsToHaveTextOptions{UseInnerText: playwright.Bool(true)}))
	browsertest.Screenshot(t, page, "settings-preview")
	checkA11y(t, page, "settings-preview")

	// No reason: refused on the same page, nothing written.
	check(t, button(page, "Save these changes to Synerise").Click())
	expectText(t, page.Locator("#reason-error"), "Say why you are making this change, such as a ticket number.")
	browsertest.Check(t, browsertest.Expect().Locator(changes).ToHaveCount(1))
	if now := c.sim.Settings(); !maps.EqualFunc(now, before, sameRawJSON) {
		t.Fatalf("settings changed before the admin confirmed with a reason: %s", settingsText(now))
	}
	if evs := c.events(audit.ActionSettingsUpdate); len(evs) != 0 {
		t.Fatalf("settings.update events before the save: %+v", evs)
	}

	const reason = "CHG-6001 new accounts must activate by e-mail"
	check(t, page.GetByLabel("Reason for this change").Fill(reason))
	check(t, button(page, "Save these changes to Synerise").Click())
	expectText(t, page.GetByRole("status").First(), "Settings saved. Registration type: Automatic → E-mail activation.")
	expectVisible(t, heading(page, "RaaS settings"))
	expectText(t, page.Locator("#registrationType-current"), "E-mail activation")
	expectText(t, page.Locator("#tokenLifetimeInSeconds-current"), "7200 seconds (2 hours)")
	browsertest.Screenshot(t, page, "settings-saved")
	checkA11y(t, page, "settings-saved")

	// Synerise: the one key changed, every other key (modelled or not) exactly as it was.
	after := c.sim.Settings()
	if got := string(after["registrationType"]); got != `"REQUIRE_EMAIL_ACTIVATION"` {
		t.Errorf("registrationType = %s, want REQUIRE_EMAIL_ACTIVATION", got)
	}
	keys := slices.Sorted(maps.Keys(before))
	if !slices.Equal(keys, slices.Sorted(maps.Keys(after))) {
		t.Errorf("settings keys %v after the save, %v before", slices.Sorted(maps.Keys(after)), keys)
	}
	for _, k := range keys {
		if k != "registrationType" && !bytes.Equal(after[k], before[k]) {
			t.Errorf("setting %s changed from %s to %s; nobody edited it", k, before[k], after[k])
		}
	}

	// The audit log: intent with the reason, the one key, and the whole object before and
	// after (the keys the console does not model included); then the outcome, read back.
	events := c.events(audit.ActionSettingsUpdate)
	if len(events) != 2 {
		t.Fatalf("%d settings.update events, want an intent and an outcome", len(events))
	}
	intent, outcome := events[0], events[1]
	if intent.Outcome != audit.OutcomePending || outcome.Outcome != audit.OutcomeSucceeded || outcome.IntentSeq != intent.Seq {
		t.Errorf("intent %s, outcome %s for intent %d (want %d)", intent.Outcome, outcome.Outcome, outcome.IntentSeq, intent.Seq)
	}
	if intent.Actor.Email != email || intent.Actor.Role != "admin" || intent.Reason != reason {
		t.Errorf("intent by %s (%s) with reason %q", intent.Actor.Email, intent.Actor.Role, intent.Reason)
	}
	var id, od struct {
		ChangedKeys []string `json:"changedKeys"`
		ReadBack    string   `json:"readBack"`
	}
	check(t, json.Unmarshal(intent.Detail, &id))
	check(t, json.Unmarshal(outcome.Detail, &od))
	if !slices.Equal(id.ChangedKeys, []string{"registrationType"}) || od.ReadBack != "matches what was sent" {
		t.Errorf("intent changed keys %v, outcome read back %q", id.ChangedKeys, od.ReadBack)
	}
	// The audit log blanks values under secret-looking key names, and its word list also
	// catches tokenLifetimeInSeconds and passwordResetMailSubject; any other difference
	// from what Synerise held is an error.
	for _, snap := range []struct {
		name    string
		audited json.RawMessage
		want    map[string]json.RawMessage
	}{{"before", intent.Before, before}, {"after", outcome.After, after}} {
		var got map[string]json.RawMessage
		check(t, json.Unmarshal(snap.audited, &got))
		got = compactValues(got)
		if !slices.Equal(slices.Sorted(maps.Keys(got)), keys) {
			t.Errorf("audited settings %s hold keys %v, Synerise %v", snap.name, slices.Sorted(maps.Keys(got)), keys)
		}
		var redacted []string
		for _, k := range keys {
			switch {
			case bytes.Equal(got[k], snap.want[k]):
			case string(got[k]) == `"`+audit.Redacted+`"`:
				redacted = append(redacted, k)
			default:
				t.Errorf("audited settings %s: %s = %s, Synerise held %s", snap.name, k, got[k], snap.want[k])
			}
		}
		if slices.Contains(redacted, "registrationType") {
			t.Errorf("the changed setting is redacted in the audited settings %s", snap.name)
		}
		if len(redacted) > 0 {
			t.Logf("audited settings %s: values of %v redacted by the audit log", snap.name, redacted)
		}
	}

	// The history lists the change with its reason.
	check(t, linkNamed(page, "History of changes").Click())
	expectVisible(t, heading(page, "History of RaaS settings changes"))
	card := page.Locator("section.settings-history")
	browsertest.Check(t, browsertest.Expect().Locator(card).ToHaveCount(1))
	expectText(t, card, email)
	expectText(t, card, reason)
	expectText(t, card, "E-mail activation")
	browsertest.Screenshot(t, page, "settings-history")
	checkA11y(t, page, "settings-history")
}

func sameRawJSON(a, b json.RawMessage) bool { return bytes.Equal(a, b) }

func settingsText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func compactValues(m map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		var buf bytes.Buffer
		if json.Compact(&buf, v) != nil {
			out[k] = v
			continue
		}
		out[k] = buf.Bytes()
	}
	return out
}
