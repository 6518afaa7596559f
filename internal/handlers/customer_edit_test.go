package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/raas-console/console/internal/audit"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/operators"
	"github.com/raas-console/console/internal/synerise"
)

// profilesAPI is the console's view of Synerise profiles, for wrapping in tests.
type profilesAPI interface {
	Get(ctx context.Context, clientID int64) (*synerise.Profile, error)
	GetByEmail(ctx context.Context, email string) (*synerise.Profile, error)
	GetByCustomID(ctx context.Context, customID string) (*synerise.Profile, error)
	GetByUUID(ctx context.Context, uuid string) (*synerise.Profile, error)
	List(ctx context.Context, opts synerise.ListOptions) ([]synerise.Profile, error)
	Update(ctx context.Context, clientID int64, u synerise.ProfileUpdate) error
	ChangeEmail(ctx context.Context, clientID int64, email string) error
	Erase(ctx context.Context, clientID int64) error
	GetRaw(ctx context.Context, clientID int64) ([]byte, error)
}

// recordingProfiles remembers the JSON body of every update sent.
type recordingProfiles struct {
	profilesAPI
	mu   sync.Mutex
	sent []string
}

func (r *recordingProfiles) Update(ctx context.Context, id int64, u synerise.ProfileUpdate) error {
	b, _ := json.Marshal(u)
	r.mu.Lock()
	r.sent = append(r.sent, string(b))
	r.mu.Unlock()
	return r.profilesAPI.Update(ctx, id, u)
}

func newRecordingEnv(t *testing.T) (*env, *recordingProfiles) {
	rec := &recordingProfiles{}
	e := newEnv(t, func(d *handlers.Deps) { rec.profilesAPI = d.Profiles; d.Profiles = rec })
	return e, rec
}

