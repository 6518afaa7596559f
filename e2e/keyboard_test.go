package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/playwright-community/playwright-go"

	"github.com/raas-console/console/internal/browsertest"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// focusProbe describes document.activeElement: its accessible name (as a person hears it,
// approximately), whether it sits inside <main>, and whether its focus can be seen.
// Visible focus means an outline at least 2 CSS pixels thick (WCAG 2.4.13) or a box shadow
// that the same element does not have when unfocused, compared with an unfocused twin of
// the element; the element must also be on screen.
const focusProbe = `() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) {
    return {tag: "body", name: "", id: "", inMain: false, inDialog: false, visible: false, why: "nothing has focus"};
  }
  const text = (s) => (s || "").replace(/\s+/g, " ").trim();
  let name = text(el.getAttribute("aria-label"));
  if (!name && el.getAttribute("aria-labelledby")) {
    name = text(el.getAttribute("aria-labelledby").split(/\s+/).map((id) => (document.getElementById(id) || {}).innerText || "").join(" "));
  }
  if (!name && el.labels && el.labels.length) name = text(el.labels[0].innerText);
  if (!name) name = text(el.innerText || el.value || el.title);
  // A date or time field's calendar button lives in the browser's own shadow tree: the
  // field is the active element but not :focus, and the browser draws the button's ring.
  if (/^(date|datetime-local|time)$/.test(el.type) && !el.matches(":focus") && document.hasFocus()) {
    return {tag: "input", name: name + " (calendar button)", id: el.id, inMain: !!el.closest("main"), inDialog: !!el.closest("dialog"), visible: true, why: ""};
  }
  const on = getComputedStyle(el);
  const focused = {style: on.outlineStyle, width: parseFloat(on.outlineWidth) || 0, color: on.outlineColor, shadow: on.boxShadow};
  const twin = el.cloneNode(false);
  twin.removeAttribute("autofocus");
  el.after(twin);
  const off = getComputedStyle(twin);
  const plain = {style: off.outlineStyle, width: parseFloat(off.outlineWidth) || 0, color: off.outlineColor, shadow: off.boxShadow};
  twin.remove();
  const transparent = /transparent|rgba\([^)]*,\s*0\)$/.test(focused.color);
  const outline = focused.style !== "none" && focused.width >= 2 && !transparent &&
    (focused.style !== plain.style || focused.width !== plain.width || focused.color !== plain.color);
  const shadow = focused.shadow !== "none" && focused.shadow !== plain.shadow;
  const r = el.getBoundingClientRect();
  const onScreen = r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
  let why = "";
  if (!outline && !shadow) why = (document.hasFocus() ? "" : "the page does not have the focus; ") + (el.matches(":focus-visible") ? "" : "not :focus-visible; ") + "outline " + focused.style + " " + focused.width + "px " + focused.color + ", box-shadow " + focused.shadow + " (unfocused: outline " + plain.style + " " + plain.width + "px, box-shadow " + plain.shadow + ")";
  else if (!onScreen) why = "off screen at " + Math.round(r.left) + "," + Math.round(r.top) + " size " + Math.round(r.width) + "x" + Math.round(r.height);
  return {tag: el.tagName.toLowerCase(), name: name.slice(0, 120), id: el.id, inMain: !!el.closest("main"), inDialog: !!el.closest("dialog"),
    visible: (outline || shadow) && onScreen, why: why};
}`

// focus is what focusProbe reports.
type focus struct {
	Tag, Name, ID    string
	InMain, InDialog bool
	Visible          bool
	Why              string
}

func (f focus) String() string {
	s := "<" + f.Tag
	if f.ID != "" {
		s += " id=" + f.ID
	}
	return s + "> " + strconv.Quote(f.Name)
}

// keyboard drives a page with the keyboard alone: no clicks, no Fill, no Focus.
type keyboard struct {
	t    *testing.T
	page playwright.Page
	// stops counts Tab stops checked, for the test log.
	stops int
}

func newKeyboard(t *testing.T, page playwright.Page) *keyboard { return &keyboard{t: t, page: page} }

