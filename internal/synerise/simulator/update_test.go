package simulator

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestProfileUpdatePartial(t *testing.T) {
	h := newHarness(t, Options{})
	anna := h.example(StateActivated)
	path := "/v4/clients/" + strconv.FormatInt(anna.ClientID, 10)
	before := h.profile(anna.ClientID)

	r := h.post(path, `{"firstName":"Joanna","phone":null,"attributes":{"loyaltyTier":null,"newAttr":{"a":[1, 2]},"note":"x"},"agreements":{"sms":false,"wifi":true}}`)
	wantStatus(t, r, 202)
	if r.body != "" {
		t.Fatalf("202 with a body: %q", r.body)
	}
	after := h.profile(anna.ClientID)
	if after["firstName"] != "Joanna" {
		t.Fatalf("firstName %v", after["firstName"])
	}
	if after["phone"] != nil {
		t.Fatalf("phone not cleared: %v", after["phone"])
	}
	for _, k := range []string{"lastName", "city", "email", "uuid", "customId", "displayName", "birthDate"} {
		if after[k] != before[k] {
			t.Fatalf("omitted %s changed: %v -> %v", k, before[k], after[k])
		}
	}
	attrs := after["attributes"].(map[string]any)
	if _, ok := attrs["loyaltyTier"]; ok {
		t.Fatal("null did not delete the attribute")
	}
	if attrs[AttrEmailConfirmed] != "true" || attrs["note"] != "x" {
		t.Fatalf("attributes did not merge: %v", attrs)
	}
	if v, _ := attrs["newAttr"].(map[string]any); v == nil {
		t.Fatalf("object attribute lost: %v", attrs)
	}
	ag := after["agreements"].(map[string]any)
	if ag["sms"] != false || ag["wifi"] != true || ag["email"] != true {
		t.Fatalf("agreements did not merge: %v", ag)
	}
	// The GET over HTTP agrees with the in-process view.
	r = h.get(path)
	if !strings.Contains(r.body, `"firstName":"Joanna"`) {
		t.Fatalf("GET after update: %s", r.body)
	}
}

func TestProfileUpdateValidation(t *testing.T) {
	h := newHarness(t, Options{})
	anna := h.example(StateActivated)
	other := h.example(StateUnconfirmed)
	path := "/v4/clients/" + strconv.FormatInt(anna.ClientID, 10)
	tests := []struct {
		name, body, field string
	}{
		{"bad phone", `{"phone":"call me"}`, "phone"},
		{"short phone", `{"phone":"12345"}`, "phone"},
		{"birthDate format", `{"birthDate":"12/04/1988"}`, "birthDate"},
		{"birthDate too early", `{"birthDate":"1900-01-01"}`, "birthDate"},
		{"birthDate impossible", `{"birthDate":"1999-02-30"}`, "birthDate"},
		{"sex enum", `{"sex":"female"}`, "sex"},
		{"too long", `{"firstName":"` + strings.Repeat("x", 256) + `"}`, "firstName"},
		{"not a string", `{"city":12}`, "city"},
		{"unknown field", `{"nickname":"x"}`, "nickname"},
		{"clientId", `{"clientId":1}`, "clientId"},
		{"anonymous", `{"anonymous":true}`, "anonymous"},
		{"agreements not object", `{"agreements":true}`, "agreements"},
		{"unknown agreement", `{"agreements":{"fax":true}}`, "agreements.fax"},
		{"agreement not bool", `{"agreements":{"sms":"yes"}}`, "agreements.sms"},
		{"attributes not object", `{"attributes":[1]}`, "attributes"},
		{"device attribute read-only", `{"attributes":{"snrs_last_pin_device_id":"x"}}`, "attributes.snrs_last_pin_device_id"},
		{"email taken", `{"email":"` + other.Email + `"}`, "email"},
		{"email invalid", `{"email":"nope"}`, "email"},
		{"email null", `{"email":null}`, "email"},
		{"uuid invalid", `{"uuid":"123"}`, "uuid"},
		{"customId taken", `{"customId":"` + other.CustomID + `"}`, "customId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := h.sim.Profile(anna.ClientID)
			r := h.post(path, tt.body)
			wantStatus(t, r, 400)
			r.profileErr(t)
			if !r.hasField(tt.field) {
				t.Fatalf("no field error for %s: %s", tt.field, r.body)
			}
			after, _ := h.sim.Profile(anna.ClientID)
			if string(before) != string(after) {
				t.Fatal("a refused update changed the profile")
			}
		})
	}
	t.Run("one bad field refuses all", func(t *testing.T) {
		r := h.post(path, `{"firstName":"Changed","sex":"X"}`)
		wantStatus(t, r, 400)
		if h.profile(anna.ClientID)["firstName"] == "Changed" {
			t.Fatal("partial apply")
		}
	})
	t.Run("not json", func(t *testing.T) {
		r := h.do(http.MethodPost, path, `{"firstName":"x"}`, map[string]string{"Content-Type": "text/plain"})
		wantStatus(t, r, 400)
		r.profileErr(t)
	})
	t.Run("unknown profile", func(t *testing.T) {
		wantStatus(t, h.post("/v4/clients/1", `{"firstName":"x"}`), 404)
	})
	t.Run("identifiers move their index", func(t *testing.T) {
		wantStatus(t, h.post(path, `{"email":"new+addr@example.com","customId":null}`), 202)
		wantStatus(t, h.get("/v4/clients/by-email/new%2Baddr%40example.com"), 200)
		wantStatus(t, h.get("/v4/clients/by-email/"+anna.Email), 404)
		wantStatus(t, h.get("/v4/clients/by-customId/"+anna.CustomID), 404)
	})
	t.Run("valid edge values", func(t *testing.T) {
		body := `{"birthDate":"1900-01-02","sex":"OTHER","phone":" +1 415 555 0100 ","countryCode":"+48","displayName":""}`
		wantStatus(t, h.post(path, body), 202)
		p := h.profile(anna.ClientID)
		if p["birthDate"] != "1900-01-02" || p["displayName"] != "" || p["countryCode"] != "+48" {
			t.Fatalf("got %v", p)
		}
	})
}

func TestSetPhoneKeepsAnyForm(t *testing.T) {
	h := newHarness(t, Options{})
	anna := h.example(StateActivated)
	if !h.sim.SetPhone(anna.ClientID, "+48 600-100-200") || h.sim.SetPhone(1, "123456") {
		t.Fatal("SetPhone reports the wrong customer")
	}
	if p := h.profile(anna.ClientID); p["phone"] != "+48 600-100-200" {
		t.Fatalf("phone %v", p["phone"])
	}
	got := listProfiles(t, h, "filters[phone]="+url.QueryEscape("+48600100200"))
	if len(got) != 1 || got[0]["email"] != anna.Email {
		t.Fatalf("filter by the stored phone: %v", got)
	}
	// An update of something else leaves it alone.
	wantStatus(t, h.post("/v4/clients/"+strconv.FormatInt(anna.ClientID, 10), `{"city":"Sopot"}`), 202)
	if p := h.profile(anna.ClientID); p["phone"] != "+48 600-100-200" || p["city"] != "Sopot" {
		t.Fatalf("after an update of the city: phone %v city %v", p["phone"], p["city"])
	}
	h.sim.SetPhone(anna.ClientID, "")
	if p := h.profile(anna.ClientID); p["phone"] != nil {
		t.Fatalf("phone %v, want null", p["phone"])
	}
}
