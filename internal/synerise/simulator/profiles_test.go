package simulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestProfileGet(t *testing.T) {
	h := newHarness(t, Options{})
	anna := h.example(StateActivated)
	id := strconv.FormatInt(anna.ClientID, 10)
	tests := []struct {
		name, path string
		want       int
	}{
		{"by clientId", "/v4/clients/" + id, 200},
		{"by email escaped", "/v4/clients/by-email/" + url.PathEscape(anna.Email), 200},
		{"by email %2B and %40", "/v4/clients/by-email/anna.kowalska%2Bshop%40example.com", 200},
		{"by email literal plus", "/v4/clients/by-email/anna.kowalska+shop@example.com", 200},
		{"by email other case", "/v4/clients/by-email/ANNA.Kowalska%2Bshop@Example.com", 200},
		{"by customId", "/v4/clients/by-customId/" + anna.CustomID, 200},
		{"by customid lower segment", "/v4/clients/by-customid/" + anna.CustomID, 200},
		{"by uuid", "/v4/clients/by-uuid/" + anna.UUID, 200},
		{"by UUID upper", "/v4/clients/BY-UUID/" + strings.ToUpper(anna.UUID), 200},
		{"plus decoded as space is another address", "/v4/clients/by-email/anna.kowalska%20shop%40example.com", 404},
		{"unknown id", "/v4/clients/1", 404},
		{"unknown email", "/v4/clients/by-email/nobody%40example.com", 404},
		{"unknown uuid", "/v4/clients/by-uuid/00000000-0000-4000-8000-000000000000", 404},
		{"non-numeric id", "/v4/clients/abc", 400},
		{"unknown lookup", "/v4/clients/by-phone/123", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.get(tt.path)
			wantStatus(t, r, tt.want)
			if tt.want != 200 {
				r.profileErr(t)
				return
			}
			var p map[string]any
			r.decode(t, &p)
			if p["email"] != anna.Email || int64(p["clientId"].(float64)) != anna.ClientID {
				t.Fatalf("got %s", r.body)
			}
		})
	}
}

func TestProfileWireFields(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.get("/v4/clients/" + strconv.FormatInt(h.example(StateActivated).ClientID, 10))
	var raw map[string]json.RawMessage
	r.decode(t, &raw)
	want := []string{"clientId", "uuid", "email", "customId", "phone", "firstName", "lastName", "displayName",
		"company", "address", "city", "province", "zipCode", "countryCode", "birthDate", "sex", "avatarUrl",
		"anonymous", "lastActivityDate", "agreements", "attributes", "tags"}
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range raw {
			if !yield(k) {
				return
			}
		}
	})
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	var ag map[string]bool
	json.Unmarshal(raw["agreements"], &ag)
	if len(ag) != 7 {
		t.Fatalf("agreements %s", raw["agreements"])
	}
	if string(raw["company"]) != "null" {
		t.Fatalf("unset company = %s, want null", raw["company"])
	}
	var attrs map[string]any
	json.Unmarshal(raw["attributes"], &attrs)
	if attrs[AttrEmailConfirmed] != "true" {
		t.Fatalf("snrs_email_confirmed = %v", attrs[AttrEmailConfirmed])
	}
}

func TestMethodNotAllowedAndUnknownPath(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.do(http.MethodPatch, "/v4/clients/4812300001", "{}", nil)
	wantStatus(t, r, 405)
	r.profileErr(t)
	r = h.do(http.MethodPut, "/sauth/settings/general", "{}", nil)
	wantStatus(t, r, 405)
	if r.header.Get("Allow") == "" {
		t.Fatal("405 without Allow")
	}
	r = h.get("/v4/nothing")
	wantStatus(t, r, 404)
	r.profileErr(t)
}

func listProfiles(t *testing.T, h *harness, query string) []map[string]any {
	t.Helper()
	r := h.get("/v4/clients?" + query)
	wantStatus(t, r, 200)
	if !strings.HasPrefix(r.body, "[") {
		t.Fatalf("list is not a bare array: %.80s", r.body)
	}
	var out []map[string]any
	r.decode(t, &out)
	return out
}