// focused reports the element that has the focus now.
func (k *keyboard) focused() focus {
	k.t.Helper()
	v, err := k.page.Evaluate(focusProbe)
	check(k.t, err, "probing the focused element")
	m, _ := v.(map[string]any)
	str := func(key string) string { s, _ := m[key].(string); return s }
	flag := func(key string) bool { b, _ := m[key].(bool); return b }
	return focus{Tag: str("tag"), Name: str("name"), ID: str("id"), InMain: flag("inMain"),
		InDialog: flag("inDialog"), Visible: flag("visible"), Why: str("why")}
}

// press presses one key or chord ("Enter", "Shift+Tab", "/").
func (k *keyboard) press(key string) {
	k.t.Helper()
	check(k.t, k.page.Keyboard().Press(key), "pressing ", key)
}

// follow presses key on a link or a form's button and waits for the next page to load.
func (k *keyboard) follow(key string) {
	k.t.Helper()
	_, err := k.page.ExpectEvent("load", func() error { return k.page.Keyboard().Press(key) })
	check(k.t, err, "pressing ", key, " to go to the next page")
}

// typeText types s key by key into whatever has the focus.
func (k *keyboard) typeText(s string) {
	k.t.Helper()
	check(k.t, k.page.Keyboard().Type(s), "typing ", s)
}

// tab presses key (Tab or Shift+Tab) and fails unless the new focus can be seen.
func (k *keyboard) tab(key string) focus {
	k.t.Helper()
	k.press(key)
	f := k.focused()
	k.stops++
	if !f.Visible {
		k.t.Fatalf("%s landed on %s on %s, which has no visible focus indicator: %s", key, f, k.page.URL(), f.Why)
	}
	return f
}

// tabTo presses Tab until the focus is on an element named name, checking every stop.
func (k *keyboard) tabTo(name string) focus { k.t.Helper(); return k.moveTo("Tab", name) }

// shiftTabTo is tabTo backwards.
func (k *keyboard) shiftTabTo(name string) focus { k.t.Helper(); return k.moveTo("Shift+Tab", name) }

func (k *keyboard) moveTo(key, name string) focus {
	k.t.Helper()
	var seen []string
	for range 80 {
		f := k.tab(key)
		if named(f.Name, name) {
			return f
		}
		seen = append(seen, f.String())
	}
	k.t.Fatalf("%s never reached %q on %s; stops: %s", key, name, k.page.URL(), strings.Join(seen, ", "))
	return focus{}
}

// named says whether an accessible name is want, or want followed by more words (a
// label that also shows the setting's API key, say).
func named(got, want string) bool {
	if !strings.HasPrefix(got, want) {
		return false
	}
	rest := []rune(got[len(want):])
	return len(rest) == 0 || !unicode.IsLetter(rest[0]) && !unicode.IsDigit(rest[0])
}

// expectFocus fails unless the focus is on an element named name.
func (k *keyboard) expectFocus(name, why string) focus {
	k.t.Helper()
	f := k.focused()
	if !named(f.Name, name) {
		k.t.Fatalf("%s: focus is on %s, want %q", why, f, name)
	}
	return f
}

// focusMovesInto waits until an update has put the focus inside selector, and fails
// naming where the focus is if it never gets there.
func (k *keyboard) focusMovesInto(selector, why string) focus {
	k.t.Helper()
	// A locator assertion waits without evaluating strings, which the console's CSP forbids.
	inside := k.page.Locator(selector + ":focus, " + selector + " :focus")
	if err := browsertest.Expect().Locator(inside).ToHaveCount(1); err != nil {
		k.t.Fatalf("%s: the focus is on %s, want it inside %s (%v)", why, k.focused(), selector, err)
	}
	return k.focused()
}

// skipLink checks, on a freshly loaded page, that the first Tab stop is a visible
// "Skip to main content" link and that following it puts the next Tab stop inside <main>.
func (k *keyboard) skipLink() {
	k.t.Helper()
	f := k.tab("Tab")
	if f.Name != "Skip to main content" || f.Tag != "a" {
		k.t.Fatalf("first Tab stop on %s is %s, want the link \"Skip to main content\"", k.page.URL(), f)
	}
	k.press("Enter")
	if f := k.tab("Tab"); !f.InMain {
		k.t.Fatalf("after the skip link the next Tab stop is %s, outside <main>", f)
	}
}