func (e *env) profile(id string) map[string]any {
	e.t.Helper()
	n, _ := strconv.ParseInt(id, 10, 64)
	raw, ok := e.sim.Profile(n)
	if !ok {
		e.t.Fatalf("no profile %s", id)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// attrRow finds the form's attribute row holding key (existing rows) and returns its index.
func attrRow(form url.Values, key string) string {
	rows, _ := strconv.Atoi(form.Get("attr_rows"))
	for i := range rows {
		if form.Get("attr."+strconv.Itoa(i)+".orig") == key {
			return strconv.Itoa(i)
		}
	}
	return ""
}

// newAttrRow returns the index of the first empty row for a new attribute.
func newAttrRow(form url.Values) string {
	rows, _ := strconv.Atoi(form.Get("attr_rows"))
	for i := range rows {
		n := strconv.Itoa(i)
		if form.Get("attr."+n+".orig") == "" && form.Get("attr."+n+".key") == "" {
			return n
		}
	}
	return ""
}

func TestCustomerEditSendsOnlyWhatChanged(t *testing.T) {
	e, rec := newRecordingEnv(t)
	b, op := e.signedIn(operators.RoleSupport)
	path := "/customers/" + annaID
	page := body(b.get(path + "/edit"))
	for _, want := range []string{`<label for="f-city">`, `<label for="f-reason">`, annaMail, "Identifiers cannot be changed here"} {
		if !strings.Contains(page, want) {
			t.Errorf("edit form lacks %q", want)
		}
	}
	form := custFormValues(t, page, path)
	if form.Get("fingerprint") == "" || form.Get("nonce") == "" || form.Get("city") != "Warszawa" {
		t.Fatalf("form as loaded: %v", form)
	}
	form.Set("city", "Gdańsk")
	form.Set("province", "")  // cleared → null
	form.Del("agreement_sms") // unticked
	form.Set("attr."+attrRow(form, "loyaltyTier")+".value", "platinum")
	n := newAttrRow(form)
	form.Set("attr."+n+".key", "vipNote")
	form.Set("attr."+n+".value", "call first")
	form.Set("reason", "TICKET-100: moved to Gdańsk")

	res := b.post(path, form)
	saved := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("save: %d %s", res.StatusCode, saved)
	}
	for _, want := range []string{"Synerise accepted the changes", "may take a moment to appear", "Gdańsk", "platinum", "call first"} {
		if !strings.Contains(saved, want) {
			t.Errorf("saved page lacks %q", want)
		}
	}
	want := `{"agreements":{"sms":false},"attributes":{"loyaltyTier":"platinum","vipNote":"call first"},"city":"Gdańsk","province":null}`
	if len(rec.sent) != 1 || rec.sent[0] != want {
		t.Fatalf("sent %v\nwant [%s]", rec.sent, want)
	}
	p := e.profile(annaID)
	attrs := p["attributes"].(map[string]any)
	if p["city"] != "Gdańsk" || p["province"] != nil || p["firstName"] != "Anna" || p["zipCode"] != "00-001" ||
		p["agreements"].(map[string]any)["sms"] != false || p["agreements"].(map[string]any)["email"] != true ||
		attrs["loyaltyTier"] != "platinum" || attrs["vipNote"] != "call first" || attrs["snrs_email_confirmed"] != "true" {
		t.Fatalf("profile after save: %v", p)
	}

	// The intent came before the call with exactly the changed fields; the outcome after.
	var intent, outcome audit.Event
	for _, ev := range e.events() {
		if ev.Action == audit.ActionCustomerUpdate {
			if ev.Outcome == audit.OutcomePending {
				intent = ev
			} else {
				outcome = ev
			}
		}
	}
	if intent.Seq == 0 || outcome.IntentSeq != intent.Seq || outcome.Outcome != audit.OutcomeSucceeded {
		t.Fatalf("intent %+v outcome %+v", intent, outcome)
	}
	var before, after map[string]any
	_ = json.Unmarshal(intent.Before, &before)
	_ = json.Unmarshal(intent.After, &after)
	if len(after) != 5 || after["city"] != "Gdańsk" || before["city"] != "Warszawa" || after["province"] != nil ||
		before["province"] != "Mazowieckie" || after["attributes.vipNote"] != "call first" || before["attributes.loyaltyTier"] != "gold" {
		t.Fatalf("before %v after %v", before, after)
	}
	if intent.Reason != "TICKET-100: moved to Gdańsk" || intent.Actor.OperatorID != op.ID || intent.Target.ID != annaID {
		t.Fatalf("intent: %+v", intent)
	}

	// Removing is the checkbox only; an emptied value is sent as empty text.
	form = custFormValues(t, body(b.get(path+"/edit")), path)
	form.Set("attr."+attrRow(form, "vipNote")+".remove", "on")
	form.Set("attr."+attrRow(form, "loyaltyTier")+".value", "")
	form.Set("reason", "TICKET-101")
	if res := b.htmxPost(path, form); res.StatusCode != http.StatusOK {
		t.Fatalf("remove: %d %s", res.StatusCode, body(res))
	}
	if got := rec.sent[1]; got != `{"attributes":{"loyaltyTier":"","vipNote":null}}` {
		t.Fatalf("remove sent %s", got)
	}
	attrs = e.profile(annaID)["attributes"].(map[string]any)
	if _, ok := attrs["vipNote"]; ok {
		t.Error("vipNote survived its removal")
	}
}

func TestCustomerEditKeepsNumbersNumbers(t *testing.T) {
	e, rec := newRecordingEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	// Find a generated customer with loyaltyPoints (a number).
	var id string
	for n := int64(4812300010); n < 4812300100; n++ {
		raw, _ := e.sim.Profile(n)
		if strings.Contains(string(raw), `"loyaltyPoints":`) {
			id = strconv.FormatInt(n, 10)
			break
		}
	}
	path := "/customers/" + id
	form := custFormValues(t, body(b.get(path+"/edit")), path)
	form.Set("attr."+attrRow(form, "loyaltyPoints")+".value", "1234")
	form.Set("reason", "points correction")
	if res := b.post(path, form); res.StatusCode != http.StatusOK {
		t.Fatalf("save: %d %s", res.StatusCode, body(res))
	}
	if rec.sent[0] != `{"attributes":{"loyaltyPoints":1234}}` {
		t.Fatalf("sent %s", rec.sent[0])
	}
}

func TestCustomerEditValidationKeepsInputAndSendsNothing(t *testing.T) {
	e, rec := newRecordingEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	path := "/customers/" + annaID
	form := custFormValues(t, body(b.get(path+"/edit")), path)
	form.Set("phone", "call me maybe")
	form.Set("birthDate", "1899-12-31")
	form.Set("countryCode", "Poland")
	form.Set("firstName", strings.Repeat("A", 256))
	form.Set("lastName", "Kowal\x07ska")
	form.Set("sex", "ROBOT")
	n := newAttrRow(form)
	form.Set("attr."+n+".key", "snrs_email_confirmed")
	form.Set("attr."+n+".value", "true")
	form.Set("reason", "")
	res := b.post(path, form)
	page := body(res)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid save: %d", res.StatusCode)
	}
	for _, want := range []string{
		"Phone may hold only digits and spaces", "Birth date must be after 1900-01-01", "Country code must be a two-letter ISO 3166 code",
		"First name is too long", "Last name contains control characters", "Sex must be one of", "Synerise reserves snrs_email_confirmed",
		"Give a reason", `value="call me maybe"`, `value="Poland"`,
		`aria-invalid="true" aria-describedby="f-phone-hint phone-error"`, `id="phone-error"`, `aria-describedby="f-reason-hint reason-error"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("422 page lacks %q", want)
		}
	}
	if len(rec.sent) != 0 {
		t.Fatalf("sent %v", rec.sent)
	}
	// The future, bad keys and a missing value.
	form = custFormValues(t, body(b.get(path+"/edit")), path)
	form.Set("birthDate", "2999-01-01")
	n = newAttrRow(form)
	form.Set("attr."+n+".key", "bad key")
	form.Set("attr."+n+".value", "x")
	form.Set("reason", "r")
	page = body(b.htmxPost(path, form))
	for _, want := range []string{"Birth date cannot be in the future", "A key may hold only letters"} {
		if !strings.Contains(page, want) {
			t.Errorf("422 fragment lacks %q", want)
		}
	}
	// Nothing changed.
	form = custFormValues(t, body(b.get(path+"/edit")), path)
	form.Set("reason", "r")
	if res := b.post(path, form); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(res), "Nothing to save") {
		t.Errorf("empty change: %d", res.StatusCode)
	}
	if len(rec.sent) != 0 {
		t.Fatalf("sent %v", rec.sent)
	}
	// Valid edge values are accepted: dialling prefix, a date, a cleared sex.
	form = custFormValues(t, body(b.get(path+"/edit")), path)
	form.Set("countryCode", "+48")
	form.Set("birthDate", "1901-02-03")
	form.Set("sex", "")
	form.Set("reason", "r")
	if res := b.post(path, form); res.StatusCode != http.StatusOK {
		t.Fatalf("valid edit refused: %s", body(res))
	}
	if rec.sent[0] != `{"birthDate":"1901-02-03","sex":null}` {
		t.Fatalf("sent %s", rec.sent[0])
	}
}

func TestCustomerEditLostUpdateWritesNothing(t *testing.T) {
	e, rec := newRecordingEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	path := "/customers/" + annaID
	form := custFormValues(t, body(b.get(path+"/edit")), path)

	// Someone else changes the city and the e-mail agreement meanwhile.
	var u synerise.ProfileUpdate
	_ = u.Set("city", "Łódź")
	_ = u.SetAgreement("email", false)
	id, _ := strconv.ParseInt(annaID, 10, 64)
	if err := e.api.Profiles.Update(context.Background(), id, u); err != nil {
		t.Fatal(err)
	}
	form.Set("city", "Gdańsk")
	form.Set("company", "ACME")
	form.Set("reason", "TICKET-5")
	res := b.post(path, form)
	page := body(res)
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "Someone changed this customer while you were editing") {
		t.Fatalf("conflict: %d %s", res.StatusCode, page)
	}
	if len(rec.sent) != 0 {
		t.Fatalf("sent during a conflict: %v", rec.sent)
	}
	if p := e.profile(annaID); p["city"] != "Łódź" || p["company"] != nil {
		t.Fatalf("profile changed: %v", p)
	}
	for _, want := range []string{"Warszawa", "Łódź", "you changed it too", "Agreement: E-mail"} {
		if !strings.Contains(page, want) {
			t.Errorf("conflict page lacks %q", want)
		}
	}
	// The form now holds the current values with the operator's changes kept; saving it
	// keeps the other change (e-mail agreement off) and applies the operator's.
	again := custFormValues(t, page, path)
	if again.Get("city") != "Gdańsk" || again.Get("company") != "ACME" || again.Get("agreement_email") != "" || again.Get("reason") != "TICKET-5" {
		t.Fatalf("re-rendered form: %v", again)
	}
	if res := b.post(path, again); res.StatusCode != http.StatusOK {
		t.Fatalf("save after conflict: %d %s", res.StatusCode, body(res))
	}
	if rec.sent[0] != `{"city":"Gdańsk","company":"ACME"}` {
		t.Fatalf("sent %s", rec.sent[0])
	}
}

func TestCustomerEditDoubleSubmitSendsOnce(t *testing.T) {
	e, rec := newRecordingEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	path := "/customers/" + annaID
	form := custFormValues(t, body(b.get(path+"/edit")), path)
	form.Set("city", "Gdańsk")
	form.Set("reason", "TICKET-9")
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Go(func() { codes[i] = b.post(path, form).StatusCode })
	}
	wg.Wait()
	if len(rec.sent) != 1 {
		t.Fatalf("two submits sent %d updates (%v)", len(rec.sent), codes)
	}
}

func TestCustomerEditDamagedFormIsRefused(t *testing.T) {
	e, rec := newRecordingEnv(t)
	b, _ := e.signedIn(operators.RoleSupport)
	path := "/customers/" + annaID
	form := custFormValues(t, body(b.get(path+"/edit")), path)
	form.Set("fingerprint", strings.Repeat("0", 64))
	form.Set("city", "X")
	form.Set("reason", "r")
	if res := b.post(path, form); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("damaged form: %d", res.StatusCode)
	}
	if len(rec.sent) != 0 {
		t.Fatal("a damaged form was sent")
	}
}

// oddSexProfiles returns every profile with a sex value the console does not know.
type oddSexProfiles struct{ *recordingProfiles }

func (o oddSexProfiles) Get(ctx context.Context, id int64) (*synerise.Profile, error) {
	p, err := o.recordingProfiles.Get(ctx, id)
	if p != nil {
		p.Sex = "PREFER_NOT_TO_SAY"
	}
	return p, err
}

// A sex value Synerise returns that the console does not model stays selected in the form,
// so saving another field leaves it alone instead of clearing it.
func TestCustomerEditKeepsAnUnknownSexValue(t *testing.T) {
	rec := &recordingProfiles{}
	e := newEnv(t, func(d *handlers.Deps) { rec.profilesAPI = d.Profiles; d.Profiles = oddSexProfiles{rec} })
	b, _ := e.signedIn(operators.RoleSupport)
	path := "/customers/" + annaID
	page := body(b.get(path + "/edit"))
	if !strings.Contains(page, `<option value="PREFER_NOT_TO_SAY" selected>PREFER_NOT_TO_SAY (as stored in Synerise)</option>`) ||
		!strings.Contains(page, `<option value="FEMALE">Female</option>`) {
		t.Fatalf("sex choices do not keep the stored value:\n%s", page)
	}
	form := custFormValues(t, page, path)
	form.Set("city", "Gdańsk")
	form.Set("reason", "TICKET-101")
	if res := b.post(path, form); res.StatusCode != http.StatusOK {
		t.Fatalf("save: %d %s", res.StatusCode, body(res))
	}
	if len(rec.sent) != 1 || rec.sent[0] != `{"city":"Gdańsk"}` {
		t.Fatalf("sent %q, want only the city", rec.sent)
	}
}
