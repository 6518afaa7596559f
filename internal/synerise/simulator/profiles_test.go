package simulator

import (
	"encoding/json"
	"net/http"
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
	r := h.do(http.MethodDelete, "/v4/clients/4812300001", "", nil)
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