// signIn signs in from the sign-in page with the keyboard.
func (k *keyboard) signIn(c *console, email string) {
	k.t.Helper()
	browsertest.Goto(k.t, k.page, c.URL+"/login")
	if f := k.focused(); !named(f.Name, "E-mail") {
		k.tabTo("E-mail")
	}
	k.typeText(email)
	k.tabTo("Password")
	k.typeText(testPassword)
	k.follow("Enter")
	expectVisible(k.t, button(k.page, "Sign out"))
}

// headerShot saves the page's header, with whatever has the focus, as name.png among the
// test screenshots.
func headerShot(t *testing.T, page playwright.Page, name string) {
	t.Helper()
	dir := browsertest.ScreenshotDir()
	check(t, os.MkdirAll(dir, 0o755))
	_, err := page.Screenshot(playwright.PageScreenshotOptions{
		Path: playwright.String(filepath.Join(dir, name+".png")),
		Clip: &playwright.Rect{X: 0, Y: 0, Width: 1280, Height: 150},
	})
	check(t, err, "header screenshot")
}

// Keyboard journey, support: sign in, "/" to the search, type an e-mail, Enter, open the
// customer, send a password reset, all without a mouse and with the focus visible at every
// stop; the result of the reset takes the focus.
func TestKeyboardSupportResetsPassword(t *testing.T) {
	c := startConsole(t)
	c.setRegistration("REQUIRE_EMAIL_CONFIRMATION")
	lukasz := exampleCustomer(t, c, simulator.StateUnconfirmed)
	name := lukasz.FirstName + " " + lukasz.LastName
	page := browsertest.NewPage(t)
	k := newKeyboard(t, page)
	k.signIn(c, c.operator(operators.RoleSupport))

	expectVisible(t, page.GetByText("Press / to search"))
	k.skipLink()
	k.shiftTabTo("Customers")
	headerShot(t, page, "keyboard-focus-header")

	// "/" typed into a field is just a character.
	k.tabTo("Change password")
	k.follow("Enter")
	k.tabTo("Current password")
	k.press("/")
	if f := k.focused(); f.ID == "customer-q" {
		t.Fatal("/ typed in a password field jumped to the search")
	}
	// With Control it is not the shortcut either.
	k.press("Shift+Tab")
	k.press("Control+/")
	if strings.Contains(page.URL(), "/customers") {
		t.Fatal("Control+/ went to the customer search")
	}

	// "/" from another page: the search page, its box focused.
	k.follow("/")
	browsertest.Check(t, browsertest.Expect().Page(page).ToHaveURL(regexp.MustCompile(`/customers`)))
	f := k.expectFocus("Find a customer", "after / from another page")
	if v, _ := page.Locator("#customer-q").GetAttribute("aria-keyshortcuts"); v != "/" {
		t.Errorf("the search box announces aria-keyshortcuts=%q, want /", v)
	}
	if !f.Visible {
		t.Errorf("the search box has the focus but does not show it: %s", f.Why)
	}
	k.typeText(lukasz.Email)
	k.press("Enter")
	results := page.Locator("#results")
	expectText(t, results, "Searched as an e-mail address")
	k.expectFocus("Find a customer", "after the search")

	// "/" on the search page itself comes back to the box.
	k.tabTo(name)
	k.press("/")
	k.expectFocus("Find a customer", "after / on the search page")
	k.tabTo(name)
	k.follow("Enter")
	expectVisible(t, heading(page, name))

	k.tabTo("Send a password reset e-mail…")
	k.follow("Enter")
	expectVisible(t, heading(page, "Password reset for "+name))
	k.tabTo("Reason")
	k.typeText("TICKET-7001 forgot password, asked by phone")
	k.tabTo("Send password reset e-mail")
	k.press("Enter")
	done := page.Locator("#action-panel").GetByRole("status")
	expectText(t, done, "Synerise accepted the request and e-mails a password reset link to "+lukasz.Email+".")
	if f := k.focusMovesInto("#action-panel", "after the reset"); !strings.Contains(f.Name, "Sent") {
		t.Fatalf("after the reset the focus is on %s, want the result", f)
	}
	k.tabTo("Back to the customer")
	if msgs := c.sim.Outbox(); len(msgs) != 1 || msgs[0].Kind != simulator.KindPasswordReset {
		t.Fatalf("simulator outbox %+v, want one password reset", msgs)
	}
	t.Logf("%d Tab stops, each with visible focus", k.stops)
}