func TestListPagingAndSort(t *testing.T) {
	h := newHarness(t, Options{Customers: 250})
	if n := len(listProfiles(t, h, "")); n != 20 {
		t.Fatalf("default page size %d", n)
	}
	seen := map[float64]bool{}
	for page := 0; ; page++ {
		got := listProfiles(t, h, "pageSize=100&pageIndex="+strconv.Itoa(page))
		for _, p := range got {
			seen[p["clientId"].(float64)] = true
		}
		if len(got) < 100 {
			break
		}
	}
	if len(seen) != 250 {
		t.Fatalf("paged through %d customers, want 250", len(seen))
	}
	if got := listProfiles(t, h, "pageIndex=99"); len(got) != 0 {
		t.Fatalf("page past the end has %d", len(got))
	}
	for _, key := range []string{"firstName", "lastName", "lastActivityDate", "email", "city", "phone"} {
		for _, order := range []string{"ASC", "DESC"} {
			got := listProfiles(t, h, "pageSize=100&sortBy="+key+"&sortOrder="+order)
			var vals []string
			for _, p := range got {
				v, _ := p[key].(string)
				if v == "" {
					continue
				}
				if key == "phone" {
					v = phoneDigits(v)
				} else if key != "lastActivityDate" {
					v = strings.ToLower(v)
				}
				vals = append(vals, v)
			}
			sorted := slices.IsSorted(vals)
			if order == "DESC" {
				slices.Reverse(vals)
				sorted = slices.IsSorted(vals)
			}
			if !sorted || len(vals) == 0 {
				t.Fatalf("sortBy=%s %s not sorted: %v", key, order, vals)
			}
		}
	}
}

func TestListFilters(t *testing.T) {
	h := newHarness(t, Options{Customers: 400})
	anna := h.example(StateActivated)
	tests := []struct {
		query string
		check func(map[string]any) bool
		min   int
	}{
		{"filters[email]=" + url.QueryEscape("ANNA.kowalska+"), func(p map[string]any) bool { return p["email"] == anna.Email }, 1},
		{"filters%5Bemail%5D=anna.kowalska%2Bshop", func(p map[string]any) bool { return p["email"] == anna.Email }, 1},
		{"filters[firstName]=%C5%81uk", func(p map[string]any) bool {
			return strings.HasPrefix(strings.ToLower(p["firstName"].(string)), "łuk")
		}, 1},
		{"filters[lastName]=dub", func(p map[string]any) bool {
			return strings.HasPrefix(strings.ToLower(p["lastName"].(string)), "dub")
		}, 1},
		{"filters[phone]=" + url.QueryEscape("22123"), func(p map[string]any) bool {
			return strings.HasPrefix(phoneDigits(p["phone"].(string)), "22123")
		}, 1},
		{"filters[phone]=" + url.QueryEscape("(22) 1-2"), func(p map[string]any) bool {
			return strings.HasPrefix(phoneDigits(p["phone"].(string)), "2212")
		}, 1},
		{"filters[anonymous]=true", func(p map[string]any) bool { return p["anonymous"] == true && p["email"] == nil }, 1},
		{"filters[anonymous]=false&filters[email]=zoe", func(p map[string]any) bool { return p["anonymous"] == false }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := listProfiles(t, h, tt.query+"&pageSize=100")
			if len(got) < tt.min {
				t.Fatalf("%d results", len(got))
			}
			for _, p := range got {
				if !tt.check(p) {
					t.Fatalf("result does not match: %v", p)
				}
			}
		})
	}
}

func TestListBadParameters(t *testing.T) {
	h := newHarness(t, Options{})
	for query, field := range map[string]string{
		"pageSize=0": "pageSize", "pageSize=101": "pageSize", "pageSize=x": "pageSize",
		"pageIndex=-1": "pageIndex", "sortBy=birthDate": "sortBy", "sortOrder=asc": "sortOrder",
		"filters[city]=War": "filters[city]", "filters[anonymous]=maybe": "filters[anonymous]",
		"filters=1": "filters",
	} {
		t.Run(query, func(t *testing.T) {
			r := h.get("/v4/clients?" + query)
			wantStatus(t, r, 400)
			r.profileErr(t)
			if !r.hasField(field) {
				t.Fatalf("no field error for %s: %s", field, r.body)
			}
		})
	}
}

