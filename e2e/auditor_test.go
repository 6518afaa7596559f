package e2e

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// Journey 7: two admins edit the RaaS settings at once. Both load the form and preview a
// change to a different setting; the first saves, the second gets the conflict view (what
// they loaded, what is there now, their change) and, after previewing their change again
// on the current values, saves too. Both changes end up in Synerise, nothing is lost, and
// the conflicting save wrote nothing.
func TestSettingsConcurrentAdmins(t *testing.T) {
	c := startConsole(t)
	before := c.sim.Settings()
	if string(before["pinConfirmationLength"]) != "6" || string(before["pinConfirmationValidInSeconds"]) != "300" {
		t.Fatalf("simulator defaults changed: %s, %s", before["pinConfirmationLength"], before["pinConfirmationValidInSeconds"])
	}
	first, firstEmail := c.signIn(operators.RoleAdmin)
	second, secondEmail := c.signIn(operators.RoleAdmin)
	for _, p := range []playwright.Page{first, second} {
		browsertest.Goto(t, p, c.URL+"/settings")
		expectVisible(t, heading(p, "RaaS settings"))
	}
	settingsSets := c.sim.RequestCount(simulator.RouteSettingsSet)

	// Both change a different setting and preview it.
	check(t, first.GetByLabel("PIN length", playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)}).Fill("8"))
	check(t, button(first, "Preview changes").Click())
	expectVisible(t, heading(first, "Check your changes to the RaaS settings"))
	expectText(t, first.Locator("table.setting-changes"), "8 digits")

	check(t, second.GetByLabel("PIN validity", playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)}).Fill("600"))
	check(t, button(second, "Preview changes").Click())
	expectVisible(t, heading(second, "Check your changes to the RaaS settings"))
	expectText(t, second.Locator("table.setting-changes"), "600 seconds (10 minutes)")

	// The first admin confirms.
	check(t, first.GetByLabel("Reason for this change").Fill("CHG-7001 longer PINs"))
	check(t, button(first, "Save these changes to Synerise").Click())
	expectText(t, first.GetByRole("status").First(), "Settings saved. PIN length: 6 digits → 8 digits.")
	browsertest.Screenshot(t, first, "j07-first-admin-saved")
	checkA11y(t, first, "j07-first-admin-saved")

	// The second admin confirms on the form they previewed before: a conflict.
	check(t, second.GetByLabel("Reason for this change").Fill("CHG-7002 PINs valid for ten minutes"))
	check(t, button(second, "Save these changes to Synerise").Click())
	expectVisible(t, heading(second, "The settings changed while you were editing"))
	expectText(t, second.GetByRole("alert"), "Nothing was written, so no one's change was lost.")
	mine := second.GetByRole("row", playwright.PageGetByRoleOptions{Name: "PIN validity"})
	expectText(t, mine.Locator("td").Nth(0), "300 seconds (5 minutes)")  // when they loaded the page
	expectText(t, mine.Locator("td").Nth(1), "300 seconds (5 minutes)")  // now in Synerise
	expectText(t, mine.Locator("td").Nth(2), "600 seconds (10 minutes)") // their change
	expectVisible(t, second.GetByRole("heading", playwright.PageGetByRoleOptions{Name: "Other settings changed meanwhile"}))
	theirs := second.GetByRole("row", playwright.PageGetByRoleOptions{Name: "PIN length"})
	expectText(t, theirs.Locator("td").Nth(0), "6 digits")
	expectText(t, theirs.Locator("td").Nth(1), "8 digits")
	browsertest.Screenshot(t, second, "j07-second-admin-conflict")
	checkA11y(t, second, "j07-second-admin-conflict")

	// The conflicting save wrote nothing: the first change is there, the second not yet.
	if n := c.sim.RequestCount(simulator.RouteSettingsSet) - settingsSets; n != 1 {
		t.Fatalf("%d settings writes after the conflict, want 1 (the first admin's)", n)
	}
	if s := c.sim.Settings(); string(s["pinConfirmationLength"]) != "8" || string(s["pinConfirmationValidInSeconds"]) != "300" {
		t.Fatalf("after the conflict: length %s, validity %s; want 8 and 300", s["pinConfirmationLength"], s["pinConfirmationValidInSeconds"])
	}

	// Re-applying previews the second admin's change on the fresh values; the reason is kept.
	check(t, button(second, "Preview my change on the current values").Click())
	expectVisible(t, heading(second, "Check your changes to the RaaS settings"))
	changes := second.Locator("table.setting-changes tbody tr")
	browsertest.Check(t, browsertest.Expect().Locator(changes).ToHaveCount(1), "only the second admin's change is previewed")
	expectText(t, changes, "PIN validity")
	browsertest.Check(t, browsertest.Expect().Locator(second.GetByLabel("Reason for this change")).
		ToHaveValue("CHG-7002 PINs valid for ten minutes"))
	check(t, button(second, "Save these changes to Synerise").Click())
	expectText(t, second.GetByRole("status").First(), "Settings saved. PIN validity: 300 seconds (5 minutes) → 600 seconds (10 minutes).")
	// The form now shows both changes as the current values.
	expectText(t, second.Locator("#pinConfirmationLength-current"), "8 digits")
	expectText(t, second.Locator("#pinConfirmationValidInSeconds-current"), "600 seconds (10 minutes)")
	browsertest.Screenshot(t, second, "j07-second-admin-saved")
	checkA11y(t, second, "j07-second-admin-saved")

	after := c.sim.Settings()
	if string(after["pinConfirmationLength"]) != "8" || string(after["pinConfirmationValidInSeconds"]) != "600" {
		t.Fatalf("both changes should be in Synerise: length %s, validity %s", after["pinConfirmationLength"], after["pinConfirmationValidInSeconds"])
	}
	for k, v := range before {
		if k == "pinConfirmationLength" || k == "pinConfirmationValidInSeconds" {
			continue
		}
		if !bytes.Equal(after[k], v) {
			t.Errorf("setting %s changed from %s to %s; nobody edited it", k, v, after[k])
		}
	}
	if n := c.sim.RequestCount(simulator.RouteSettingsSet) - settingsSets; n != 2 {
		t.Fatalf("%d settings writes, want 2", n)
	}

	// The audit log holds both changes, each an intent and a successful outcome, by the
	// admin who made it, with their reason and only their key; between them, the second
	// admin's first attempt, refused for the conflict before anything was sent.
	events := c.events(audit.ActionSettingsUpdate)
	if len(events) != 5 {
		for _, e := range events {
			t.Logf("seq %d %s %s intent %d reason %q", e.Seq, e.Actor.Email, e.Outcome, e.IntentSeq, e.Reason)
		}
		t.Fatalf("%d settings.update events, want 5 (two intents and two outcomes, one refused attempt)", len(events))
	}
	want := []struct {
		email, reason, key string
	}{
		{firstEmail, "CHG-7001 longer PINs", "pinConfirmationLength"},
		{secondEmail, "CHG-7002 PINs valid for ten minutes", "pinConfirmationValidInSeconds"},
	}
	type detail struct {
		ChangedKeys []string `json:"changedKeys"`
		ErrorKind   string   `json:"errorKind"`
	}
	refused := events[2]
	var rd detail
	if err := json.Unmarshal(refused.Detail, &rd); err != nil || refused.Outcome != audit.OutcomeFailed || refused.IntentSeq != 0 ||
		refused.Actor.Email != secondEmail || refused.Reason != want[1].reason || rd.ErrorKind != "conflict" ||
		!slices.Equal(rd.ChangedKeys, []string{want[1].key}) {
		t.Errorf("refused attempt recorded as %s by %s (intent %d, reason %q, detail %s)", refused.Outcome, refused.Actor.Email,
			refused.IntentSeq, refused.Reason, refused.Detail)
	}
	pairs := [][2]audit.Event{{events[0], events[1]}, {events[3], events[4]}}
	for i, w := range want {
		intent, outcome := pairs[i][0], pairs[i][1]
		if intent.Outcome != audit.OutcomePending || outcome.Outcome != audit.OutcomeSucceeded || outcome.IntentSeq != intent.Seq {
			t.Errorf("change %d: intent %s (seq %d), outcome %s for intent %d", i+1, intent.Outcome, intent.Seq, outcome.Outcome, outcome.IntentSeq)
		}
		if intent.Actor.Email != w.email || outcome.Actor.Email != w.email || intent.Actor.Role != "admin" {
			t.Errorf("change %d made by %s/%s (%s), want %s", i+1, intent.Actor.Email, outcome.Actor.Email, intent.Actor.Role, w.email)
		}
		if intent.Reason != w.reason {
			t.Errorf("change %d reason %q, want %q", i+1, intent.Reason, w.reason)
		}
		var d detail
		if err := json.Unmarshal(intent.Detail, &d); err != nil || !slices.Equal(d.ChangedKeys, []string{w.key}) {
			t.Errorf("change %d changed keys %v (%v), want [%s]", i+1, d.ChangedKeys, err, w.key)
		}
	}

	// The history shows both changes and the refused attempt, newest first.
	check(t, second.GetByRole("link", playwright.PageGetByRoleOptions{Name: "History of changes"}).Click())
	expectVisible(t, heading(second, "History of RaaS settings changes"))
	cards := second.Locator("section.settings-history")
	browsertest.Check(t, browsertest.Expect().Locator(cards).ToHaveCount(3))
	expectText(t, cards.Nth(0), secondEmail)
	expectText(t, cards.Nth(0), "CHG-7002")
	expectText(t, cards.Nth(1), secondEmail)
	expectText(t, cards.Nth(1), "Nothing was sent: another change had reached Synerise since the settings were loaded")
	expectText(t, cards.Nth(2), firstEmail)
	expectText(t, cards.Nth(2), "CHG-7001")
	browsertest.Screenshot(t, second, "j07-history")
	checkA11y(t, second, "j07-history")
}