// Keyboard journey, admin: sign in, go to the settings, change one setting with the arrow
// keys, preview, give a reason and save, without a mouse and with the focus visible at
// every stop. With no second factor enrolled (the sandbox) no step-up dialog appears.
func TestKeyboardAdminChangesSetting(t *testing.T) {
	c := startConsole(t)
	before := string(c.sim.Settings()["registrationType"])
	page := browsertest.NewPage(t)
	k := newKeyboard(t, page)
	k.signIn(c, c.operator(operators.RoleAdmin))
	k.skipLink()
	k.shiftTabTo("Settings")
	k.follow("Enter")
	expectVisible(t, heading(page, "RaaS settings"))

	k.tabTo("Registration type")
	k.press("ArrowDown")
	chosen, err := page.Evaluate(`() => document.activeElement.value`)
	check(t, err)
	if `"`+chosen.(string)+`"` == before {
		t.Fatalf("ArrowDown left the registration type at %s", before)
	}
	k.tabTo("Preview changes")
	k.press("Enter")
	expectVisible(t, heading(page, "Check your changes to the RaaS settings"))
	k.focusMovesInto("main", "after the preview")
	expectVisible(t, page.GetByText("Press / to search"))
	browsertest.Check(t, browsertest.Expect().Locator(page.Locator("table.setting-changes tbody tr")).ToHaveCount(1), "one change previewed")

	k.tabTo("Reason for this change")
	k.typeText("CHG-7002 registration as agreed with the shop")
	k.tabTo("Save these changes to Synerise")
	k.press("Enter")
	// The save ends on a new page (the settings as saved), so the keyboard starts again
	// at the skip link.
	expectText(t, page.GetByRole("status").First(), "Settings saved.")
	k.skipLink()
	if n, err := page.Locator("dialog[open]").Count(); err != nil || n != 0 {
		t.Fatalf("a dialog is open after the save (%d, %v); no second factor is enrolled", n, err)
	}
	if got := string(c.sim.Settings()["registrationType"]); got != `"`+chosen.(string)+`"` {
		t.Errorf("registrationType in Synerise is %s, want %q", got, chosen)
	}
	t.Logf("%d Tab stops, each with visible focus", k.stops)
}

// Keyboard journey, auditor: sign in, open the audit log, set filters (a select with the
// arrow keys, a field typed), apply, open an event, come back, and export; the focus stays
// on the filter's button after the results are replaced, and the export starts a download.
func TestKeyboardAuditorFiltersAndExports(t *testing.T) {
	c := startConsole(t)
	page := browsertest.NewPage(t)
	k := newKeyboard(t, page)
	// An earlier session leaves sign-ins in the log to filter on.
	supportEmail := c.operator(operators.RoleSupport)
	k.signIn(c, supportEmail)
	k.tabTo("Sign out")
	k.follow("Enter")

	k.signIn(c, c.operator(operators.RoleAuditor))
	k.skipLink()
	k.shiftTabTo("Audit log")
	k.follow("Enter")
	expectVisible(t, heading(page, "Audit log"))

	k.tabTo("Operator e-mail")
	k.typeText(supportEmail)
	k.tabTo("Outcome")
	for range 10 {
		v, err := page.Evaluate(`() => document.activeElement.value`)
		check(t, err)
		if v == "succeeded" {
			break
		}
		k.press("ArrowDown")
	}
	k.tabTo("Show matching events")
	k.press("Enter")
	browsertest.Check(t, browsertest.Expect().Page(page).ToHaveURL(regexp.MustCompile(`/audit\?.*actor=`)), "the filter is in the address")
	rows := page.Locator("#audit-workspace table tbody tr")
	expectText(t, rows.First(), supportEmail)
	k.focusMovesInto("#audit-workspace", "after the filter")

	f := k.tabTo("CSV for spreadsheets")
	k.tabTo("NDJSON (one JSON object a line)")
	f = k.tab("Tab")
	if f.Tag != "a" || !strings.Contains(f.Name, "event") {
		t.Fatalf("after the export links the focus is on %s, want the first event's link", f)
	}
	k.follow("Enter")
	expectVisible(t, page.GetByRole("heading", playwright.PageGetByRoleOptions{Name: regexp.MustCompile(`^Audit event \d+$`), Level: playwright.Int(1)}))
	expectText(t, page.Locator("dl.fields"), supportEmail)

	// Back, as the browser's Back does (Alt+Left is the browser's, not the page's).
	_, err := page.GoBack()
	check(t, err)
	browsertest.Check(t, browsertest.Expect().Page(page).ToHaveURL(regexp.MustCompile(`/audit\?.*actor=`)))
	expectText(t, rows.First(), supportEmail)
	k.skipLink()
	k.tabTo("CSV for spreadsheets")
	dl, err := page.ExpectDownload(func() error { return page.Keyboard().Press("Enter") })
	check(t, err, "the CSV export starts a download")
	if name := dl.SuggestedFilename(); !strings.HasSuffix(name, ".csv") {
		t.Errorf("download named %q, want a .csv", name)
	}
	t.Logf("%d Tab stops, each with visible focus", k.stops)
}

