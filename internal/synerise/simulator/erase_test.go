package simulator

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
)

func TestEraseRemovesEveryWayToTheProfile(t *testing.T) {
	h := newHarness(t, Options{})
	anna := h.example(StateActivated)
	path := "/v4/clients/" + strconv.FormatInt(anna.ClientID, 10)
	// A pending password reset token must die with the profile.
	wantStatus(t, h.post("/sauth/clients/password-reset/request", map[string]string{"email": anna.Email}), http.StatusAccepted)
	msg, ok := h.sim.LastMessage(anna.Email, KindPasswordReset)
	if !ok {
		t.Fatal("no reset message")
	}
	before := len(listProfiles(t, h, "pageSize=100&filters[email]="+url.QueryEscape(anna.Email)))

	r := h.do(http.MethodDelete, path, "", nil)
	wantStatus(t, r, http.StatusOK)
	if h.sim.ExecutedCount(RouteProfileErase) != 1 {
		t.Fatalf("executed erase count %d", h.sim.ExecutedCount(RouteProfileErase))
	}
	for _, p := range []string{
		path,
		"/v4/clients/by-email/" + url.PathEscape(anna.Email),
		"/v4/clients/by-customId/" + url.PathEscape(anna.CustomID),
		"/v4/clients/by-uuid/" + anna.UUID,
	} {
		r := h.get(p)
		wantStatus(t, r, http.StatusNotFound)
		r.profileErr(t)
	}
	if before != 1 {
		t.Fatalf("before erasure the e-mail filter found %d profiles", before)
	}
	if got := listProfiles(t, h, "pageSize=100&filters[email]="+url.QueryEscape(anna.Email)); len(got) != 0 {
		t.Fatalf("the e-mail filter still finds %v", got)
	}
	for page := 0; page < 4; page++ {
		for _, p := range listProfiles(t, h, "pageSize=100&pageIndex="+strconv.Itoa(page)) {
			if int64(p["clientId"].(float64)) == anna.ClientID {
				t.Fatal("the list still holds the erased profile")
			}
		}
	}
	if _, ok := h.sim.Profile(anna.ClientID); ok {
		t.Fatal("Profile still answers")
	}
	if _, ok := h.sim.Account(anna.ClientID); ok {
		t.Fatal("Account still answers")
	}
	confirm := h.post("/sauth/clients/password-reset/confirmation", map[string]string{"token": msg.Secret, "password": "a-new-password-1"})
	wantStatus(t, confirm, http.StatusBadRequest)
	// Erased is gone: a second DELETE and an update answer 404; the address is free again.
	wantStatus(t, h.do(http.MethodDelete, path, "", nil), http.StatusNotFound)
	wantStatus(t, h.post(path, `{"city":"Gdańsk"}`), http.StatusNotFound)
	other := h.example(StateUnconfirmed)
	wantStatus(t, h.post("/v4/clients/"+strconv.FormatInt(other.ClientID, 10), map[string]string{"email": anna.Email}), http.StatusAccepted)
}

func TestEraseRefusals(t *testing.T) {
	h := newHarness(t, Options{})
	wantStatus(t, h.do(http.MethodDelete, "/v4/clients/1", "", nil), http.StatusNotFound)
	wantStatus(t, h.do(http.MethodDelete, "/v4/clients/abc", "", nil), http.StatusBadRequest)
	anna := h.example(StateActivated)
	path := "/v4/clients/" + strconv.FormatInt(anna.ClientID, 10)
	r := h.do(http.MethodDelete, path, "", map[string]string{"Authorization": ""})
	wantStatus(t, r, http.StatusUnauthorized)
	if _, ok := h.sim.Profile(anna.ClientID); !ok {
		t.Fatal("an unauthenticated DELETE erased the profile")
	}
	r = h.do(http.MethodPut, path, `{}`, nil)
	wantStatus(t, r, http.StatusMethodNotAllowed)
	if r.header.Get("Allow") != "GET, POST, DELETE" {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
}

func TestEmailChangeUniquenessAndLookups(t *testing.T) {
	h := newHarness(t, Options{})
	anna := h.example(StateActivated)
	other := h.example(StateUnconfirmed)
	path := "/v4/clients/" + strconv.FormatInt(anna.ClientID, 10)

	r := h.post(path, map[string]string{"email": other.Email})
	wantStatus(t, r, http.StatusBadRequest)
	e := r.profileErr(t)
	if len(e.Errors) != 1 || e.Errors[0].Field != "email" || e.Errors[0].Code != CodeConflict {
		t.Fatalf("errors %+v", e.Errors)
	}
	wantStatus(t, h.get("/v4/clients/by-email/"+url.PathEscape(anna.Email)), http.StatusOK)

	const fresh = "Anna.New@Example.com"
	wantStatus(t, h.post(path, map[string]string{"email": fresh}), http.StatusAccepted)
	wantStatus(t, h.get("/v4/clients/by-email/"+url.PathEscape(anna.Email)), http.StatusNotFound)
	r = h.get("/v4/clients/by-email/anna.new%40example.com")
	wantStatus(t, r, http.StatusOK)
	var p struct {
		ClientID int64  `json:"clientId"`
		Email    string `json:"email"`
	}
	r.decode(t, &p)
	if p.ClientID != anna.ClientID || p.Email != fresh {
		t.Fatalf("found %+v", p)
	}
	// Another profile now cannot take the new address, in any case.
	r = h.post("/v4/clients/"+strconv.FormatInt(other.ClientID, 10), map[string]string{"email": "anna.new@example.COM"})
	wantStatus(t, r, http.StatusBadRequest)
	if !r.hasField("email") {
		t.Fatalf("no field error on email: %s", r.body)
	}
}