// wantAttributeTypes are the attributes of the CaseAttributeTypes example, as raw JSON.
var wantAttributeTypes = map[string]string{
	"lastStore": `null`, "nickname": `""`, "visits": `42`, "rating": `3.5`, "newsletter": `true`,
	"interests": `["a","b"]`, "membership": `{"tier":"gold","since":2020}`,
}

func rawAttributes(t *testing.T, body string) map[string]json.RawMessage {
	t.Helper()
	var p struct {
		Attributes map[string]json.RawMessage `json:"attributes"`
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	return p.Attributes
}

func TestAttributeTypesExample(t *testing.T) {
	h := newHarness(t, Options{})
	marta, ok := h.sim.ExampleFor(CaseAttributeTypes)
	if !ok || marta.Case != CaseAttributeTypes || marta.State != StateActivated {
		t.Fatalf("example %+v", marta)
	}
	found := false
	for _, e := range h.sim.Examples() {
		found = found || e.Case == CaseAttributeTypes
	}
	var listed []ExampleCustomer
	h.get("/_simulator/examples").decode(t, &listed)
	if !found || !slices.ContainsFunc(listed, func(e ExampleCustomer) bool { return e.Case == CaseAttributeTypes }) {
		t.Fatal("the attribute-types example is not listed")
	}
	if first, _ := h.sim.ExampleIn(StateActivated); first.Case != "" {
		t.Fatal("the first activated example is no longer the plain one")
	}

	get := h.get("/v4/clients/" + strconv.FormatInt(marta.ClientID, 10))
	wantStatus(t, get, 200)
	list := h.get("/v4/clients?filters[email]=" + url.QueryEscape(marta.Email))
	byEmail := h.get("/v4/clients/by-email/" + url.PathEscape(marta.Email))
	if list.body != "["+get.body+"]" || byEmail.body != get.body {
		t.Fatalf("list or lookup differs from GET:\n%s\n%s\n%s", get.body, list.body, byEmail.body)
	}
	attrs := rawAttributes(t, get.body)
	for k, want := range wantAttributeTypes {
		got, ok := attrs[k]
		if !ok || string(got) != want {
			t.Errorf("attribute %s = %s (present %v), want %s", k, got, ok, want)
		}
	}
	if p := h.profile(marta.ClientID); p["phone"] != "+48 (601) 200-300" {
		t.Fatalf("stored phone %v", p["phone"])
	}
}

func TestAttributeUpdateKeepsTypes(t *testing.T) {
	h := newHarness(t, Options{})
	marta, _ := h.sim.ExampleFor(CaseAttributeTypes)
	path := "/v4/clients/" + strconv.FormatInt(marta.ClientID, 10)

	// An update that does not mention the attributes, nor the phone, leaves them as they are.
	wantStatus(t, h.post(path, `{"firstName":"Marta Maria","attributes":{"visits":43}}`), 202)
	r := h.get(path)
	attrs := rawAttributes(t, r.body)
	for k, want := range wantAttributeTypes {
		if k == "visits" {
			want = `43`
		}
		if string(attrs[k]) != want {
			t.Errorf("attribute %s = %s, want %s", k, attrs[k], want)
		}
	}
	if !strings.Contains(r.body, `"phone":"+48 (601) 200-300"`) {
		t.Fatalf("stored phone changed by an update that did not send it: %s", r.body)
	}

	// null deletes, "" sets an empty string, and other types are stored as sent.
	wantStatus(t, h.post(path, `{"attributes":{"lastStore":null,"membership":null,"rating":"","note":"","flags":[true,null],"zero":0}}`), 202)
	attrs = rawAttributes(t, h.get(path).body)
	for _, k := range []string{"lastStore", "membership"} {
		if v, ok := attrs[k]; ok {
			t.Errorf("null did not delete %s (now %s)", k, v)
		}
	}
	for k, want := range map[string]string{"rating": `""`, "note": `""`, "flags": `[true,null]`, "zero": `0`,
		"nickname": `""`, "newsletter": `true`, "interests": `["a","b"]`} {
		if string(attrs[k]) != want {
			t.Errorf("attribute %s = %s, want %s", k, attrs[k], want)
		}
	}
}

func TestPhoneRule(t *testing.T) {
	h := newHarness(t, Options{})
	marta, _ := h.sim.ExampleFor(CaseAttributeTypes)
	path := "/v4/clients/" + strconv.FormatInt(marta.ClientID, 10)
	tests := []struct {
		phone string
		ok    bool
	}{
		{"+48 601 200 301", true},
		{"601200301", true},
		{" +48 601 200 302 ", true}, // checked after trimming
		{"+123456789012345678 0", true},
		{"+48 (601) 200-300", false}, // the stored form may not be sent back
		{"601-200-301", false},
		{"(22) 123 45 67", false},
		{"+48-601", false},
		{"++48 601 200 301", false},
		{"48 601 200 301+", false},
		{"12345", false},
		{"+48 601 200 301 ext 1", false},
		{"123456789012345678901", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.phone, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"phone": tt.phone})
			before, _ := h.sim.Profile(marta.ClientID)
			r := h.post(path, string(body))
			if tt.ok {
				wantStatus(t, r, 202)
				return
			}
			wantStatus(t, r, 400)
			r.profileErr(t)
			if !r.hasField("phone") {
				t.Fatalf("no field error on phone: %s", r.body)
			}
			if after, _ := h.sim.Profile(marta.ClientID); string(after) != string(before) {
				t.Fatal("a refused phone changed the profile")
			}
		})
	}
	wantStatus(t, h.post(path, `{"phone":null}`), 202)
	if p := h.profile(marta.ClientID); p["phone"] != nil {
		t.Fatalf("null did not clear the phone: %v", p["phone"])
	}
}

