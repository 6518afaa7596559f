package synerise

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

const annJSON = `{"clientId":42,"uuid":"0b7e-uuid","email":"ann+shop@example.com","customId":"C-1",
"phone":"+48 600 100 200","firstName":"Ann","lastName":"Lee","displayName":"Ann L","company":"Acme",
"address":"Main 1","city":"Kraków","province":"Małopolskie","zipCode":"30-001","countryCode":"+48",
"birthDate":"1990-02-03","sex":"FEMALE","avatarUrl":"https://x/a.png","anonymous":false,
"lastActivityDate":"2024-05-06T07:08:09Z","agreements":{"email":true,"sms":false,"push":true,
"webPush":true,"bluetooth":false,"rfid":true,"wifi":false},
"attributes":{"snrs_email_confirmed":"true","tier":"gold"},"tags":["vip","b2b"]}`

func TestProfilesGetByEachIdentifier(t *testing.T) {
	u := newUpstream(t)
	var gotURI, gotPath string
	u.handle("GET /v4/clients/", func(w http.ResponseWriter, r *http.Request) {
		gotURI, gotPath = r.RequestURI, r.URL.Path
		io.WriteString(w, annJSON)
	})
	c := newTestClient(t, u)
	ctx := context.Background()
	tests := []struct {
		name     string
		call     func() (*Profile, error)
		wantURI  string
		wantPath string
	}{
		{"id", func() (*Profile, error) { return c.Profiles.Get(ctx, 42) }, "/v4/clients/42", "/v4/clients/42"},
		{"email", func() (*Profile, error) { return c.Profiles.GetByEmail(ctx, "ann+shop@example.com") },
			"/v4/clients/by-email/ann%2Bshop@example.com", "/v4/clients/by-email/ann+shop@example.com"},
		{"email with slash and space", func() (*Profile, error) { return c.Profiles.GetByEmail(ctx, "a/b c@x.io") },
			"/v4/clients/by-email/a%2Fb%20c@x.io", "/v4/clients/by-email/a/b c@x.io"},
		{"customId", func() (*Profile, error) { return c.Profiles.GetByCustomID(ctx, "C 1?") },
			"/v4/clients/by-customId/C%201%3F", "/v4/clients/by-customId/C 1?"},
		{"uuid", func() (*Profile, error) { return c.Profiles.GetByUUID(ctx, "0b7e-uuid") },
			"/v4/clients/by-uuid/0b7e-uuid", "/v4/clients/by-uuid/0b7e-uuid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			if gotURI != tt.wantURI || gotPath != tt.wantPath {
				t.Errorf("server saw %q (path %q), want %q (%q)", gotURI, gotPath, tt.wantURI, tt.wantPath)
			}
			if p.ClientID != 42 || p.Email != "ann+shop@example.com" || p.City != "Kraków" {
				t.Errorf("profile = %+v", p)
			}
		})
	}
	if _, err := c.Profiles.GetByEmail(ctx, " "); err == nil {
		t.Error("empty email: want an error before any call")
	}
}

// "." and ".." are normalised away by proxies and HTTP libraries, so
// /v4/clients/by-customId/.. would reach /v4/clients: they are refused before any request.
func TestPathValuesAreCheckedBeforeAnyRequest(t *testing.T) {
	u := newUpstream(t)
	u.handle("GET /v4/clients/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, annJSON) })
	u.handle("GET /v4/clients", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "["+annJSON+"]") })
	c := newTestClient(t, u)
	ctx := context.Background()
	lookups := []struct {
		kind string
		get  func(string) (*Profile, error)
	}{
		{"email", func(v string) (*Profile, error) { return c.Profiles.GetByEmail(ctx, v) }},
		{"customId", func(v string) (*Profile, error) { return c.Profiles.GetByCustomID(ctx, v) }},
		{"uuid", func(v string) (*Profile, error) { return c.Profiles.GetByUUID(ctx, v) }},
	}
	for _, l := range lookups {
		for _, v := range []string{"..", ".", "", " ", "\t\n"} {
			_, err := l.get(v)
			if !errors.Is(err, ErrInvalidPathValue) || !IsInvalidInput(err) || !strings.Contains(err.Error(), l.kind) {
				t.Errorf("%s %q: %v", l.kind, v, err)
			}
		}
	}
	if n := u.requests.Load(); n != 0 {
		t.Fatalf("%d requests reached the server, login included; want none", n)
	}
	// Dots inside a value are ordinary characters; a slash is escaped.
	for _, v := range []string{"...", "a/..", "./a", ".hidden"} {
		if _, err := c.Profiles.GetByCustomID(ctx, v); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
}