// The step-up dialog by keyboard: it opens with the focus on its code field, Tab and
// Shift+Tab stay inside it, Escape closes it and gives the focus back to the button that
// asked, and a code typed there sends the change.
func TestKeyboardStepUpDialog(t *testing.T) {
	c := startConsoleWith(t, map[string]string{"CONSOLE_STEP_UP_WINDOW": "30s"})
	anna := exampleCustomer(t, c, simulator.StateActivated)
	page := browsertest.NewPage(t)
	k := newKeyboard(t, page)
	k.signIn(c, c.operator(operators.RoleSupport))

	browsertest.Goto(t, page, c.URL+"/account/security")
	k.tabTo("Set up an authenticator app")
	k.follow("Enter")
	text, err := page.Locator("#totp-secret").TextContent()
	check(t, err)
	secret := strings.ReplaceAll(text, " ", "")
	var step int64
	k.tabTo("Code shown by the app")
	k.typeText(nextCode(t, secret, &step))
	k.tabTo("Confirm")
	k.follow("Enter")
	expectVisible(t, heading(page, "Your recovery codes"))

	// Past the step-up window, saving an edit asks for a factor.
	time.Sleep(31 * time.Second)
	browsertest.Goto(t, page, c.URL+"/customers/"+strconv.FormatInt(anna.ClientID, 10)+"/edit")
	k.tabTo("City")
	k.press("Control+a")
	k.typeText("Sopot")
	k.tabTo("Reason for the change")
	k.typeText("TICKET-7003 moved to Sopot")
	k.tabTo("Save changes to Synerise")
	k.press("Enter")
	dialog := page.GetByRole("dialog", playwright.PageGetByRoleOptions{Name: "Confirm it is you"})
	expectVisible(t, dialog)
	const code = "Code from your authenticator app, or a recovery code"
	k.focusMovesInto("dialog[open]", "the step-up dialog opened")
	if f := k.expectFocus(code, "the step-up dialog opened"); !f.Visible || !f.InDialog {
		t.Fatalf("the code field has the focus but shows it %v, in the dialog %v: %s", f.Visible, f.InDialog, f.Why)
	}
	for i := range 6 {
		if f := k.tab("Tab"); !f.InDialog {
			t.Fatalf("Tab %d left the dialog for %s", i+1, f)
		}
	}
	for i := range 6 {
		if f := k.tab("Shift+Tab"); !f.InDialog {
			t.Fatalf("Shift+Tab %d left the dialog for %s", i+1, f)
		}
	}
	k.press("Escape")
	browsertest.Check(t, browsertest.Expect().Locator(dialog).Not().ToBeVisible())
	k.focusMovesInto("form", "after Escape closed the dialog")
	k.expectFocus("Save changes to Synerise", "after Escape closed the dialog")

	k.press("Enter")
	expectVisible(t, dialog)
	k.focusMovesInto("dialog[open]", "the step-up dialog opened again")
	k.expectFocus(code, "the step-up dialog opened again")
	k.typeText(nextCode(t, secret, &step))
	k.follow("Enter")
	browsertest.Check(t, browsertest.Expect().Locator(dialog).Not().ToBeVisible())
	if got := rawText(t, simProfile(t, c, anna.ClientID)["city"]); got != "Sopot" {
		t.Fatalf("city in Synerise is %q after the step-up, want Sopot", got)
	}
}