func TestPhoneFilterIgnoresSeparators(t *testing.T) {
	h := newHarness(t, Options{})
	marta, _ := h.sim.ExampleFor(CaseAttributeTypes)
	for _, q := range []string{"+48 (601) 200-3", "+48601200", "+48 601 200 300"} {
		got := listProfiles(t, h, "filters[phone]="+url.QueryEscape(q)+"&pageSize=100")
		if !slices.ContainsFunc(got, func(p map[string]any) bool { return p["email"] == marta.Email }) {
			t.Fatalf("filters[phone]=%q does not find %s: %v", q, marta.Email, got)
		}
	}
}

// "." and ".." reach the simulator only when a client sends them escaped (or
// raw, bypassing path cleaning); they are values like any other and match nobody.
func TestDotSegmentsAreValues(t *testing.T) {
	h := newHarness(t, Options{})
	for _, path := range []string{
		"/v4/clients/by-customId/%2E%2E", "/v4/clients/by-customId/%2e%2e", "/v4/clients/by-customId/%2E",
		"/v4/clients/by-email/%2E%2E", "/v4/clients/by-uuid/%2E%2E",
	} {
		t.Run("http "+path, func(t *testing.T) {
			r := h.get(path)
			wantStatus(t, r, 404)
			if e := r.profileErr(t); e.Message != "Profile not found." {
				t.Fatalf("message %q", e.Message)
			}
		})
	}
	// Straight into the handler, so that no client library touches the path.
	for _, path := range []string{"/v4/clients/by-customId/%2E%2E", "/v4/clients/by-customId/..", "/v4/clients/by-customId/."} {
		t.Run("raw "+path, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer "+h.token)
			rec := httptest.NewRecorder()
			h.sim.ServeHTTP(rec, req)
			if rec.Code != 404 || !strings.Contains(rec.Body.String(), "Profile not found.") {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		})
	}
	// Escaped segments still find their customer.
	anna := h.example(StateActivated)
	var markup ExampleCustomer
	for _, e := range h.sim.Examples() {
		if strings.Contains(e.CustomID, "/") {
			markup = e
		}
	}
	for path, want := range map[string]string{
		"/v4/clients/by-customId/" + url.PathEscape(markup.CustomID):  markup.Email,
		"/v4/clients/by-customId/LOY%2D0000001":                       anna.Email,
		"/v4/clients/by-email/anna%2Ekowalska%2Bshop%40example%2Ecom": anna.Email,
	} {
		r := h.get(path)
		wantStatus(t, r, 200)
		var p map[string]any
		r.decode(t, &p)
		if p["email"] != want {
			t.Fatalf("%s found %v, want %s", path, p["email"], want)
		}
	}
}