func TestProfileDecode(t *testing.T) {
	var p Profile
	if err := json.Unmarshal([]byte(annJSON), &p); err != nil {
		t.Fatal(err)
	}
	want := Agreements{Email: true, Push: true, WebPush: true, RFID: true}
	if p.Agreements != want || !reflect.DeepEqual(p.Tags, []string{"vip", "b2b"}) || p.Sex != "FEMALE" ||
		p.AvatarURL != "https://x/a.png" || p.CountryCode != "+48" || p.CustomID != "C-1" {
		t.Errorf("decoded %+v", p)
	}
	if ts, ok := p.LastActivity(); !ok || ts.Year() != 2024 {
		t.Errorf("LastActivity = %v %v", ts, ok)
	}
	var q Profile
	if err := json.Unmarshal([]byte(`{"clientId":1,"lastActivityDate":1714979289000}`), &q); err != nil {
		t.Fatal(err)
	}
	if q.LastActivityDate != "2024-05-06T07:08:09Z" {
		t.Errorf("epoch millis lastActivityDate = %q", q.LastActivityDate)
	}
}

func TestEmailConfirmed(t *testing.T) {
	tests := []struct {
		attrs            string
		confirmed, known bool
	}{
		{`{"snrs_email_confirmed":"true"}`, true, true},
		{`{"snrs_email_confirmed":"FALSE"}`, false, true},
		{`{"snrs_email_confirmed":true}`, true, true},
		{`{"snrs_email_confirmed":false}`, false, true},
		{`{"snrs_email_confirmed":"maybe"}`, false, false},
		{`{"snrs_email_confirmed":null}`, false, false},
		{`{}`, false, false},
		{`null`, false, false},
	}
	for _, tt := range tests {
		var p Profile
		if err := json.Unmarshal([]byte(`{"attributes":`+tt.attrs+`}`), &p); err != nil {
			t.Fatal(err)
		}
		c, k := p.EmailConfirmed()
		if c != tt.confirmed || k != tt.known {
			t.Errorf("%s: got (%v,%v), want (%v,%v)", tt.attrs, c, k, tt.confirmed, tt.known)
		}
	}
}

func TestProfilesList(t *testing.T) {
	u := newUpstream(t)
	var got map[string][]string
	u.handle("GET /v4/clients", func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query()
		io.WriteString(w, "["+annJSON+","+annJSON+"]")
	})
	c := newTestClient(t, u)
	anon := false
	ps, err := c.Profiles.List(context.Background(), ListOptions{PageIndex: 2, PageSize: 50, SortBy: "email", SortOrder: "DESC",
		Filters: ListFilters{Email: "ann+", Phone: "+48 600", FirstName: "An", LastName: "Le", Anonymous: &anon}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[1].ClientID != 42 {
		t.Errorf("profiles = %+v", ps)
	}
	want := map[string][]string{"pageIndex": {"2"}, "pageSize": {"50"}, "sortBy": {"email"}, "sortOrder": {"DESC"},
		"filters[email]": {"ann+"}, "filters[phone]": {"+48 600"}, "filters[firstName]": {"An"},
		"filters[lastName]": {"Le"}, "filters[anonymous]": {"false"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("query = %v\nwant    %v", got, want)
	}
	ps, err = c.Profiles.List(context.Background(), ListOptions{})
	if err != nil || len(got) != 0 {
		t.Errorf("zero options sent %v, err %v", got, err)
	}
	_ = ps
}

func TestProfilesListEmptyAndNull(t *testing.T) {
	u := newUpstream(t)
	u.handle("GET /v4/clients", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "null") })
	c := newTestClient(t, u)
	ps, err := c.Profiles.List(context.Background(), ListOptions{})
	if err != nil || ps == nil || len(ps) != 0 {
		t.Errorf("List on null = %v, %v; want empty non-nil slice", ps, err)
	}
}