// Journey 8: after support agents have acted on customers, an auditor narrows the log to
// one kind of action on one customer, opens an event, downloads the same view as CSV and
// as NDJSON, and checks the chain. Every one of those reads is audited too.
func TestAuditorReviewsSupportActions(t *testing.T) {
	c := startConsole(t)
	anna, ok := c.sim.ExampleIn(simulator.StateActivated)
	if !ok {
		t.Fatal("no activated example customer")
	}
	lukasz, ok := c.sim.ExampleIn(simulator.StateUnconfirmed)
	if !ok {
		t.Fatal("no unconfirmed example customer")
	}
	annaID := strconv.FormatInt(anna.ClientID, 10)

	// A support agent finds Anna, opens her page and sends her a password reset; then
	// sends Łukasz one too.
	support, supportEmail := c.signIn(operators.RoleSupport)
	check(t, support.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Customers", Exact: playwright.Bool(true)}).First().Click())
	check(t, support.GetByLabel("Find a customer").Fill(anna.Email))
	name := anna.FirstName + " " + anna.LastName
	check(t, support.GetByRole("link", playwright.PageGetByRoleOptions{Name: name}).Click())
	expectVisible(t, heading(support, name))
	sendReset := func(reason string) {
		t.Helper()
		check(t, support.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Send a password reset e-mail…"}).Click())
		check(t, support.GetByLabel("Reason", playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)}).Fill(reason))
		check(t, button(support, "Send password reset e-mail").Click())
		expectText(t, support.Locator("#action-panel"), "Sent")
	}
	sendReset("TICKET-8801 customer forgot password")
	browsertest.Screenshot(t, support, "j08-support-reset-sent")
	checkA11y(t, support, "j08-support-reset-sent")
	browsertest.Goto(t, support, c.URL+"/customers/"+strconv.FormatInt(lukasz.ClientID, 10))
	sendReset("TICKET-8802 customer locked out")
	if n := len(c.events(audit.ActionCustomerPasswordReset)); n != 4 {
		t.Fatalf("%d customer.password_reset events before the audit, want 4", n)
	}

	// The auditor filters the log to password resets of Anna.
	auditor, auditorEmail := c.signIn(operators.RoleAuditor)
	check(t, auditor.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Audit log", Exact: playwright.Bool(true)}).First().Click())
	expectVisible(t, heading(auditor, "Audit log"))
	_, err := auditor.GetByLabel("Action", playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)}).
		SelectOption(playwright.SelectOptionValues{Values: &[]string{string(audit.ActionCustomerPasswordReset)}})
	check(t, err)
	check(t, auditor.GetByLabel("Target (customer id, uuid or e-mail)").Fill(annaID))
	check(t, button(auditor, "Show matching events").Click())
	browsertest.Check(t, browsertest.Expect().Page(auditor).ToHaveURL(regexp.MustCompile(`/audit\?.*action=customer\.password_reset.*target=`+annaID)),
		"the filter is kept in the address")
	rows := auditor.Locator("#audit-workspace table tbody tr")
	browsertest.Check(t, browsertest.Expect().Locator(rows).ToHaveCount(2), "Anna's intent and outcome")
	for i := range 2 {
		expectText(t, rows.Nth(i), supportEmail)
		expectText(t, rows.Nth(i), "Sent a customer a password reset")
		expectText(t, rows.Nth(i), "TICKET-8801")
		expectText(t, rows.Nth(i), anna.Email)
	}
	expectText(t, rows.Nth(0), "Succeeded")
	expectText(t, rows.Nth(1), "Intent (about to act)")
	var viewSeqs []int64
	for i := range 2 {
		href, err := rows.Nth(i).Locator("a").First().GetAttribute("href")
		check(t, err)
		seq, err := strconv.ParseInt(strings.TrimPrefix(href, "/audit/"), 10, 64)
		check(t, err, "row link ", href)
		viewSeqs = append(viewSeqs, seq)
	}
	browsertest.Screenshot(t, auditor, "j08-auditor-filtered")
	checkA11y(t, auditor, "j08-auditor-filtered")

	// One event in full: the outcome, linked to its intent.
	check(t, rows.Nth(0).Locator("a").First().Click())
	expectVisible(t, heading(auditor, "Audit event "+strconv.FormatInt(viewSeqs[0], 10)))
	expectText(t, auditor.Locator("main"), "This is the outcome of an intent recorded before the action was attempted")
	fields := auditor.Locator("dl.fields")
	expectText(t, fields, supportEmail)
	expectText(t, fields, "TICKET-8801 customer forgot password")
	expectText(t, fields, "Sent a customer a password reset (customer.password_reset)")
	expectText(t, fields, annaID)
	browsertest.Screenshot(t, auditor, "j08-auditor-event")
	checkA11y(t, auditor, "j08-auditor-event")

	// Back to the filtered view, which the address kept.
	_, err = auditor.GoBack()
	check(t, err)
	browsertest.Check(t, browsertest.Expect().Locator(auditor.GetByLabel("Action", playwright.PageGetByLabelOptions{Exact: playwright.Bool(true)})).
		ToHaveValue(string(audit.ActionCustomerPasswordReset)))
	browsertest.Check(t, browsertest.Expect().Locator(rows).ToHaveCount(2))

	// Both exports hold exactly the filtered view.
	download := func(link string) ([]byte, string) {
		t.Helper()
		dl, err := auditor.ExpectDownload(func() error {
			return auditor.GetByRole("link", playwright.PageGetByRoleOptions{Name: link}).Click()
		})
		check(t, err, "download ", link)
		path, err := dl.Path()
		check(t, err)
		b, err := os.ReadFile(path)
		check(t, err)
		return b, dl.SuggestedFilename()
	}
	csvBytes, csvName := download("CSV for spreadsheets")
	if !regexp.MustCompile(`^audit-start_\d{4}-\d\d-\d\dT\d\d-\d\dZ\.csv$`).MatchString(csvName) {
		t.Errorf("CSV file name %q", csvName)
	}
	records, err := csv.NewReader(bytes.NewReader(csvBytes)).ReadAll()
	check(t, err, "CSV parses")
	if len(records) != 3 {
		t.Fatalf("CSV has %d lines, want a header and 2 rows:\n%s", len(records), csvBytes)
	}
	if !slices.Equal(records[0], audit.CSVHeader()) {
		t.Errorf("CSV header %v, want %v", records[0], audit.CSVHeader())
	}
	col := func(name string) int { return slices.Index(records[0], name) }
	var csvSeqs []int64
	for _, r := range records[1:] {
		seq, _ := strconv.ParseInt(r[col("seq")], 10, 64)
		csvSeqs = append(csvSeqs, seq)
		if r[col("action")] != string(audit.ActionCustomerPasswordReset) || r[col("target_id")] != annaID ||
			r[col("actor_email")] != supportEmail || r[col("reason")] != "TICKET-8801 customer forgot password" {
			t.Errorf("CSV row does not match the view: %v", r)
		}
	}
	if !slices.Equal(csvSeqs, viewSeqs) {
		t.Errorf("CSV seqs %v, view seqs %v", csvSeqs, viewSeqs)
	}

	ndBytes, ndName := download("NDJSON (one JSON object a line)")
	if !strings.HasSuffix(ndName, ".ndjson") {
		t.Errorf("NDJSON file name %q", ndName)
	}
	var ndSeqs []int64
	sc := bufio.NewScanner(bytes.NewReader(ndBytes))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r audit.Record
		check(t, json.Unmarshal(sc.Bytes(), &r), "NDJSON line ", sc.Text())
		ndSeqs = append(ndSeqs, r.Seq)
		if r.Action != string(audit.ActionCustomerPasswordReset) || r.TargetID != annaID || r.ActorEmail != supportEmail {
			t.Errorf("NDJSON line does not match the view: %s", sc.Bytes())
		}
	}
	check(t, sc.Err())
	if !slices.Equal(ndSeqs, viewSeqs) {
		t.Errorf("NDJSON seqs %v, view seqs %v", ndSeqs, viewSeqs)
	}

	// The log's integrity.
	check(t, auditor.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Check the log's integrity"}).Click())
	expectVisible(t, heading(auditor, "Audit log integrity"))
	expectText(t, auditor.GetByRole("status").Filter(playwright.LocatorFilterOptions{HasText: "Every row"}), "Intact")
	browsertest.Screenshot(t, auditor, "j08-auditor-integrity")
	checkA11y(t, auditor, "j08-auditor-integrity")

	// The auditor's reading is in the log: the filtered search, the event opened, both
	// exports (intent and outcome with the row count) and the verification.
	searched := false
	for _, e := range c.events(audit.ActionAuditSearch) {
		var d struct {
			Filter map[string]string `json:"filter"`
		}
		_ = json.Unmarshal(e.Detail, &d)
		if e.Actor.Email == auditorEmail && d.Filter["action"] == string(audit.ActionCustomerPasswordReset) && d.Filter["target"] == annaID {
			searched = true
		}
	}
	if !searched {
		t.Error("the auditor's filtered search is not in the audit log")
	}
	viewed := false
	for _, e := range c.events(audit.ActionAuditView) {
		if e.Actor.Email == auditorEmail && e.Target.Type == "audit_event" && e.Target.ID == strconv.FormatInt(viewSeqs[0], 10) {
			viewed = true
		}
	}
	if !viewed {
		t.Error("opening the event is not in the audit log")
	}
	exports := c.events(audit.ActionAuditExport)
	if len(exports) != 4 {
		t.Fatalf("%d audit.export events, want 4 (intent and outcome of each export)", len(exports))
	}
	for i, format := range []string{"csv", "ndjson"} {
		intent, outcome := exports[2*i], exports[2*i+1]
		var id struct {
			Filter map[string]string `json:"filter"`
			Format string            `json:"format"`
		}
		_ = json.Unmarshal(intent.Detail, &id)
		var od struct {
			Rows int `json:"rows"`
		}
		_ = json.Unmarshal(outcome.Detail, &od)
		if intent.Actor.Email != auditorEmail || intent.Outcome != audit.OutcomePending || id.Format != format ||
			id.Filter["action"] != string(audit.ActionCustomerPasswordReset) || id.Filter["target"] != annaID {
			t.Errorf("%s export intent: %s %s %s", format, intent.Actor.Email, intent.Outcome, intent.Detail)
		}
		if outcome.Outcome != audit.OutcomeSucceeded || outcome.IntentSeq != intent.Seq || od.Rows != 2 {
			t.Errorf("%s export outcome: %s for %d, %s", format, outcome.Outcome, outcome.IntentSeq, outcome.Detail)
		}
	}
	verified := c.events(audit.ActionAuditVerify)
	if len(verified) != 1 || verified[0].Actor.Email != auditorEmail || !strings.Contains(string(verified[0].Detail), `"intact":true`) {
		t.Errorf("audit.verify events: %+v", verified)
	}
}