func TestProfilesUpdate(t *testing.T) {
	u := newUpstream(t)
	var body []byte
	var ctype string
	hits := 0
	u.handle("POST /v4/clients/42", func(w http.ResponseWriter, r *http.Request) {
		hits++
		body, _ = io.ReadAll(r.Body)
		ctype = r.Header.Get("Content-Type")
		w.WriteHeader(http.StatusAccepted)
	})
	c := newTestClient(t, u)
	var up ProfileUpdate
	must(t, up.Set("firstName", "Ann"))
	must(t, up.Clear("city"))
	must(t, up.SetAttribute("tier", "gold"))
	up.DeleteAttribute("old")
	must(t, up.SetAgreement("sms", true))
	if err := c.Profiles.Update(context.Background(), 42, up); err != nil {
		t.Fatal(err)
	}
	want := `{"agreements":{"sms":true},"attributes":{"old":null,"tier":"gold"},"city":null,"firstName":"Ann"}`
	if string(body) != want || ctype != "application/json" {
		t.Errorf("body %s (%s)\nwant %s", body, ctype, want)
	}
	if err := c.Profiles.Update(context.Background(), 42, ProfileUpdate{}); err == nil || hits != 1 {
		t.Errorf("empty update: err %v, hits %d; want an error and no call", err, hits)
	}
}

func TestProfileUpdateRules(t *testing.T) {
	var up ProfileUpdate
	if !up.IsEmpty() {
		t.Error("zero value not empty")
	}
	for _, f := range []string{"clientId", "uuid", "email", "customId", "nickname", "attributes", ""} {
		if up.Set(f, "x") == nil || up.Clear(f) == nil {
			t.Errorf("Set/Clear(%q) accepted", f)
		}
	}
	if up.SetAgreement("fax", true) == nil {
		t.Error("unknown agreement accepted")
	}
	if up.SetAttribute("bad", func() {}) == nil {
		t.Error("unencodable attribute accepted")
	}
	if !up.IsEmpty() {
		t.Error("refused changes left something behind")
	}
	must(t, up.Set("sex", "OTHER"))
	must(t, up.SetAgreement("webPush", false))
	must(t, up.SetAttribute("n", 3))
	if got := up.Fields(); !reflect.DeepEqual(got, []string{"agreements.webPush", "attributes.n", "sex"}) {
		t.Errorf("Fields = %v", got)
	}
	b, err := json.Marshal(up)
	if err != nil || string(b) != `{"agreements":{"webPush":false},"attributes":{"n":3},"sex":"OTHER"}` {
		t.Errorf("json.Marshal(update) = %s, %v", b, err)
	}
	b, _ = json.Marshal(ProfileUpdate{})
	if string(b) != `{}` {
		t.Errorf("empty = %s", b)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestObserverSeesEachOperationOnce(t *testing.T) {
	u := newUpstream(t)
	u.handle("GET /v4/clients/by-email/", func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "nobody") {
			writeJSON(w, 404, map[string]any{"error": "Not Found", "status": 404, "message": "Client not found"})
			return
		}
		io.WriteString(w, annJSON)
	})
	obs := &recordingObserver{}
	c := newTestClient(t, u, WithObserver(obs))
	ctx := context.Background()
	if _, err := c.Profiles.GetByEmail(ctx, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Profiles.GetByEmail(ctx, "nobody@example.com"); !IsNotFound(err) {
		t.Fatalf("want not found, got %v", err)
	}
	got := obs.all()
	if len(got) != 3 || got[0].op != "auth.login" || got[1].op != "profiles.get_by_email" || got[1].status != 200 ||
		got[2].status != 404 || got[2].err == nil {
		t.Errorf("observations = %+v", got)
	}
}
